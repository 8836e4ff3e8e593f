//go:build windows

package executor

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// These tests run the Windows process executor for real: under Wine in
// CI (cmd/gpumesh's TestWindowsExecutorUnderWine cross-compiles this
// package's tests and runs them), on Windows itself with go test. The
// child program is this test binary, in TestWindowsHelperProcess.

// helperProcess is the allowlist entry that runs this test binary as the
// helper, which does what the job's first argument says.
func helperProcess(t *testing.T, lim Limits) *Process {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProcess(ProcessConfig{Allow: map[string][]string{"helper": {exe, "-test.run=^TestWindowsHelperProcess$", "--"}}, Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWindowsHelperProcess is the child program, not a test: it does
// nothing unless started by helperProcess (with GPUMESH_OUTPUTS set).
func TestWindowsHelperProcess(t *testing.T) {
	out := os.Getenv("GPUMESH_OUTPUTS")
	if out == "" || flag.NArg() == 0 {
		t.Skip("the child program of the Windows process tests")
	}
	switch flag.Arg(0) {
	case "echo":
		fmt.Println("hello from rank", os.Getenv("GPUMESH_RANK"))
		in, err := os.ReadFile(filepath.Join(os.Getenv("GPUMESH_INPUTS"), "in.txt"))
		if err == nil {
			err = os.WriteFile(filepath.Join(out, "out.txt"), []byte(strings.ToUpper(string(in))), 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case "spawn": // a grandchild that would outlive it, then wait
		exe, _ := os.Executable()
		c := exec.Command(exe, "-test.run=^TestWindowsHelperProcess$", "--", "wait")
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		_ = os.WriteFile(filepath.Join(out, "grandchild.pid"), []byte(strconv.Itoa(c.Process.Pid)), 0o644)
		fmt.Println("spawned", c.Process.Pid)
		sleepForever()
	case "wait":
		sleepForever()
	}
	os.Exit(2)
}

// sleepForever blocks on a timer, not on select{}: a helper started
// without -test.timeout has no other timer or goroutine, and the Go
// runtime ends a program whose goroutines all block forever with exit
// status 2 ("all goroutines are asleep - deadlock!") before the wall
// limit it is meant to meet.
func sleepForever() {
	for {
		time.Sleep(time.Hour)
	}
}

func startHelper(t *testing.T, p *Process, lim Limits, arg string) (Handle, string) {
	t.Helper()
	// Not t.TempDir: its cleanup fails under Wine 8 (RemoveAll's
	// unlinkat is "Invalid function" there), which is no fault of ours.
	dir, err := os.MkdirTemp("", "gpumesh-process-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	for _, d := range []string{"inputs", "outputs"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "inputs", "in.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := p.Start(context.Background(), Job{ID: "j", Dir: dir, Limits: lim, Env: map[string]string{"GPUMESH_RANK": "1"},
		Spec: Spec{Version: SpecVersion, Executor: "process", Process: &ProcessSpec{Command: "helper"}, Args: []string{arg}}})
	if err != nil {
		t.Fatal(err)
	}
	return h, dir
}

func TestWindowsProcessRunsInAJobObject(t *testing.T) {
	p := helperProcess(t, Limits{})
	h, dir := startHelper(t, p, Limits{}, "echo")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := h.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusSucceeded {
		t.Fatalf("got %+v, want success", res)
	}
	lines, _, _ := h.Logs().Lines(0)
	var text []string
	for _, l := range lines {
		text = append(text, l.Text)
	}
	if got := strings.Join(text, "|"); !strings.Contains(got, "hello from rank 1") {
		t.Errorf("logs %q: want the rank's line", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "outputs", "out.txt")); string(b) != "HELLO\n" {
		t.Errorf("output %q, want HELLO", b)
	}
}

// TestWindowsProcessWallLimitKillsTheWholeTree: at the wall limit the job
// object ends the job and the grandchild it started, which a kill of the
// child alone would leave running.
func TestWindowsProcessWallLimitKillsTheWholeTree(t *testing.T) {
	lim := Limits{Wall: 5 * time.Second}
	p := helperProcess(t, lim)
	h, dir := startHelper(t, p, lim, "spawn")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := h.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusLimit || !strings.Contains(res.Reason, "wall time") {
		t.Fatalf("got %+v, want the wall limit", res)
	}
	b, err := os.ReadFile(filepath.Join(dir, "outputs", "grandchild.pid"))
	if err != nil {
		t.Fatalf("the helper wrote no grandchild pid in %s: %v", lim.Wall, err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatal(err)
	}
	proc, err := windows.OpenProcess(windows.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		return // gone already
	}
	defer windows.CloseHandle(proc)
	if ev, _ := windows.WaitForSingleObject(proc, 20_000); ev != windows.WAIT_OBJECT_0 {
		t.Errorf("grandchild %d still runs after the job ended (wait: %#x)", pid, ev)
	}
}
