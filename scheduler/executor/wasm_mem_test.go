package executor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rssChildEnv makes the test binary the child of TestWasmMemoryRSS: it
// runs the module named there and prints its memory figures.
const rssChildEnv = "GPUMESH_WASM_RSS_MODULE"

// rssFigures are the child's memory, in bytes, from /proc/self/status.
type rssFigures struct {
	Start, Peak, After int64
	Status             Status
	Reason             string
}

// procStatus returns a kB field of /proc/self/status in bytes.
func procStatus(field string) (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}

const rssTestLimit = 128 << 20

// TestWasmMemoryRSS is issue 16 item 4 on the provider: a module that
// allocates until its memory limit may cost the provider about that much
// memory, not twice as much, and gives it back when it ends. It runs the
// job in a fresh process (this test binary again) so its peak RSS is the
// job's.
func TestWasmMemoryRSS(t *testing.T) {
	if path := os.Getenv(rssChildEnv); path != "" {
		rssChild(t, path)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/status")
	}
	module := filepathOfModule(t, "alloc")
	cmd := exec.Command(os.Args[0], "-test.run=^TestWasmMemoryRSS$", "-test.count=1")
	cmd.Env = append(os.Environ(), rssChildEnv+"="+module)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var f rssFigures
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "RSS "); ok {
			if err := json.Unmarshal([]byte(rest), &f); err != nil {
				t.Fatal(err)
			}
		}
	}
	if f.Status == "" {
		t.Fatalf("the child printed no figures:\n%s", out)
	}
	t.Logf("limit %d MiB: RSS %d MiB at start, peak %d MiB, %d MiB after the job (%s: %s)",
		rssTestLimit>>20, f.Start>>20, f.Peak>>20, f.After>>20, f.Status, f.Reason)
	if f.Status != StatusLimit {
		t.Errorf("the job ended %s (%s), want the memory limit", f.Status, f.Reason)
	}
	if grew := f.Peak - f.Start; grew > rssTestLimit+48<<20 {
		t.Errorf("peak RSS grew by %d MiB for a %d MiB memory limit", grew>>20, rssTestLimit>>20)
	}
	if kept := f.After - f.Start; kept > 48<<20 {
		t.Errorf("RSS still %d MiB above the start after the job ended", kept>>20)
	}
}

// filepathOfModule returns the path of a built test module.
func filepathOfModule(t *testing.T, name string) string {
	t.Helper()
	b := wasmTestModule(t, name)
	p := filepath.Join(t.TempDir(), name+".wasm")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// rssChild runs the module at path to its memory limit and prints the
// process's RSS at the start, its peak, and right after the job.
func rssChild(t *testing.T, path string) {
	module, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWasm(WasmConfig{CacheDir: filepath.Join(os.TempDir(), "gpumesh-wasm-test-cache")})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	runtime.GC()
	var f rssFigures
	if f.Start, err = procStatus("VmRSS"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := w.Start(ctx, wasmJob(t, module, Limits{MemoryBytes: rssTestLimit, Wall: time.Minute}))
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.Status, f.Reason = res.Status, res.Reason
	if f.After, err = procStatus("VmRSS"); err != nil {
		t.Fatal(err)
	}
	if f.Peak, err = procStatus("VmHWM"); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(f)
	fmt.Printf("RSS %s\n", b)
}
