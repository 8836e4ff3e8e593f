package executor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
)

// wasmTestModule returns the bytes of testdata/wasm/<name> built as a
// WASI module (see executortest).
func wasmTestModule(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(executortest.WasmModule(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

var (
	sharedWasmOnce sync.Once
	sharedWasm     *Wasm
	sharedWasmErr  error
)

// testWasm returns an executor shared by the tests, with its compilation
// cache in os.TempDir so a module is compiled once across test runs.
func testWasm(tb testing.TB) *Wasm {
	tb.Helper()
	sharedWasmOnce.Do(func() {
		sharedWasm, sharedWasmErr = NewWasm(WasmConfig{CacheDir: filepath.Join(os.TempDir(), "gpumesh-wasm-test-cache")})
	})
	if sharedWasmErr != nil {
		tb.Fatal(sharedWasmErr)
	}
	return sharedWasm
}

func wasmDigest(module []byte) string {
	sum := sha256.Sum256(module)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// wasmJob returns a job running module in a fresh folder with inputs/
// and outputs/.
func wasmJob(tb testing.TB, module []byte, limits Limits, args ...string) Job {
	tb.Helper()
	dir := tb.TempDir()
	for _, d := range []string{"inputs", "outputs"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	return Job{
		ID:  "job-1",
		Dir: dir,
		Spec: Spec{Version: SpecVersion, Executor: "wasm", Args: args, Limits: limits,
			Wasm: &WasmSpec{Module: module, Digest: wasmDigest(module)}},
		Env:    map[string]string{"GPUMESH_RANK": "2", "GPUMESH_WORLD_SIZE": "3"},
		Limits: limits,
	}
}

// wasmRun starts job and waits at most a minute for its result.
func wasmRun(t *testing.T, w *Wasm, job Job) (Result, []Line) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := w.Start(ctx, job)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	res, err := h.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	lines, _, closed := h.Logs().Lines(0)
	if !closed {
		t.Errorf("logs not closed after Wait")
	}
	return res, lines
}

// wasmWaitLine waits until the logs hold a line, or fails after a minute.
func wasmWaitLine(t *testing.T, h Handle) Line {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		lines, more, closed := h.Logs().Lines(0)
		if len(lines) > 0 {
			return lines[0]
		}
		if closed {
			t.Fatal("logs closed without a line")
		}
		select {
		case <-more:
		case <-deadline:
			t.Fatal("no line within a minute")
		}
	}
}

func wasmTexts(lines []Line) string {
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%s: %s\n", l.Stream, l.Text)
	}
	return b.String()
}

func TestWasmConfigLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Limits
		want Limits
	}{
		{"defaults", Limits{}, Limits{Wall: time.Hour, MemoryBytes: 512 << 20, OutputBytes: 64 << 20}},
		{"provider's own", Limits{Wall: 2 * time.Hour, CPU: time.Minute, MemoryBytes: 1 << 30, OutputBytes: 1 << 20},
			Limits{Wall: 2 * time.Hour, CPU: time.Minute, MemoryBytes: 1 << 30, OutputBytes: 1 << 20}},
		{"memory past 4 GiB", Limits{MemoryBytes: 8 << 30}, Limits{Wall: time.Hour, MemoryBytes: 4 << 30, OutputBytes: 64 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := NewWasm(WasmConfig{Limits: tc.cfg})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if got := w.cfg.Limits; got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	if _, err := NewWasm(WasmConfig{Limits: Limits{Wall: -1}}); err == nil {
		t.Errorf("negative limits accepted")
	}
}

func TestWasmCopy(t *testing.T) {
	w := testWasm(t)
	job := wasmJob(t, wasmTestModule(t, "copy"), Limits{}, "alpha", "two words")
	if err := os.WriteFile(filepath.Join(job.Dir, "inputs", "in.txt"), []byte("hello, mesh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, lines := wasmRun(t, w, job)
	if res.Status != StatusSucceeded || res.ExitCode != 0 {
		t.Fatalf("got %s exit %d (%s), want succeeded exit 0; logs:\n%s", res.Status, res.ExitCode, res.Reason, wasmTexts(lines))
	}
	if res.Started.IsZero() || res.Ended.Before(res.Started) {
		t.Errorf("got Started %v Ended %v, want Started set and Ended after it", res.Started, res.Ended)
	}
	out, err := os.ReadFile(filepath.Join(job.Dir, "outputs", "out.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "HELLO, MESH\n"; got != want {
		t.Errorf("got out.txt %q, want %q", got, want)
	}
	want := []Line{
		{Stream: "stdout", Text: "rank=2"},
		{Stream: "stdout", Text: `args=["alpha" "two words"]`},
		{Stream: "stderr", Text: "copied 12 bytes"},
	}
	for _, wl := range want {
		if !slices.ContainsFunc(lines, func(l Line) bool { return l.Stream == wl.Stream && l.Text == wl.Text }) {
			t.Errorf("logs lack %s line %q; got:\n%s", wl.Stream, wl.Text, wasmTexts(lines))
		}
	}
}

func TestWasmEscape(t *testing.T) {
	w := testWasm(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()

	job := wasmJob(t, wasmTestModule(t, "escape"), Limits{}, ln.Addr().String(), "secret.txt")
	secret := "SECRET-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := os.WriteFile(filepath.Join(job.Dir, "secret.txt"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(job.Dir, "inputs", "in.txt")
	if err := os.WriteFile(input, []byte("input"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, lines := wasmRun(t, w, job)
	if res.Status != StatusSucceeded {
		t.Fatalf("got %s (%s), want succeeded; logs:\n%s", res.Status, res.Reason, wasmTexts(lines))
	}
	all := wasmTexts(lines)
	attempts := 0
	for _, l := range lines {
		if !strings.HasPrefix(l.Text, "attempt ") {
			continue
		}
		attempts++
		if !strings.Contains(l.Text, ": blocked (") {
			t.Errorf("escaped: %s", l.Text)
		}
	}
	if attempts != 13 {
		t.Errorf("got %d attempts, want 13; logs:\n%s", attempts, all)
	}
	for _, leak := range []string{secret, "root:x:0"} {
		if strings.Contains(all, leak) {
			t.Errorf("logs hold %q read from the host", leak)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("host listener accepted %d connections, want 0", n)
	}
	if b, _ := os.ReadFile(input); string(b) != "input" {
		t.Errorf("input now %q, want it untouched", b)
	}
	if fi, err := os.Lstat(filepath.Join(job.Dir, "outputs", "passwd")); err == nil {
		t.Errorf("outputs hold %s (%s), want no symlink", fi.Name(), fi.Mode())
	}
	t.Logf("escape attempts:\n%s", all)
}

func TestWasmOutputsSymlinkRefused(t *testing.T) {
	// The module cannot make a symlink (TestWasmEscape), but one left in
	// outputs/ by anyone else must not be followed by whoever reads the
	// outputs: the run fails and the link is removed.
	w := testWasm(t)
	job := wasmJob(t, wasmTestModule(t, "copy"), Limits{})
	os.WriteFile(filepath.Join(job.Dir, "inputs", "in.txt"), []byte("x"), 0o644)
	link := filepath.Join(job.Dir, "outputs", "passwd")
	if err := os.Symlink("/etc/passwd", link); err != nil {
		t.Fatal(err)
	}
	res, _ := wasmRun(t, w, job)
	if res.Status != StatusFailed || !strings.Contains(res.Reason, "symlink") {
		t.Errorf("got %s (%s), want failed for a symlink", res.Status, res.Reason)
	}
	if _, err := os.Lstat(link); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("symlink still there: %v", err)
	}
}

func TestWasmLoopWallLimit(t *testing.T) {
	w := testWasm(t)
	for _, tc := range []struct {
		name   string
		limits Limits
		reason string
	}{
		{"wall", Limits{Wall: time.Second}, "wall time limit of 1s"},
		{"cpu", Limits{Wall: time.Minute, CPU: time.Second}, "cpu time limit of 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, lines := wasmRun(t, w, wasmJob(t, wasmTestModule(t, "loop"), tc.limits))
			took := res.Ended.Sub(res.Started)
			t.Logf("stopped after %v: %s", took, res.Reason)
			if res.Status != StatusLimit || !strings.Contains(res.Reason, tc.reason) {
				t.Errorf("got %s (%s), want limit (%s); logs:\n%s", res.Status, res.Reason, tc.reason, wasmTexts(lines))
			}
			if took < time.Second || took > 5*time.Second {
				t.Errorf("ran %v, want about 1s", took)
			}
		})
	}
}

func TestWasmCancel(t *testing.T) {
	w := testWasm(t)
	for _, name := range []string{"loop", "sleep"} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			h, err := w.Start(ctx, wasmJob(t, wasmTestModule(t, name), Limits{Wall: time.Hour}))
			if err != nil {
				t.Fatal(err)
			}
			wasmWaitLine(t, h) // it runs (or sleeps) now
			began := time.Now()
			if err := h.Cancel(ctx); err != nil {
				t.Fatalf("Cancel: %v", err)
			}
			took := time.Since(began)
			res, err := h.Wait(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("cancel took %v", took)
			if res.Status != StatusCancelled || res.ExitCode != -1 {
				t.Errorf("got %s exit %d (%s), want cancelled exit -1", res.Status, res.ExitCode, res.Reason)
			}
			if took > time.Second {
				t.Errorf("cancel took %v, want under 1s", took)
			}
			if err := h.Cancel(ctx); err != nil { // again: a no-op
				t.Errorf("second Cancel: %v", err)
			}
		})
	}
}

func TestWasmWaitBoundedByCtx(t *testing.T) {
	w := testWasm(t)
	h, err := w.Start(context.Background(), wasmJob(t, wasmTestModule(t, "sleep"), Limits{Wall: time.Minute}))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Cancel(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := h.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the wait's deadline", err)
	}
	lines, _, closed := h.Logs().Lines(0)
	if closed {
		t.Errorf("work ended with the wait's ctx; logs:\n%s", wasmTexts(lines))
	}
}

func TestWasmMemoryLimit(t *testing.T) {
	capped, err := NewWasm(WasmConfig{CacheDir: filepath.Join(os.TempDir(), "gpumesh-wasm-test-cache"), Limits: Limits{MemoryBytes: 48 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	defer capped.Close()
	for _, tc := range []struct {
		name   string
		w      *Wasm
		limits Limits
		want   int // MiB
	}{
		{"job's limit", testWasm(t), Limits{MemoryBytes: 64 << 20, Wall: time.Minute}, 64},
		{"provider's limit", capped, Limits{MemoryBytes: 1 << 30, Wall: time.Minute}, 48},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, lines := wasmRun(t, tc.w, wasmJob(t, wasmTestModule(t, "alloc"), tc.limits))
			t.Logf("%s exit %d: %s; last lines:\n%s", res.Status, res.ExitCode, res.Reason, wasmTexts(lines[max(len(lines)-3, 0):]))
			if want := fmt.Sprintf("memory limit of %d MiB reached (exit code 2)", tc.want); res.Status != StatusLimit || res.Reason != want {
				t.Errorf("got %s (%s), want limit (%s)", res.Status, res.Reason, want)
			}
			most := 0
			for _, l := range lines {
				var n int
				if _, err := fmt.Sscanf(l.Text, "allocated %d MiB", &n); err == nil {
					most = max(most, n)
				}
			}
			if most == 0 || most > tc.want {
				t.Errorf("the module allocated %d MiB, want some and at most %d", most, tc.want)
			}
		})
	}
}

func TestWasmOutputLimit(t *testing.T) {
	w := testWasm(t)
	const limit = 1 << 20
	res, lines := wasmRun(t, w, wasmJob(t, wasmTestModule(t, "spam"), Limits{OutputBytes: limit, Wall: time.Minute}))
	if res.Status != StatusLimit || res.Reason != "output over 1048576 bytes" {
		t.Errorf("got %s (%s), want limit (output over 1048576 bytes)", res.Status, res.Reason)
	}
	n := 0
	for _, l := range lines {
		n += len(l.Text) + 1
	}
	if n > limit+1 || n < limit/2 {
		t.Errorf("got %d bytes of logs, want about %d", n, limit)
	}
}

func TestWasmOutputsFolderLimit(t *testing.T) {
	w := testWasm(t)
	const limit = 8 << 20
	job := wasmJob(t, wasmTestModule(t, "fill"), Limits{OutputBytes: limit, Wall: time.Minute})
	res, lines := wasmRun(t, w, job)
	t.Logf("stopped after %v: %s", res.Ended.Sub(res.Started), res.Reason)
	if res.Status != StatusLimit || res.Reason != "outputs over 8388608 bytes" {
		t.Errorf("got %s (%s), want limit (outputs over 8388608 bytes); logs:\n%s", res.Status, res.Reason, wasmTexts(lines))
	}
}

func TestWasmExitCode(t *testing.T) {
	w := testWasm(t)
	res, lines := wasmRun(t, w, wasmJob(t, wasmTestModule(t, "exit3"), Limits{}))
	if res.Status != StatusFailed || res.ExitCode != 3 || res.Reason != "exit code 3" {
		t.Errorf("got %s exit %d (%s), want failed exit 3", res.Status, res.ExitCode, res.Reason)
	}
	if !slices.ContainsFunc(lines, func(l Line) bool { return l.Stream == "stderr" && l.Text == "exiting 3" }) {
		t.Errorf("logs lack stderr line %q; got:\n%s", "exiting 3", wasmTexts(lines))
	}
}

// Hand-made modules: a header and sections of under 128 bytes.
func wasmBinary(sections ...[]byte) []byte {
	return slices.Concat(append([][]byte{[]byte("\x00asm\x01\x00\x00\x00")}, sections...)...)
}

func wasmSection(id byte, content ...byte) []byte {
	return append([]byte{id, byte(len(content))}, content...)
}

// trapModule's _start executes unreachable.
var trapModule = wasmBinary(
	wasmSection(1, 1, 0x60, 0, 0),                               // type 0: func()
	wasmSection(3, 1, 0),                                        // func 0: type 0
	wasmSection(7, 1, 6, '_', 's', 't', 'a', 'r', 't', 0x00, 0), // export func 0 as _start
	wasmSection(10, 1, 3, 0, 0x00, 0x0b),                        // body: unreachable; end
)

// loopModule exports loop(n i32) i64: the sum n + (n-1) + ... + 1, a
// tight loop of adds with no calls.
var loopModule = wasmBinary(
	wasmSection(1, 1, 0x60, 1, 0x7f, 1, 0x7e), // type 0: func(i32) i64
	wasmSection(3, 1, 0),
	wasmSection(7, 1, 4, 'l', 'o', 'o', 'p', 0x00, 0),
	wasmSection(10, 1, 26,
		1, 1, 0x7e, // one i64 local: acc
		0x03, 0x40, // loop
		0x20, 1, 0x20, 0, 0xad, 0x7c, 0x21, 1, // acc += i64(n)
		0x20, 0, 0x41, 1, 0x6b, 0x22, 0, // n = n - 1 (kept on the stack)
		0x0d, 0, // br_if loop
		0x0b,    // end loop
		0x20, 1, // acc
		0x0b),
)

func TestWasmTrap(t *testing.T) {
	w := testWasm(t)
	res, lines := wasmRun(t, w, wasmJob(t, trapModule, Limits{}))
	if res.Status != StatusFailed || res.ExitCode != -1 || !strings.Contains(res.Reason, "unreachable") {
		t.Errorf("got %s exit %d (%s), want failed exit -1 with unreachable", res.Status, res.ExitCode, res.Reason)
	}
	if !strings.Contains(wasmTexts(lines), "wasm stack trace") {
		t.Errorf("logs lack the trap's stack trace; got:\n%s", wasmTexts(lines))
	}
}

func TestWasmBadStart(t *testing.T) {
	w, err := NewWasm(WasmConfig{MaxModuleBytes: 1 << 10, Limits: Limits{MemoryBytes: 64 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	bigMemory := wasmBinary(wasmSection(5, 1, 0, 0xd0, 0x0f)) // memory of min 2000 pages (125 MiB)
	for _, tc := range []struct {
		name string
		edit func(*Job)
		want error
	}{
		{"over MaxModuleBytes", func(j *Job) {
			m := append(slices.Clone(trapModule), wasmSection(0, append([]byte{3, 'p', 'a', 'd'}, make([]byte, 120)...)...)...)
			for len(m) <= 1<<10 {
				m = append(m, wasmSection(0, append([]byte{3, 'p', 'a', 'd'}, make([]byte, 120)...)...)...)
			}
			j.Spec.Wasm = &WasmSpec{Module: m, Digest: wasmDigest(m)}
		}, ErrTooLarge},
		{"memory minimum over the limit", func(j *Job) { j.Spec.Wasm = &WasmSpec{Module: bigMemory, Digest: wasmDigest(bigMemory)} }, ErrTooLarge},
		{"wrong digest", func(j *Job) { j.Spec.Wasm.Digest = wasmDigest([]byte("other")) }, ErrBadSpec},
		{"digest without prefix", func(j *Job) { j.Spec.Wasm.Digest = strings.TrimPrefix(j.Spec.Wasm.Digest, "sha256:") }, ErrBadSpec},
		{"no wasm section", func(j *Job) { j.Spec.Wasm = nil }, ErrBadSpec},
		{"other executor", func(j *Job) { j.Spec.Executor = "docker" }, ErrBadSpec},
		{"not wasm", func(j *Job) {
			j.Spec.Wasm = &WasmSpec{Module: []byte("#!/bin/sh"), Digest: wasmDigest([]byte("#!/bin/sh"))}
		}, ErrBadSpec},
		{"no _start", func(j *Job) { m := wasmBinary(); j.Spec.Wasm = &WasmSpec{Module: m, Digest: wasmDigest(m)} }, ErrBadSpec},
		{"empty argument", func(j *Job) { j.Spec.Args = []string{""} }, ErrBadSpec},
		{"bad env key", func(j *Job) { j.Env["A=B"] = "c" }, ErrBadSpec},
		{"no outputs folder", func(j *Job) { os.Remove(filepath.Join(j.Dir, "outputs")) }, ErrBadSpec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := wasmJob(t, trapModule, Limits{})
			tc.edit(&job)
			h, err := w.Start(context.Background(), job)
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			if h != nil {
				t.Errorf("got a handle with error %v", err)
			}
			t.Logf("%v", err)
		})
	}
}

func TestWasmCompilationCache(t *testing.T) {
	module := wasmTestModule(t, "hello")
	cacheDir := t.TempDir()
	startOnce := func(w *Wasm) time.Duration {
		t.Helper()
		job := wasmJob(t, module, Limits{})
		began := time.Now()
		h, err := w.Start(context.Background(), job)
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(began)
		if res, err := h.Wait(context.Background()); err != nil || res.Status != StatusSucceeded {
			t.Fatalf("got %+v, %v, want succeeded", res, err)
		}
		return took
	}
	w, err := NewWasm(WasmConfig{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	cold := startOnce(w)
	warm := startOnce(w)
	w.Close()
	w2, err := NewWasm(WasmConfig{CacheDir: cacheDir}) // as after a restart
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	restarted := startOnce(w2)
	t.Logf("Start of a %d KiB module: cold %v, warm %v, after a restart %v", len(module)>>10, cold, warm, restarted)

	files := 0
	filepath.WalkDir(cacheDir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files++
		}
		return nil
	})
	if files == 0 {
		t.Errorf("cache folder %s holds no files after a compile", cacheDir)
	}
}

func TestWasmConcurrent(t *testing.T) {
	// A fresh executor, so the three starts race to compile the module.
	w, err := NewWasm(WasmConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	module := wasmTestModule(t, "copy")
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			job := wasmJob(t, module, Limits{}, strconv.Itoa(i))
			os.WriteFile(filepath.Join(job.Dir, "inputs", "in.txt"), []byte("worker "+strconv.Itoa(i)), 0o644)
			h, err := w.Start(context.Background(), job)
			if err != nil {
				t.Error(err)
				return
			}
			for range 3 { // every method, from several goroutines
				go h.Logs().Lines(0)
				go h.Wait(context.Background())
			}
			res, err := h.Wait(context.Background())
			if err != nil || res.Status != StatusSucceeded {
				t.Errorf("worker %d: got %+v, %v", i, res, err)
			}
			h.Cancel(context.Background())
			out, _ := os.ReadFile(filepath.Join(job.Dir, "outputs", "out.txt"))
			if want := "WORKER " + strconv.Itoa(i); string(out) != want {
				t.Errorf("worker %d: got %q, want %q", i, out, want)
			}
		})
	}
	wg.Wait()
	if n := len(w.compiled); n != 1 {
		t.Errorf("got %d compiled modules, want 1", n)
	}
}

func TestWasmKeepsFewCompiled(t *testing.T) {
	w, err := NewWasm(WasmConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := range keepCompiled + 3 {
		// Distinct modules: the trap module with a custom section.
		m := append(slices.Clone(trapModule), wasmSection(0, 1, 'x', byte(i))...)
		res, _ := wasmRun(t, w, wasmJob(t, m, Limits{}))
		if res.Status != StatusFailed || !strings.Contains(res.Reason, "unreachable") {
			t.Fatalf("module %d: got %s (%s), want failed (unreachable)", i, res.Status, res.Reason)
		}
	}
	if n := len(w.compiled); n != keepCompiled {
		t.Errorf("got %d compiled modules, want %d", n, keepCompiled)
	}
	// The first was evicted: it compiles again and still runs.
	m := append(slices.Clone(trapModule), wasmSection(0, 1, 'x', 0)...)
	if res, _ := wasmRun(t, w, wasmJob(t, m, Limits{})); res.Status != StatusFailed {
		t.Errorf("evicted module: got %s (%s), want failed", res.Status, res.Reason)
	}
}

func TestWasmClose(t *testing.T) {
	w, err := NewWasm(WasmConfig{CacheDir: filepath.Join(os.TempDir(), "gpumesh-wasm-test-cache")})
	if err != nil {
		t.Fatal(err)
	}
	module := wasmTestModule(t, "sleep")
	h, err := w.Start(context.Background(), wasmJob(t, module, Limits{}))
	if err != nil {
		t.Fatal(err)
	}
	wasmWaitLine(t, h)
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	res, err := h.Wait(context.Background())
	if err != nil || res.Status != StatusCancelled || res.Reason != "executor closed" {
		t.Errorf("got %s (%s), %v, want cancelled (executor closed)", res.Status, res.Reason, err)
	}
	if _, err := w.Start(context.Background(), wasmJob(t, module, Limits{})); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Start after Close: got %v, want %v", err, ErrUnavailable)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// BenchmarkWasmLoop measures what WithCloseOnContextDone costs: a tight
// loop of adds (the worst case: a check per iteration of 4 instructions)
// and a Go program hashing 8 MiB with SHA-256 (ordinary work), each with
// and without the option.
func BenchmarkWasmLoop(b *testing.B) {
	ctx := context.Background()
	for _, closeOnDone := range []bool{false, true} {
		name := map[bool]string{false: "unchecked", true: "close_on_context_done"}[closeOnDone]
		newRT := func(b *testing.B) wazero.Runtime {
			rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(closeOnDone))
			b.Cleanup(func() { rt.Close(ctx) })
			return rt
		}
		b.Run("tight/"+name, func(b *testing.B) {
			rt := newRT(b)
			mod, err := rt.Instantiate(ctx, loopModule)
			if err != nil {
				b.Fatal(err)
			}
			loop := mod.ExportedFunction("loop")
			const n = 10_000_000
			if got, err := loop.Call(ctx, n); err != nil || got[0] != n*(n+1)/2 {
				b.Fatalf("loop(%d) = %v, %v, want %d", n, got, err, n*(n+1)/2)
			}
			b.ResetTimer()
			for b.Loop() {
				loop.Call(ctx, n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/iter")
		})
		b.Run("go-sha256/"+name, func(b *testing.B) {
			rt := newRT(b)
			wasi_snapshot_preview1.MustInstantiate(ctx, rt)
			compiled, err := rt.CompileModule(ctx, wasmTestModule(b, "hash"))
			if err != nil {
				b.Fatal(err)
			}
			var out bytes.Buffer
			cfg := wazero.NewModuleConfig().WithArgs("hash", "8").WithStdout(&out).WithName("")
			if _, err := rt.InstantiateModule(ctx, compiled, cfg); err != nil || out.Len() != 65 {
				b.Fatalf("hash: %v, printed %q", err, out.String())
			}
			for b.Loop() {
				rt.InstantiateModule(ctx, compiled, cfg)
			}
		})
	}
}

// BenchmarkWasmFirstLine is B8 for wasm: from Start to the first output
// line of a hello module whose compiled code is in the cache on disk
// (each run builds a runtime, loads the module from the cache,
// instantiates it, and Go's wasip1 runtime starts before main prints).
func BenchmarkWasmFirstLine(b *testing.B) {
	w := testWasm(b)
	module := wasmTestModule(b, "hello")
	run := func() time.Duration {
		job := wasmJob(b, module, Limits{})
		began := time.Now()
		h, err := w.Start(context.Background(), job)
		if err != nil {
			b.Fatal(err)
		}
		var took time.Duration
		for {
			lines, more, closed := h.Logs().Lines(0)
			if len(lines) > 0 {
				took = time.Since(began)
				if lines[0].Text != "hello" {
					b.Fatalf("got %q, want hello", lines[0].Text)
				}
				break
			}
			if closed {
				b.Fatal("no line")
			}
			<-more
		}
		if res, err := h.Wait(context.Background()); err != nil || res.Status != StatusSucceeded {
			b.Fatalf("got %+v, %v", res, err)
		}
		return took
	}
	run() // warm the cache
	var times []time.Duration
	for b.Loop() {
		times = append(times, run())
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms-first-line-p50")
	b.ReportMetric(float64(times[len(times)*9/10].Microseconds())/1000, "ms-first-line-p90")
}
