package executor

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// DefaultMaxModuleBytes is the largest module the wasm executor accepts
// when WasmConfig.MaxModuleBytes is zero.
const DefaultMaxModuleBytes = 64 << 20

// DefaultWasmLimits are the wasm executor's limits when the provider sets
// none.
var DefaultWasmLimits = Limits{Wall: time.Hour, MemoryBytes: 512 << 20, OutputBytes: 64 << 20}

const (
	// wasmProgramName is argv[0] of every module.
	wasmProgramName = "main.wasm"
	// wasmPageBytes is the size of a page of wasm linear memory.
	wasmPageBytes = 64 << 10
	// wasmMaxMemoryBytes is the most a 32-bit wasm memory can hold.
	wasmMaxMemoryBytes = 4 << 30
	// keepCompiled is how many compiled modules stay in memory, ready to
	// instantiate; older ones are reloaded from the cache on disk.
	keepCompiled = 8
	// outputsCheckEvery is how often the /outputs/ folder is measured
	// while a module runs, so a module that fills the disk is stopped
	// within about this long rather than only when it ends.
	outputsCheckEvery = time.Second
)

// WasmConfig configures the wasm executor. The zero value is usable.
type WasmConfig struct {
	// CacheDir is where compiled modules are kept, keyed by their content
	// hash (wazero's compilation cache), so a module is compiled once per
	// wazero version; empty keeps them in memory only.
	CacheDir string
	// MaxModuleBytes is the largest module accepted (ErrTooLarge past it);
	// zero means DefaultMaxModuleBytes.
	MaxModuleBytes int64
	// Limits cap every job's; zero fields take DefaultWasmLimits'.
	// MemoryBytes is at most 4 GiB (32-bit wasm), PIDs does not apply (a
	// module is one thread), and CPU is enforced as wall time (see Wasm).
	Limits Limits
}

// Wasm runs WASI (preview 1) command modules with wazero, a pure-Go
// runtime, so it needs nothing installed. It is the executor for
// untrusted work. All its methods are safe for concurrent use.
//
// Sandbox: a module sees its job's inputs/ read-only at /inputs and its
// outputs/ at /outputs and no other host file, and it can create no
// symlink (wazero would let a symlink made in /outputs point anywhere on
// the host, see confinedFS). It has no sockets (wazero offers none unless
// configured, and we don't). Its arguments are Spec.Args after the
// program name "main.wasm", its environment is Job.Env only, and it gets
// the host's clocks, sleeps that a stop interrupts, and crypto
// randomness.
//
// Limits: linear memory through a memory allocator that refuses to grow
// past the job's limit (so a hit is known exactly, see linearMemory);
// time through a context deadline of min(Wall, CPU), since a module runs
// on one thread its CPU time is at most its wall time, so the CPU limit
// is enforced as wall time (sleeping counts too); output through the
// Logs limit; the /outputs/ folder's apparent size (a sparse file counts
// whole) at write time (see outputsQuota), and measured every second and
// at the end as well.
//
// Speed: one wazero runtime serves every job, and the last few modules
// stay compiled in memory, so starting a known module costs an
// instantiation, not a decode, validation and load from disk (about 30
// ms for a 2 MiB Go module). See newWasmRuntime for the cost of making
// modules stoppable.
type Wasm struct {
	cfg   WasmConfig
	cache wazero.CompilationCache
	rt    wazero.Runtime

	mu       sync.Mutex
	compiled map[string]*compiledModule // by digest
	tick     uint64                     // for least-recently-used eviction
	running  map[*wasmHandle]struct{}
	closed   bool
}

// compiledModule is one module compiled in the shared runtime. Once ready
// is closed, mod or err is set. users counts the starts instantiating it;
// an evicted module is closed once it has none.
type compiledModule struct {
	ready   chan struct{}
	mod     wazero.CompiledModule
	err     error
	used    uint64
	users   int
	evicted bool
}

// NewWasm returns a wasm executor. It creates CacheDir if needed and
// starts nothing.
func NewWasm(cfg WasmConfig) (*Wasm, error) {
	if cfg.MaxModuleBytes <= 0 {
		cfg.MaxModuleBytes = DefaultMaxModuleBytes
	}
	if l := cfg.Limits; l.Wall < 0 || l.CPU < 0 || l.MemoryBytes < 0 || l.OutputBytes < 0 {
		return nil, fmt.Errorf("wasm executor: negative limits in %+v", l)
	}
	cfg.Limits = cfg.Limits.Or(DefaultWasmLimits)
	cfg.Limits.MemoryBytes = min(cfg.Limits.MemoryBytes, wasmMaxMemoryBytes)
	cache := wazero.NewCompilationCache()
	if cfg.CacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("wasm executor: compilation cache in %s: %w", cfg.CacheDir, err)
		}
	}
	rt, err := newWasmRuntime(cache)
	if err != nil {
		cache.Close(context.Background())
		return nil, fmt.Errorf("wasm executor: %w", err)
	}
	return &Wasm{cfg: cfg, cache: cache, rt: rt, compiled: map[string]*compiledModule{}, running: map[*wasmHandle]struct{}{}}, nil
}

// newWasmRuntime returns the runtime all jobs share, with WASI.
//
// WithCloseOnContextDone is always on: without it nothing stops a module
// that loops without calling the host, and, worse, such a loop in
// compiled code cannot be preempted by Go, so every garbage collection of
// the provider waits for it (measured: a 1.4 s wasm loop held
// runtime.GC() for 1.3 s; with the option, 3 ms). It is not free: wazero
// 1.12 leaves compiled code for Go at every loop iteration to check for a
// stop. BenchmarkWasmLoop, on this project's 2-core development machine
// (amd64, Go 1.26):
//
//   - a tight loop of 4 instructions: 0.6-0.9 ns per iteration without
//     the option, 29-37 ns with it (about 45x slower);
//   - a Go program hashing 8 MiB with SHA-256: 145-220 ms without,
//     620-710 ms with (3-4x slower).
//
// The price is paid for the provider's safety. Cheaper stops need either
// running each module in a child process that is killed to stop it (the
// option off), or rewriting modules to poll a flag every few thousand
// iterations; neither is done here.
func newWasmRuntime(cache wazero.CompilationCache) (wazero.Runtime, error) {
	ctx := context.Background()
	cfg := wazero.NewRuntimeConfig().
		WithCompilationCache(cache).
		WithCloseOnContextDone(true).
		// wazero's own page limit stays at the 4 GiB maximum: each job's
		// limit is enforced by its allocator, so that a grow past it
		// reaches the allocator, which records the hit.
		WithMemoryLimitPages(wasmMaxMemoryBytes / wasmPageBytes)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("instantiate wasi: %w", err)
	}
	return rt, nil
}

// Name is "wasm".
func (w *Wasm) Name() string { return "wasm" }

// Close stops the work still running (StatusCancelled, "executor
// closed"), waits for it, and releases the compiled modules. The cache on
// disk stays. Start fails with ErrUnavailable afterwards.
func (w *Wasm) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	running := slices.Collect(maps.Keys(w.running))
	w.mu.Unlock()
	for _, h := range running {
		h.cancel(&wasmStop{StatusCancelled, "executor closed"})
		<-h.done
	}
	ctx := context.Background()
	return errors.Join(w.rt.Close(ctx), w.cache.Close(ctx))
}

// Start checks the module (ErrBadSpec: no wasm section, a digest that
// does not match, a module that does not compile or is not a WASI
// command, an empty argument or a bad environment key, a job folder
// without inputs/ or outputs/; ErrTooLarge: over MaxModuleBytes, or a
// declared minimum memory over the memory limit), compiles it (or finds
// it compiled), instantiates it with WASI and calls its _start in a
// goroutine that the returned handle owns. ctx bounds the start only.
func (w *Wasm) Start(ctx context.Context, job Job) (Handle, error) {
	spec := job.Spec.Wasm
	if job.Spec.Executor != "wasm" || spec == nil {
		return nil, fmt.Errorf("%w: executor %q with wasm section %t, want wasm", ErrBadSpec, job.Spec.Executor, spec != nil)
	}
	if n := int64(len(spec.Module)); n > w.cfg.MaxModuleBytes {
		return nil, fmt.Errorf("%w: module of %d bytes, at most %d", ErrTooLarge, n, w.cfg.MaxModuleBytes)
	}
	sum := sha256.Sum256(spec.Module)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if spec.Digest != digest {
		return nil, fmt.Errorf("%w: module digest %q, its bytes hash to %s", ErrBadSpec, spec.Digest, digest)
	}
	inputs, outputs := filepath.Join(job.Dir, "inputs"), filepath.Join(job.Dir, "outputs")
	for _, dir := range []string{inputs, outputs} {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%w: job folder %s has no %s folder", ErrBadSpec, job.Dir, filepath.Base(dir))
		}
	}
	for _, a := range job.Spec.Args {
		if a == "" {
			return nil, fmt.Errorf("%w: an empty argument (wazero refuses them)", ErrBadSpec)
		}
	}
	limits := job.Limits.Cap(w.cfg.Limits)
	// The allocator cannot refuse a memory's first allocation (wazero
	// would panic), so a module that starts over the limit is refused
	// here.
	if minPages, ok := wasmMemoryMin(spec.Module); ok && int64(minPages)*wasmPageBytes > limits.MemoryBytes {
		return nil, fmt.Errorf("%w: module starts with %d MiB of memory, the limit is %d MiB", ErrTooLarge, int64(minPages)*wasmPageBytes>>20, limits.MemoryBytes>>20)
	}

	compiled, release, err := w.compile(ctx, digest, spec.Module)
	if err != nil {
		return nil, err
	}
	defer release()
	if _, ok := compiled.ExportedFunctions()["_start"]; !ok {
		return nil, fmt.Errorf("%w: module exports no _start: not a WASI command", ErrBadSpec)
	}
	for _, m := range compiled.ExportedMemories() { // the same check, from wazero's reading
		if int64(m.Min())*wasmPageBytes > limits.MemoryBytes {
			return nil, fmt.Errorf("%w: module starts with %d MiB of memory, the limit is %d MiB", ErrTooLarge, int64(m.Min())*wasmPageBytes>>20, limits.MemoryBytes>>20)
		}
	}
	h, err := w.instantiate(ctx, compiled, job, inputs, outputs, limits)
	if err != nil {
		return nil, err // not a nil *wasmHandle in a Handle
	}
	return h, nil
}

// compile returns the module compiled in the shared runtime, compiling it
// (from the disk cache if there) unless it is in memory; starts of a
// module being compiled wait for that compile, or for their ctx. release
// must be called once the module is instantiated.
func (w *Wasm) compile(ctx context.Context, digest string, module []byte) (wazero.CompiledModule, func(), error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil, nil, fmt.Errorf("%w: wasm executor closed", ErrUnavailable)
	}
	c, found := w.compiled[digest]
	if !found {
		c = &compiledModule{ready: make(chan struct{})}
		w.compiled[digest] = c
	}
	w.tick++
	c.used = w.tick
	c.users++
	w.mu.Unlock()

	release := func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if c.users--; c.users == 0 && c.evicted && c.mod != nil {
			c.mod.Close(context.Background())
		}
	}
	if !found {
		// Others may wait for this compile: ctx's end must not fail it
		// (wazero would not stop it anyway).
		mod, err := w.rt.CompileModule(context.WithoutCancel(ctx), module)
		w.mu.Lock()
		c.mod, c.err = mod, err
		if err != nil {
			delete(w.compiled, digest)
		}
		w.evictLocked()
		w.mu.Unlock()
		close(c.ready)
	}
	select {
	case <-c.ready:
	case <-ctx.Done():
		release()
		return nil, nil, fmt.Errorf("%w: compile module: %w", ErrUnavailable, ctx.Err())
	}
	if c.err != nil {
		release()
		return nil, nil, fmt.Errorf("%w: compile module: %w", ErrBadSpec, c.err)
	}
	return c.mod, release, nil
}

// evictLocked drops the least recently used compiled modules past
// keepCompiled; one still being instantiated is closed by its last
// release.
func (w *Wasm) evictLocked() {
	for len(w.compiled) > keepCompiled {
		var oldest string
		for d, c := range w.compiled {
			if c.mod != nil && (oldest == "" || c.used < w.compiled[oldest].used) {
				oldest = d
			}
		}
		if oldest == "" {
			return // all still compiling
		}
		c := w.compiled[oldest]
		delete(w.compiled, oldest)
		c.evicted = true
		if c.users == 0 {
			c.mod.Close(context.Background())
		}
	}
}

// instantiate sets up the module's sandbox and starts it.
func (w *Wasm) instantiate(ctx context.Context, compiled wazero.CompiledModule, job Job, inputs, outputs string, limits Limits) (*wasmHandle, error) {
	h := &wasmHandle{limits: limits, outputs: outputs, done: make(chan struct{})}
	runCtx, cancel := context.WithCancelCause(context.Background())
	h.cancel = cancel
	wall, why := limits.Wall, fmt.Sprintf("wall time limit of %s reached", limits.Wall)
	if limits.CPU > 0 && limits.CPU < wall {
		wall, why = limits.CPU, fmt.Sprintf("cpu time limit of %s reached (counted as wall time: a wasm module runs on one thread)", limits.CPU)
	}
	// The limit counts from Started, instantiation included (a module's
	// start section runs then).
	h.started = time.Now()
	runCtx, stopTimer := context.WithDeadlineCause(runCtx, h.started.Add(wall), &wasmStop{StatusLimit, why})
	h.stop = func() { stopTimer(); cancel(nil) }
	h.logs = NewLogs(limits.OutputBytes, func() {
		cancel(&wasmStop{StatusLimit, fmt.Sprintf("output over %d bytes", limits.OutputBytes)})
	})
	h.memory = &linearMemory{limit: uint64(limits.MemoryBytes)}

	quota := newOutputsQuota(outputs, limits.OutputBytes, func() {
		cancel(&wasmStop{StatusLimit, fmt.Sprintf("outputs over %d bytes", limits.OutputBytes)})
	})
	fsConfig := wazero.NewFSConfig().(sysfs.FSConfig).
		WithSysFSMount(&sysfs.ReadFS{FS: sysfs.DirFS(inputs)}, "/inputs").(sysfs.FSConfig).
		WithSysFSMount(quotaFS{confinedFS{sysfs.DirFS(outputs)}, quota}, "/outputs")
	mc := wazero.NewModuleConfig().
		WithName("").         // many instances of one module share the runtime
		WithStartFunctions(). // _start is called by run, not here
		WithArgs(append([]string{wasmProgramName}, job.Spec.Args...)...).
		WithFSConfig(fsConfig).
		WithStdout(h.logs.Writer("stdout")).
		WithStderr(h.logs.Writer("stderr")).
		WithSysWalltime().
		WithSysNanotime().
		WithNanosleep(func(ns int64) { sleepCtx(runCtx, time.Duration(ns)) }).
		WithRandSource(rand.Reader)
	for _, k := range slices.Sorted(maps.Keys(job.Env)) {
		mc = mc.WithEnv(k, job.Env[k])
	}

	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		h.stop()
		return nil, fmt.Errorf("%w: wasm executor closed", ErrUnavailable)
	}
	w.running[h] = struct{}{}
	w.mu.Unlock()

	// A module's own start section runs at instantiation: bound it by
	// both the start's ctx and the run's limits.
	instCtx, instCancel := context.WithCancel(experimental.WithMemoryAllocator(runCtx, h.memory))
	stopAfter := context.AfterFunc(ctx, instCancel)
	mod, err := w.rt.InstantiateModule(instCtx, compiled, mc)
	stopAfter()
	instCancel()
	if err != nil {
		h.stop()
		w.forget(h)
		close(h.done) // for a Close waiting on it
		return nil, fmt.Errorf("%w: instantiate module: %w", ErrBadSpec, err)
	}
	go h.run(runCtx, mod, w.forget)
	go h.watchOutputs(runCtx)
	return h, nil
}

// forget drops a handle whose work ended from the running set.
func (w *Wasm) forget(h *wasmHandle) {
	w.mu.Lock()
	delete(w.running, h)
	w.mu.Unlock()
}

// wasmMemoryMin returns the minimum pages of a module's memory, read from
// its memory section; ok is false when there is none or the module is
// malformed (compiling it then says so).
func wasmMemoryMin(module []byte) (pages uint32, ok bool) {
	r := bytes.NewReader(module)
	if _, err := r.Seek(8, io.SeekStart); err != nil { // magic and version
		return 0, false
	}
	for {
		id, err := r.ReadByte()
		if err != nil {
			return 0, false
		}
		size, err := binary.ReadUvarint(r)
		if err != nil || size > uint64(r.Len()) {
			return 0, false
		}
		if id != 5 { // not the memory section
			r.Seek(int64(size), io.SeekCurrent)
			continue
		}
		count, err := binary.ReadUvarint(r)
		if err != nil || count == 0 {
			return 0, false
		}
		if _, err := r.ReadByte(); err != nil { // flags: max, shared
			return 0, false
		}
		min, err := binary.ReadUvarint(r)
		if err != nil || min > 1<<32-1 {
			return 0, false
		}
		return uint32(min), true
	}
}

// linearMemory backs one module's memory and refuses to grow it past
// limit bytes, noting that it did: wazero then fails the module's
// memory.grow and the module fails its own way (a Go module prints
// "fatal error: out of memory" and exits 2), and the result says the
// memory limit was hit rather than just "exit code 2".
//
// The memory is an anonymous mapping that reserves the whole limit up
// front and is committed page range by page range as the module grows, so
// it grows in place (no copy, no old and new buffers at once), costs the
// provider only the pages the module touched, and is unmapped when the
// module ends. A Go slice grown geometrically cost twice the limit at its
// last growth and stayed in the Go heap after the job (TestWasmMemoryRSS:
// 631 MiB peak and after, for a 256 MiB limit). Where no mapping can be
// made (not unix, or the reservation fails) it falls back to that slice.
type linearMemory struct {
	limit uint64
	hit   atomic.Bool

	mu        sync.Mutex // wazero calls from the module's goroutine; this is insurance
	mapped    []byte     // the reservation, limit bytes, once made
	committed uint64     // how much of mapped is readable and writable
	triedMap  bool
	buf       []byte // the fallback
}

// Allocate implements experimental.MemoryAllocator; wasm has one memory
// per module, so the allocator is the memory.
func (m *linearMemory) Allocate(_, _ uint64) experimental.LinearMemory { return m }

// Reallocate implements experimental.LinearMemory. The returned slice
// keeps its address as it grows when the memory is mapped.
func (m *linearMemory) Reallocate(size uint64) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if size > m.limit {
		m.hit.Store(true)
		return nil
	}
	if !m.triedMap {
		m.triedMap = true
		if b, err := reserveMemory(m.limit); err == nil {
			m.mapped = b
		}
	}
	if m.mapped != nil {
		if size > m.committed {
			if err := commitMemory(m.mapped, m.committed, size); err != nil {
				return nil
			}
			m.committed = size
		}
		return m.mapped[:size:size]
	}
	return m.growSlice(size)
}

// growSlice is the fallback: a Go slice whose capacity grows
// geometrically up to the limit so a memory grown page by page is not
// copied each time.
func (m *linearMemory) growSlice(size uint64) []byte {
	if size > uint64(cap(m.buf)) {
		grown := make([]byte, size, min(max(size, uint64(cap(m.buf))*2), m.limit))
		copy(grown, m.buf)
		m.buf = grown
	}
	m.buf = m.buf[:size]
	return m.buf
}

// Free implements experimental.LinearMemory. wazero calls it once the
// module is closed and runs no more.
func (m *linearMemory) Free() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mapped != nil {
		_ = releaseMemory(m.mapped)
		m.mapped, m.committed = nil, 0
	}
	m.buf = nil
}

// sleepCtx sleeps for d or until ctx ends, so a module asleep in
// poll_oneoff is stopped as quickly as a running one.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// wasmStop is why the executor stopped a module: the cause of its
// context.
type wasmStop struct {
	status Status
	reason string
}

func (e *wasmStop) Error() string { return e.reason }

// errWasmCancelled is the cause of a stop by Cancel.
var errWasmCancelled = &wasmStop{StatusCancelled, "cancelled"}

// wasmHandle is one running module. run owns the module and closes done
// once the result is set; watchOutputs exits when the run's context
// ends, which run ensures before it returns.
type wasmHandle struct {
	limits  Limits
	outputs string
	logs    *Logs
	memory  *linearMemory
	cancel  context.CancelCauseFunc // stops the work with a cause
	stop    func()                  // releases the run's context
	started time.Time

	done   chan struct{}
	result Result // set before done is closed
}

// Wait implements Handle.
func (h *wasmHandle) Wait(ctx context.Context) (Result, error) {
	select {
	case <-h.done:
		return h.result, nil
	case <-ctx.Done():
		return Result{}, fmt.Errorf("wait for wasm module: %w", ctx.Err())
	}
}

// Logs implements Handle.
func (h *wasmHandle) Logs() *Logs { return h.logs }

// Cancel implements Handle. Work that already ended keeps its result.
func (h *wasmHandle) Cancel(ctx context.Context) error {
	h.cancel(errWasmCancelled)
	select {
	case <-h.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cancel wasm module: %w", ctx.Err())
	}
}

// run calls the module's _start, turns how it ended into the result, and
// calls forget with h once the module is closed.
func (h *wasmHandle) run(ctx context.Context, mod api.Module, forget func(*wasmHandle)) {
	defer close(h.done)
	_, err := mod.ExportedFunction("_start").Call(ctx)
	res := Result{Status: StatusSucceeded, ExitCode: 0, Started: h.started, Ended: time.Now()}

	var exit *sys.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() != sys.ExitCodeContextCanceled && exit.ExitCode() != sys.ExitCodeDeadlineExceeded:
		if code := exit.ExitCode(); code != 0 {
			res.Status, res.ExitCode, res.Reason = StatusFailed, int(code), fmt.Sprintf("exit code %d", code)
		}
	case errors.As(err, &exit):
		// Stopped through ctx: its cause, below, says why.
		res.Status, res.ExitCode, res.Reason = StatusFailed, -1, "stopped"
	default:
		// A trap: the first line names it, the rest is the wasm stack.
		msg := err.Error()
		first, _, _ := strings.Cut(msg, "\n")
		res.Status, res.ExitCode, res.Reason = StatusFailed, -1, first
		fmt.Fprintln(h.logs.Writer("stderr"), msg)
	}
	if res.Status == StatusFailed && h.memory.hit.Load() {
		res.Status, res.Reason = StatusLimit, fmt.Sprintf("memory limit of %d MiB reached (%s)", h.limits.MemoryBytes>>20, res.Reason)
	}
	var stop *wasmStop
	if errors.As(context.Cause(ctx), &stop) {
		res.Status, res.ExitCode, res.Reason = stop.status, -1, stop.reason
	}
	h.stop() // ends watchOutputs; keeps any cause already set
	mod.Close(context.Background())
	forget(h)

	if problem := checkWasmOutputs(h.outputs, h.limits.OutputBytes, true); problem != nil && (res.Status == StatusSucceeded || res.Status == StatusFailed) {
		res.Status, res.ExitCode, res.Reason = problem.status, -1, problem.reason
	}
	h.logs.Close()
	h.result = res
}

// watchOutputs stops the module once its /outputs/ folder is over the
// limit, measuring it every outputsCheckEvery until ctx ends.
func (h *wasmHandle) watchOutputs(ctx context.Context) {
	t := time.NewTicker(outputsCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if problem := checkWasmOutputs(h.outputs, h.limits.OutputBytes, false); problem != nil {
				h.cancel(problem)
				return
			}
		}
	}
}

// checkWasmOutputs measures the outputs folder without following links:
// over limit bytes of files is StatusLimit; a symlink (which the module
// cannot make, see confinedFS) is StatusFailed and, with remove, is
// deleted so nothing that later reads the outputs follows it off the
// folder. It returns nil when all is well.
func checkWasmOutputs(root string, limit int64, remove bool) *wasmStop {
	var total int64
	var links []string
	errOver := errors.New("over")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			rel, _ := filepath.Rel(root, path)
			links = append(links, rel)
			if remove {
				os.Remove(path)
			}
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if total += fi.Size(); total > limit {
				return errOver
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errOver):
		return &wasmStop{StatusLimit, fmt.Sprintf("outputs over %d bytes", limit)}
	case len(links) > 0:
		return &wasmStop{StatusFailed, fmt.Sprintf("outputs hold symlinks %q: only files and folders are allowed", links)}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return &wasmStop{StatusFailed, fmt.Sprintf("read outputs: %v", err)}
	}
	return nil
}

// confinedFS is a writable host folder that refuses symlinks. wazero's
// own dir mount (v1.12.0) lets a module create a symlink with a relative
// target such as "../../../etc/passwd" and then read the host file
// through it; TestWasmEscape tries. Hard links stay within the mount:
// wazero refuses links across mounts.
type confinedFS struct{ experimentalsys.FS }

// Symlink refuses every symlink.
func (confinedFS) Symlink(_, _ string) experimentalsys.Errno { return experimentalsys.EPERM }

// Wasm implements Executor.
var _ Executor = (*Wasm)(nil)
