package main_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// wineBudget bounds the whole Wine check: a first start makes the Wine
// prefix (wineboot), which takes most of it.
const wineBudget = 3 * time.Minute

// TestWindowsBinaryUnderWine cross-builds gpumesh.exe (CGO_ENABLED=0, as
// `make release` does) and runs it under Debian's Wine far enough to show
// the Windows build works: it prints its version, a node creates its
// identity, starts its API and prints the readiness line, and `gpumesh
// status` answers from it. It skips, saying why, with -short or without
// wine (scripts/test.sh installs Debian's wine64 when it can).
func TestWindowsBinaryUnderWine(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the Wine check builds a Windows binary and boots a Wine prefix")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("the Wine check runs on linux/amd64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	wine := findWine()
	if wine == "" {
		t.Skip("no wine64 or wine on PATH (Debian's wine64 package; scripts/test.sh installs it as root): the Windows binary is only cross-built")
	}
	ctx, cancel := context.WithTimeout(context.Background(), wineBudget)
	defer cancel()
	tmp := t.TempDir()
	exe := filepath.Join(tmp, "gpumesh.exe")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", exe, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build gpumesh.exe: %v\n%s", err, out)
	}
	prefix := filepath.Join(tmp, "wineprefix")
	env := append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all",
		"WINEDLLOVERRIDES=mscoree,mshtml=", "DISPLAY=", "WAYLAND_DISPLAY=")
	t.Cleanup(func() { stopWineServer(wine, env) })

	out := runWine(ctx, t, wine, env, exe, "version")
	if !strings.Contains(out, "gpumesh ") || !strings.Contains(out, "windows/amd64") {
		t.Fatalf("gpumesh.exe version: got %q, want a version line for windows/amd64", out)
	}
	dir := filepath.Join(tmp, "home")
	winDir := "Z:" + filepath.ToSlash(dir) // Wine maps Z: to /
	node := exec.CommandContext(ctx, wine, exe, "run", "--data-dir", winDir, "--profile", "test", "--no-mdns")
	node.Env = env
	var stderr bytes.Buffer
	node.Stderr = &stderr
	stdout, err := node.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Start(); err != nil {
		t.Fatalf("start gpumesh.exe run: %v", err)
	}
	exited := make(chan error, 1)
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		exited <- node.Wait()
	}()
	defer func() {
		_ = node.Process.Kill()
		<-exited
	}()
	var peer string
	select {
	case peer = <-ready:
	case err := <-exited:
		exited <- err
		t.Fatalf("gpumesh.exe run exited before its readiness line: %v\n%s", err, &stderr)
	case <-ctx.Done():
		t.Fatalf("gpumesh.exe run printed no readiness line within %s\n%s", wineBudget, &stderr)
	}
	if fi, err := os.Stat(filepath.Join(dir, "identity.key")); err != nil || fi.Size() == 0 {
		t.Fatalf("identity.key after start: %v", err)
	}
	status := runWine(ctx, t, wine, env, exe, "status", "--data-dir", winDir)
	if !strings.Contains(status, peer) {
		t.Fatalf("gpumesh.exe status: got %q, want it to name peer %s", status, peer)
	}
}

// findWine is Debian's wine64 (bookworm) or wine (later releases), or "".
func findWine() string {
	for _, name := range []string{"wine64", "wine"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	for _, p := range []string{"/usr/lib/wine/wine64", "/usr/lib/wine/wine"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// runWine runs exe under wine with args, failing the test unless it
// exits 0, and returns its stdout.
func runWine(ctx context.Context, t *testing.T, wine string, env []string, exe string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, wine, append([]string{exe}, args...)...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("wine gpumesh.exe %v: %v\nstdout: %s\nstderr: %s", args, err, &out, &errb)
	}
	return out.String()
}

// stopWineServer ends the prefix's wineserver, which outlives the
// programs it served, so the prefix's folder can be removed.
func stopWineServer(wine string, env []string) {
	server := filepath.Join(filepath.Dir(wine), "wineserver")
	if _, err := os.Stat(server); err != nil {
		server = "wineserver"
	}
	cmd := exec.Command(server, "-k")
	cmd.Env = env
	_ = cmd.Run()
	w := exec.Command(server, "-w")
	w.Env = env
	_ = w.Run()
}
