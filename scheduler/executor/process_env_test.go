package executor

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// preloadLib builds, in the job's inputs/ as the run server stages an
// input (0444), a shared library whose constructor writes marker: what a
// requester would send to run its own code through LD_PRELOAD.
func preloadLib(t *testing.T, dir, marker string) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc to build the LD_PRELOAD library: the loader attack is not reproduced")
	}
	src := filepath.Join(t.TempDir(), "evil.c")
	code := `#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void evil(void) {
	int fd = open("` + marker + `", O_CREAT | O_WRONLY, 0644);
	if (fd >= 0) { write(fd, "owned\n", 6); close(fd); }
}
`
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(dir, "inputs", "evil.so")
	if out, err := exec.Command(gcc, "-shared", "-fPIC", "-o", lib, src).CombinedOutput(); err != nil {
		t.Skipf("gcc cannot build a shared library here (%v): %s", err, out)
	}
	if err := os.Chmod(lib, 0o444); err != nil {
		t.Fatal(err)
	}
	return lib
}

// TestProcessRefusesLoaderAndPathEnv is issue 16 item 1: a provider that
// allowlisted echo and env must not run a requester's library through
// LD_PRELOAD, nor a program of its choosing through PATH, even when the
// provider lets jobs set any variable ("*").
func TestProcessRefusesLoaderAndPathEnv(t *testing.T) {
	for _, allowEnv := range [][]string{nil, {"*"}} {
		p, err := NewProcess(ProcessConfig{Env: allowEnv, Allow: map[string][]string{
			"echo": {"/bin/echo"}, "env": {"/usr/bin/env"}}})
		if err != nil {
			t.Fatal(err)
		}
		dir := jobDir(t)
		marker := filepath.Join(t.TempDir(), "marker")
		lib := preloadLib(t, dir, marker)
		// A fake "echo" among the inputs, reached through PATH by env.
		fake := filepath.Join(dir, "inputs", "echo")
		if err := os.WriteFile(fake, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o555); err != nil {
			t.Fatal(err)
		}
		attacks := []struct {
			command string
			args    []string
			env     map[string]string
			refused string
		}{
			{"echo", []string{"hi"}, map[string]string{"LD_PRELOAD": lib}, "LD_PRELOAD"},
			{"echo", []string{"hi"}, map[string]string{"LD_LIBRARY_PATH": filepath.Dir(lib), "LD_AUDIT": lib}, "LD_AUDIT, LD_LIBRARY_PATH"},
			{"env", []string{"echo", "hi"}, map[string]string{"PATH": filepath.Join(dir, "inputs")}, "PATH"},
		}
		for _, a := range attacks {
			job := Job{ID: "j", Dir: dir, Env: a.env,
				Spec: Spec{Version: SpecVersion, Executor: "process", Process: &ProcessSpec{Command: a.command}, Args: a.args}}
			h, err := p.Start(context.Background(), job)
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				res, _ := h.Wait(ctx)
				cancel()
				t.Errorf("allow %v, %s with %v: ran (%s) instead of being refused", allowEnv, a.command, a.env, res.Status)
			} else if !errors.Is(err, ErrEnvRefused) || !errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), a.refused) {
				t.Errorf("allow %v, %v: %v, want ErrEnvRefused naming %s", allowEnv, a.env, err, a.refused)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatalf("allow %v, %v: the requester's code ran on the provider (marker written)", allowEnv, a.env)
			}
		}
		if fi, err := os.Stat(fake); err != nil || fi.Mode().Perm()&0o111 != 0 {
			t.Errorf("an input left executable (%v, %v): inputs must not be runnable", fi.Mode(), err)
		}
	}
}

// TestProcessEnvAllowlist: only the names the provider allows reach the
// child, a name it does not is an error naming it, and the provider's
// own variables cannot be overridden.
func TestProcessEnvAllowlist(t *testing.T) {
	p, err := NewProcess(ProcessConfig{Env: []string{"MODE", "OMP_*"}, Allow: map[string][]string{"sh": {"/bin/sh", "-c"}}})
	if err != nil {
		t.Fatal(err)
	}
	start := func(env map[string]string) (Handle, error) {
		return p.Start(context.Background(), Job{ID: "j", Dir: jobDir(t), Env: env,
			Spec: Spec{Version: SpecVersion, Executor: "process", Process: &ProcessSpec{Command: "sh"},
				Args: []string{`echo "$MODE $OMP_NUM_THREADS $GPUMESH_RANK $GPUMESH_OUTPUTS"`}}})
	}
	if _, err := start(map[string]string{"MODE": "fast", "OTHER": "x", "SECRET": "y"}); !errors.Is(err, ErrEnvRefused) || !strings.Contains(err.Error(), "OTHER, SECRET") {
		t.Errorf("names not allowlisted: %v, want ErrEnvRefused naming OTHER, SECRET", err)
	}
	h, err := start(map[string]string{"MODE": "fast", "OMP_NUM_THREADS": "4", "GPUMESH_RANK": "1", "GPUMESH_OUTPUTS": "/etc"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if res, err := h.Wait(ctx); err != nil || res.Status != StatusSucceeded {
		t.Fatalf("%+v %v", res, err)
	}
	lines, _, _ := h.Logs().Lines(0)
	if len(lines) != 1 || !strings.HasPrefix(lines[0].Text, "fast 4 1 /") || strings.HasSuffix(lines[0].Text, " /etc") {
		t.Errorf("child saw %+v: want the allowed names and the provider's own GPUMESH_OUTPUTS", lines)
	}
	if _, err := NewProcess(ProcessConfig{Env: []string{"[bad"}}); err == nil {
		t.Error("a malformed pattern was accepted")
	}
}
