package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
)

// wasmModule returns the path of ../executor/testdata/wasm/<name> built
// as a WASI module (see executortest).
func wasmModule(tb testing.TB, name string) string {
	tb.Helper()
	return executortest.WasmModule(tb, name)
}

var (
	wasmOnce sync.Once
	wasmExec *executor.Wasm
	wasmErr  error
)

// testWasm is a wasm executor shared by the tests, caching compiled
// modules in os.TempDir across runs.
func testWasm(tb testing.TB) *executor.Wasm {
	tb.Helper()
	wasmOnce.Do(func() {
		wasmExec, wasmErr = executor.NewWasm(executor.WasmConfig{CacheDir: filepath.Join(os.TempDir(), "gpumesh-run-wasm-cache")})
	})
	if wasmErr != nil {
		tb.Fatal(wasmErr)
	}
	return wasmExec
}

// node is a libp2p host on loopback with its key.
type node struct {
	host.Host
	key crypto.PrivKey
}

func newNode(t *testing.T) node {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return node{h, key}
}

// connect tells a where b listens.
func connect(a, b node) {
	a.Peerstore().AddAddrs(b.ID(), b.Addrs(), time.Hour)
}

// fakeAuth records BeginRun and EndRun and refuses with refuse if set.
type fakeAuth struct {
	mu     sync.Mutex
	refuse error
	begins []string // "job requester ranks"
	ends   []string // reasons
	runs   []RunEnd
	ended  chan string
	// awarded are the peers HoldsAward names (AwardHolder).
	awarded map[peer.ID]bool
	// grant is what BeginRun and CheckRun grant.
	grant Grant
}

func newFakeAuth() *fakeAuth { return &fakeAuth{ended: make(chan string, 16)} }

func (a *fakeAuth) BeginRun(job string, requester peer.ID, ranks []int) (Grant, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.begins = append(a.begins, fmt.Sprintf("%s %s %v", job, requester, ranks))
	return a.grant, a.refuse
}

// CheckRun refuses as BeginRun would, holding nothing (RunChecker).
func (a *fakeAuth) CheckRun(job string, requester peer.ID, ranks []int) (Grant, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.grant, a.refuse
}

// HoldsAward reports the peers the test set in awarded (AwardHolder).
func (a *fakeAuth) HoldsAward(requester peer.ID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.awarded[requester]
}

func (a *fakeAuth) EndRun(job string, requester peer.ID, end RunEnd) {
	a.mu.Lock()
	a.ends = append(a.ends, end.Reason)
	a.runs = append(a.runs, end)
	a.mu.Unlock()
	a.ended <- end.Reason
}

func (a *fakeAuth) calls() (begins, ends []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.begins), slices.Clone(a.ends)
}

// waitEnd waits for an EndRun and returns its reason.
func (a *fakeAuth) waitEnd(t *testing.T) string {
	t.Helper()
	select {
	case r := <-a.ended:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("EndRun was not called within 20s")
		return ""
	}
}

// provider is a node serving the run protocol with the wasm executor.
type provider struct {
	node
	srv  *Server
	auth *fakeAuth
	exec *recordingExec
	dir  string
}

func newProvider(t *testing.T, cfg ServerConfig) *provider {
	t.Helper()
	return newProviderOn(t, newNode(t), nil, cfg)
}

// newProviderOn serves the run protocol on n with the wasm executor,
// wrapped by wrap if not nil.
func newProviderOn(t *testing.T, n node, wrap func(executor.Executor) executor.Executor, cfg ServerConfig) *provider {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = time.Second // generous: tests share 2 cores with others
	}
	auth := newFakeAuth()
	rec := &recordingExec{Executor: testWasm(t)}
	var ex executor.Executor = rec
	if wrap != nil {
		ex = wrap(rec)
	}
	srv := NewServer(n, map[string]executor.Executor{"wasm": ex}, auth, cfg, nil)
	srv.Start(context.Background())
	t.Cleanup(func() { srv.Close() })
	return &provider{node: n, srv: srv, auth: auth, exec: rec, dir: cfg.Dir}
}

// jobID is a fresh job ID for test name.
func jobID(t *testing.T) string {
	sum := sha256.Sum256([]byte(t.Name() + time.Now().String()))
	return hex.EncodeToString(sum[:16])
}

// wasmRequest is a request for ranks of a world run by peers, running
// the module given as a file.
func wasmRequest(job string, ranks []int, peers []peer.ID, args ...string) *RunRequest {
	ps := make([]string, len(peers))
	for i, p := range peers {
		ps[i] = p.String()
	}
	return &RunRequest{Job: job, Ranks: ranks, WorldSize: len(peers), Peers: ps,
		Spec: executor.Spec{Version: executor.SpecVersion, Executor: "wasm", Wasm: &executor.WasmSpec{}, Args: args}}
}

// writeFile writes content to a new file in a temporary folder.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// events collects events safely.
type events struct {
	mu  sync.Mutex
	evs []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
}

func (e *events) all() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.evs)
}

// recordingExec wraps an executor and counts the Cancel calls on the
// handles it started.
type recordingExec struct {
	executor.Executor
	mu      sync.Mutex
	cancels int
	results []executor.Result
	jobs    []executor.Job // every job Start was given
}

func (r *recordingExec) Start(ctx context.Context, job executor.Job) (executor.Handle, error) {
	r.mu.Lock()
	r.jobs = append(r.jobs, job)
	r.mu.Unlock()
	h, err := r.Executor.Start(ctx, job)
	if err != nil {
		return nil, err
	}
	return &recordingHandle{Handle: h, r: r}, nil
}

// started is every job Start was given.
func (r *recordingExec) started() []executor.Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.jobs)
}

func (r *recordingExec) counts() (int, []executor.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cancels, slices.Clone(r.results)
}

type recordingHandle struct {
	executor.Handle
	r *recordingExec
}

func (h *recordingHandle) Cancel(ctx context.Context) error {
	h.r.mu.Lock()
	h.r.cancels++
	h.r.mu.Unlock()
	return h.Handle.Cancel(ctx)
}

func (h *recordingHandle) Wait(ctx context.Context) (executor.Result, error) {
	res, err := h.Handle.Wait(ctx)
	if err == nil {
		h.r.mu.Lock()
		h.r.results = append(h.r.results, res)
		h.r.mu.Unlock()
	}
	return res, err
}
