package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// wineBudget bounds the whole Wine check: a first start makes the Wine
// prefix (wineboot), which takes most of it.
const wineBudget = 3 * time.Minute

// TestWindowsUnderWine runs the Windows build under Debian's Wine, in
// one Wine prefix: the node (gpumesh.exe, cross-built with CGO_ENABLED=0
// as `make release` does) far enough to print its version, create its
// identity, start its API, print the readiness line and answer `gpumesh
// status`; the process executor's Windows tests (job objects),
// cross-compiled from scheduler/executor; and the NVML loader, first
// without nvml.dll (the CPU, and why), then with a MinGW-built stand-in
// for one RTX 4090 (`gpumesh gpu --json` reports it). It skips, saying why, with
// -short or without wine (scripts/test.sh installs Debian's wine64 when
// it can).
func TestWindowsUnderWine(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the Wine check builds Windows binaries and boots a Wine prefix")
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
	prefix := filepath.Join(tmp, "wineprefix")
	env := append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all",
		"WINEDLLOVERRIDES=mscoree,mshtml=", "DISPLAY=", "WAYLAND_DISPLAY=", "GPUMESH_NO_BROWSER=1")
	t.Cleanup(func() { stopWineServer(wine, env) })
	exe := filepath.Join(tmp, "gpumesh.exe")
	crossBuild(ctx, t, "build", "-trimpath", "-o", exe, ".")
	if why := wineTooOld(ctx, wine, env, exe); why != "" {
		stub, err := installPrngStub(ctx, prefix)
		if err != nil {
			t.Skip(why + "; no stand-in either (" + err.Error() + "): the Windows binary is only cross-built")
		}
		t.Logf("%s: using the stand-in %s", why, stub)
		env = append(env, "WINEDLLOVERRIDES=mscoree,mshtml=;bcryptprimitives=n")
		if why := wineTooOld(ctx, wine, env, exe); why != "" {
			t.Fatalf("with the stand-in bcryptprimitives.dll: %s", why)
		}
	}
	t.Run("node", func(t *testing.T) { wineNode(ctx, t, wine, env, tmp) })
	t.Run("process executor", func(t *testing.T) { wineExecutor(ctx, t, wine, env, tmp) })
	t.Run("nvidia gpu", func(t *testing.T) { wineNVML(ctx, t, wine, env, tmp, prefix) })
}

// wineNVML builds testdata/nvml.c with MinGW into the Wine prefix's
// system32, where NVIDIA's driver puts nvml.dll, and checks that
// gpumesh.exe's loader reads the GPU it stands for: `gpumesh gpu --json`
// reports it through NVML with its live utilisation.
func wineNVML(ctx context.Context, t *testing.T, wine string, env []string, tmp, prefix string) {
	cc, err := exec.LookPath("x86_64-w64-mingw32-gcc")
	if err != nil {
		t.Skip("x86_64-w64-mingw32-gcc not found (Debian's gcc-mingw-w64-x86-64-win32): no stand-in nvml.dll")
	}
	exe := filepath.Join(tmp, "gpumesh.exe")
	dir := "Z:" + filepath.ToSlash(filepath.Join(tmp, "gpu-home"))
	// Without the DLL: the CPU, and why.
	var cpu struct {
		Inventory struct {
			Source    string `json:"source"`
			NVMLError string `json:"nvml_error"`
		} `json:"inventory"`
	}
	out := runWine(ctx, t, wine, env, exe, "gpu", "--json", "--data-dir", dir)
	if err := json.Unmarshal([]byte(out), &cpu); err != nil || cpu.Inventory.Source != "cpu" || !strings.Contains(cpu.Inventory.NVMLError, "no nvml.dll") {
		t.Errorf("gpumesh.exe gpu without nvml.dll: %+v, %v; want the CPU and why\n%s", cpu, err, out)
	}

	dll := filepath.Join(prefix, "drive_c", "windows", "system32", "nvml.dll")
	if out, err := exec.CommandContext(ctx, cc, "-shared", "-O2", "-o", dll, "testdata/nvml.c").CombinedOutput(); err != nil {
		t.Fatalf("build nvml.dll: %v: %s", err, out)
	}
	env = withDLLOverride(env, "nvml=n")
	out = runWine(ctx, t, wine, env, exe, "gpu", "--json", "--data-dir", dir)
	var g struct {
		Inventory struct {
			Source    string `json:"source"`
			NVMLError string `json:"nvml_error"`
			Driver    string `json:"driver"`
			CUDA      string `json:"cuda"`
			Devices   []struct {
				Name        string `json:"name"`
				Class       string `json:"class"`
				MemoryTotal uint64 `json:"memory_total_bytes"`
				Telemetry   struct {
					Utilization  float64 `json:"utilization"`
					TemperatureC float64 `json:"temperature_c"`
				} `json:"telemetry"`
			} `json:"devices"`
		} `json:"inventory"`
	}
	if err := json.Unmarshal([]byte(out), &g); err != nil {
		t.Fatalf("gpumesh.exe gpu --json is not JSON: %v\n%s", err, out)
	}
	inv := g.Inventory
	if inv.Source != "nvml" || inv.Driver != "566.36" || inv.CUDA != "12.7" || len(inv.Devices) != 1 {
		t.Fatalf("gpumesh.exe gpu: source %q (nvml error %q), driver %q, CUDA %q, %d devices; want the stand-in's GPU through nvml\n%s",
			inv.Source, inv.NVMLError, inv.Driver, inv.CUDA, len(inv.Devices), out)
	}
	d := inv.Devices[0]
	if d.Name != "NVIDIA GeForce RTX 4090" || d.Class != "RTX-4090" || d.MemoryTotal != 24<<30 || d.Telemetry.Utilization != 37 || d.Telemetry.TemperatureC != 55 {
		t.Errorf("gpumesh.exe gpu: device %+v, want the RTX 4090 with 24 GiB, 37 %% busy, 55 C\n%s", d, out)
	}
}

// withDLLOverride adds a Wine DLL override to env's WINEDLLOVERRIDES (its
// last entry, the one os/exec passes on).
func withDLLOverride(env []string, override string) []string {
	out := slices.Clone(env)
	for i := len(out) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(out[i], "WINEDLLOVERRIDES="); ok {
			out[i] = "WINEDLLOVERRIDES=" + v + ";" + override
			return out
		}
	}
	return append(out, "WINEDLLOVERRIDES="+override)
}

// crossBuild runs go with args for windows/amd64 without cgo.
func crossBuild(ctx context.Context, t *testing.T, args ...string) {
	t.Helper()
	build := exec.CommandContext(ctx, "go", args...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go %v for windows/amd64: %v\n%s", args, err, out)
	}
}

// wineNode runs gpumesh.exe version, run and status.
func wineNode(ctx context.Context, t *testing.T, wine string, env []string, tmp string) {
	exe := filepath.Join(tmp, "gpumesh.exe")
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
	if !strings.Contains(status, peer) || !strings.Contains(status, "network       main") || !strings.Contains(status, "bootstrap     none: no bootstrap peers") {
		t.Fatalf("gpumesh.exe status: got %q, want it to name peer %s, the main network and why it has no bootstrap peers", status, peer)
	}
}

// wineExecutor runs scheduler/executor's Windows tests under wine.
func wineExecutor(ctx context.Context, t *testing.T, wine string, env []string, tmp string) {
	exe := filepath.Join(tmp, "executor.test.exe")
	crossBuild(ctx, t, "test", "-c", "-o", exe, "../../scheduler/executor")
	out := runWine(ctx, t, wine, env, exe, "-test.run=^TestWindows", "-test.v", "-test.count=1")
	for _, name := range []string{"TestWindowsProcessRunsInAJobObject", "TestWindowsProcessWallLimitKillsTheWholeTree"} {
		if !strings.Contains(out, "--- PASS: "+name) {
			t.Errorf("%s did not pass under wine:\n%s", name, out)
		}
	}
}

// wineTooOld says why this Wine cannot run Go's Windows binaries, or ""
// when it can: Go 1.22 and later call ProcessPrng in
// bcryptprimitives.dll at start, which Wine has only since 9.0 (Debian
// bookworm's wine64 is 8.0).
func wineTooOld(ctx context.Context, wine string, env []string, exe string) string {
	cmd := exec.CommandContext(ctx, wine, exe, "version")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil && bytes.Contains(out, []byte("bcryptprimitives.dll not found")) {
		ver, _ := exec.CommandContext(ctx, wine, "--version").Output()
		return "this Wine (" + strings.TrimSpace(string(ver)) + ") has no bcryptprimitives.dll (ProcessPrng), which Go's Windows runtime needs at start: Wine 9.0 or later runs gpumesh.exe"
	}
	return ""
}

// installPrngStub builds testdata/bcryptprimitives.c with MinGW (Debian's
// gcc-mingw-w64-x86-64-win32) into the Wine prefix's system32, so that a
// Wine older than 9.0 can start Go binaries; it returns the DLL's path.
func installPrngStub(ctx context.Context, prefix string) (string, error) {
	cc, err := exec.LookPath("x86_64-w64-mingw32-gcc")
	if err != nil {
		return "", errors.New("x86_64-w64-mingw32-gcc not found (Debian's gcc-mingw-w64-x86-64-win32)")
	}
	sys32 := filepath.Join(prefix, "drive_c", "windows", "system32")
	if _, err := os.Stat(sys32); err != nil {
		return "", fmt.Errorf("wine prefix: %w", err)
	}
	dll := filepath.Join(sys32, "bcryptprimitives.dll")
	out, err := exec.CommandContext(ctx, cc, "-shared", "-O2", "-o", dll, "testdata/bcryptprimitives.c", "-ladvapi32").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build bcryptprimitives.dll: %v: %s", err, out)
	}
	return dll, nil
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
