package run

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"

	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/p2p/frame"
	"github.com/gpumesh/gpumesh/scheduler/executor"
)

// pendingStreams is how many run streams are not yet authorized.
func (s *Server) pendingStreams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.npend
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// smallNode is a node whose resource manager gives the run protocol the
// 64 MiB of a node with little memory (the default protocol base limit):
// a dozen runs' reservations fill it.
func smallNode(t *testing.T) node {
	t.Helper()
	return limitedNode(t, 64<<20)
}

// limitedNode is a node whose run protocol may reserve mem bytes.
func limitedNode(t *testing.T, mem int64) node {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	limits.AddProtocolLimit(Protocol,
		rcmgr.BaseLimit{StreamsInbound: 512, StreamsOutbound: 2048, Streams: 2048, Memory: mem}, rcmgr.BaseLimitIncrease{})
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.AutoScale()))
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.ResourceManager(rm))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return node{h, key}
}

// stall opens a run stream from a to b, sends one byte of a request and
// sends nothing more.
func stall(t *testing.T, a node, b peer.ID) network.Stream {
	t.Helper()
	st, err := a.NewStream(t.Context(), b, Protocol)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write([]byte{0x80}); err != nil { // the first byte of a long frame's length
		t.Fatal(err)
	}
	return st
}

// readAck reads the provider's answer on st, within d.
func readAck(st network.Stream, d time.Duration) (Ack, error) {
	_ = st.SetReadDeadline(time.Now().Add(d))
	b, err := frame.Read(bufio.NewReader(st), maxAckBytes)
	if err != nil {
		return Ack{}, err
	}
	return decodeAck(b)
}

// Item 2 of issue 16: a dozen fresh identities each holding a stalled run
// stream (one byte sent) once filled a provider's run slots, each with
// the 5 MiB of a run reserved before its request was even read; an honest
// run then failed. Streams not yet authorized now reserve MaxRequestBytes
// only and are bounded per peer and in all, and the honest run goes
// through while they stall.
func TestRunSlotExhaustion(t *testing.T) {
	module := wasmModule(t, "copy")
	prov := newProviderOn(t, smallNode(t), nil, ServerConfig{RequestTimeout: time.Minute})

	var stalled []network.Stream
	for range 12 {
		a := newNode(t)
		connect(a, prov.node)
		stalled = append(stalled, stall(t, a, prov.ID()))
	}
	greedy := newNode(t) // one identity trying more than its share
	connect(greedy, prov.node)
	for range DefaultMaxPendingPerPeer {
		stalled = append(stalled, stall(t, greedy, prov.ID()))
	}
	waitFor(t, 10*time.Second, "stalled streams held", func() bool { return prov.srv.pendingStreams() == len(stalled) })

	over := stall(t, greedy, prov.ID())
	ack, err := readAck(over, 10*time.Second)
	if err != nil || ack.OK || !ack.Busy || !strings.Contains(ack.Reason, "too many unauthenticated") {
		t.Fatalf("a stream past the per-peer bound got %+v, %v; want a busy refusal", ack, err)
	}

	var mem int64
	_ = prov.Network().ResourceManager().ViewProtocol(Protocol, func(s network.ProtocolScope) error {
		mem = s.Stat().Memory
		return nil
	})
	if limit := int64(len(stalled)) * MaxRequestBytes; mem > limit {
		t.Errorf("stalled streams reserve %d bytes of the run protocol, over %d (MaxRequestBytes each)", mem, limit)
	}

	n := newNode(t)
	connect(n, prov.node)
	in := writeFile(t, "in.txt", "honest\n")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	out, err := Run(ctx, n, n.key, prov.ID(), wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()}),
		map[string]string{ModuleFile: module, "inputs/in.txt": in}, t.TempDir(), nil)
	if err != nil {
		t.Fatalf("honest run among stalled streams: %v", err)
	}
	if res := out.Results[0]; res.Status != executor.StatusSucceeded {
		t.Fatalf("honest run: %+v", res)
	}
	if got := prov.srv.pendingStreams(); got != len(stalled) {
		t.Errorf("%d streams pending after the honest run, want the %d stalled ones still held", got, len(stalled))
	}
	if begins, _ := prov.auth.calls(); len(begins) != 1 {
		t.Errorf("authorizer asked %d times (%v), want once: the honest run", len(begins), begins)
	}
}

// Strangers that fill the bound on unauthorized streams shared by every
// peer (MaxPending) keep out only other strangers: a peer holding an award
// here is bounded per peer alone, and its run goes ahead.
func TestAwardedRequesterPassesStrangersAtTheSharedBound(t *testing.T) {
	module := wasmModule(t, "copy")
	prov := newProviderOn(t, smallNode(t), nil, ServerConfig{RequestTimeout: time.Minute, MaxPending: 2})
	for range 2 {
		a := newNode(t)
		connect(a, prov.node)
		stall(t, a, prov.ID())
	}
	waitFor(t, 10*time.Second, "stalled streams held", func() bool { return prov.srv.pendingStreams() == 2 })
	stranger := newNode(t)
	connect(stranger, prov.node)
	if ack, err := readAck(stall(t, stranger, prov.ID()), 10*time.Second); err != nil || ack.OK || !ack.Busy {
		t.Fatalf("a stranger past the shared bound got %+v, %v; want a busy refusal", ack, err)
	}

	n := newNode(t)
	connect(n, prov.node)
	prov.auth.mu.Lock()
	prov.auth.awarded = map[peer.ID]bool{n.ID(): true}
	prov.auth.mu.Unlock()
	in := writeFile(t, "in.txt", "awarded\n")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	out, err := Run(ctx, n, n.key, prov.ID(), wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()}),
		map[string]string{ModuleFile: module, "inputs/in.txt": in}, t.TempDir(), nil)
	if err != nil {
		t.Fatalf("awarded run with the shared bound full: %v", err)
	}
	if res := out.Results[0]; res.Status != executor.StatusSucceeded {
		t.Fatalf("awarded run: %+v", res)
	}
	if got := prov.srv.pendingStreams(); got != 2 {
		t.Errorf("%d strangers' streams counted after the awarded run, want the 2 stalled ones", got)
	}
}

// A stream that sends part of a request and stalls is answered within
// RequestTimeout, not the 30 s of a stream's reads.
func TestStalledRequestTimesOut(t *testing.T) {
	prov := newProvider(t, ServerConfig{RequestTimeout: 300 * time.Millisecond})
	a := newNode(t)
	connect(a, prov.node)
	st := stall(t, a, prov.ID())
	ack, err := readAck(st, 10*time.Second)
	if err != nil {
		t.Fatalf("no answer to a stalled request: %v", err)
	}
	if ack.OK || !strings.Contains(ack.Reason, "read run request") {
		t.Fatalf("answer %+v, want a refusal of the unread request", ack)
	}
	waitFor(t, 5*time.Second, "pending stream released", func() bool { return prov.srv.pendingStreams() == 0 })
}

// A busy refusal reaches Run as ErrBusy (and ErrRefused): not a lost
// provider.
func TestBusyRefusal(t *testing.T) {
	module := wasmModule(t, "copy")
	prov := newProvider(t, ServerConfig{RequestTimeout: time.Minute, MaxPending: 1})
	a := newNode(t)
	connect(a, prov.node)
	stall(t, a, prov.ID())
	waitFor(t, 10*time.Second, "stalled stream held", func() bool { return prov.srv.pendingStreams() == 1 })
	n := newNode(t)
	connect(n, prov.node)
	in := writeFile(t, "in.txt", "x")
	_, err := Run(t.Context(), n, n.key, prov.ID(), wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()}),
		map[string]string{ModuleFile: module, "inputs/in.txt": in}, t.TempDir(), nil)
	if !errors.Is(err, ErrBusy) || !errors.Is(err, ErrRefused) || errors.Is(err, ErrProviderLost) {
		t.Fatalf("err %v, want ErrBusy and ErrRefused", err)
	}
}

// sparseExec runs the wrapped executor's work and, once it ended, leaves
// a sparse file of size bytes (no disk used) among its outputs; ended is
// closed then.
type sparseExec struct {
	executor.Executor
	size  int64
	ended chan struct{}
}

func (e *sparseExec) Start(ctx context.Context, job executor.Job) (executor.Handle, error) {
	h, err := e.Executor.Start(ctx, job)
	if err != nil {
		return nil, err
	}
	return &sparseHandle{Handle: h, e: e, path: filepath.Join(job.Dir, "outputs", "big.bin")}, nil
}

type sparseHandle struct {
	executor.Handle
	e    *sparseExec
	path string
}

func (h *sparseHandle) Wait(ctx context.Context) (executor.Result, error) {
	res, err := h.Handle.Wait(ctx)
	if f, cerr := os.Create(h.path); cerr == nil {
		_ = f.Truncate(h.e.size)
		_ = f.Close()
	}
	close(h.e.ended)
	return res, err
}

// sparseProvider serves runs whose outputs gain a sparse file of size.
func sparseProvider(t *testing.T, size int64, cfg ServerConfig) (*provider, *sparseExec) {
	t.Helper()
	se := &sparseExec{size: size, ended: make(chan struct{})}
	prov := newProviderOn(t, newNode(t), func(e executor.Executor) executor.Executor { se.Executor = e; return se }, cfg)
	return prov, se
}

// Item 3 of issue 16: an 8 GiB sparse output was hashed byte by byte
// while no heartbeat went out, and the provider was declared lost. An
// output over the budget by its apparent size is listed truncated,
// unread (no digest), and the run ends well within the requester's
// tolerance of one heartbeat.
func TestSparseOutputNotRead(t *testing.T) {
	module := wasmModule(t, "copy")
	prov, _ := sparseProvider(t, 8<<30, ServerConfig{Heartbeat: 200 * time.Millisecond})
	n := newNode(t)
	connect(n, prov.node)
	in := writeFile(t, "in.txt", "small\n")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	out, err := Run(ctx, n, n.key, prov.ID(), wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()}),
		map[string]string{ModuleFile: module, "inputs/in.txt": in}, t.TempDir(), nil, WithTolerance(2))
	if err != nil {
		t.Fatalf("run with a sparse 8 GiB output: %v", err)
	}
	var big *File
	for i, f := range out.Outputs[0] {
		if f.Name == "big.bin" {
			big = &out.Outputs[0][i]
		}
	}
	if big == nil || !big.Truncated || big.Size != 8<<30 || big.Digest != "" {
		t.Fatalf("outputs %+v, want big.bin listed truncated at 8 GiB, unread (no digest)", out.Outputs[0])
	}
}

// Heartbeats go out while the provider hashes a large output, and the
// requester's cancel stops the hashing at once: 32 GiB (sparse) within
// the budget would take the provider many seconds to hash.
func TestHeartbeatsWhileHashingAndCancel(t *testing.T) {
	module := wasmModule(t, "copy")
	prov, se := sparseProvider(t, 32<<30, ServerConfig{Heartbeat: 200 * time.Millisecond, MaxOutputBytes: 64 << 30})
	n := newNode(t)
	connect(n, prov.node)
	in := writeFile(t, "in.txt", "small\n")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	beats := make(chan struct{}, 64)
	onEvent := func(ev Event) {
		select {
		case <-se.ended:
			if ev.Kind == KindHeartbeat {
				beats <- struct{}{}
			}
		default:
		}
	}
	errc := make(chan error, 1)
	go func() {
		_, err := Run(ctx, n, n.key, prov.ID(), wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()}),
			map[string]string{ModuleFile: module, "inputs/in.txt": in}, t.TempDir(), onEvent, WithTolerance(3))
		errc <- err
	}()
	for i := range 4 {
		select {
		case <-beats:
		case err := <-errc:
			t.Fatalf("run ended after %d heartbeats while the output was hashed: %v", i, err)
		case <-time.After(20 * time.Second):
			t.Fatalf("%d heartbeats while the output was hashed", i)
		}
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v, want cancelled", err)
	}
	select {
	case reason := <-prov.auth.ended:
		if reason == "completed" {
			t.Fatalf("run ended %q, want stopped", reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the provider still hashing 5 s after the cancel")
	}
}

// The node's resource limits give the run protocol room for every stream
// not yet authorized on top of what other protocols get, so that those
// streams cannot take the memory of authorized runs.
func TestRunProtocolLimits(t *testing.T) {
	if p2p.RunProtocol != Protocol || p2p.RunPendingMemory != DefaultMaxPending*MaxRequestBytes {
		t.Fatalf("p2p's run protocol %s with %d bytes pending, want %s with %d", p2p.RunProtocol, p2p.RunPendingMemory,
			Protocol, DefaultMaxPending*MaxRequestBytes)
	}
	for _, mb := range []int{64, 1024} {
		c := p2p.ResourceLimits(mb, 1024).ToPartialLimitConfig()
		run, other := int64(c.Protocol[Protocol].Memory), int64(c.ProtocolDefault.Memory)
		if run < other+p2p.RunPendingMemory || other < 8*RunMemory {
			t.Errorf("%d MB: run protocol memory %d, others %d: want others' plus %d, and room for 8 runs", mb, run, other, p2p.RunPendingMemory)
		}
	}
}

// A run refused for want of memory is a busy refusal that holds nothing:
// the award was checked (RunChecker) but not taken (BeginRun), so the
// requester may come back.
func TestNoMemoryRefusalHoldsNothing(t *testing.T) {
	module := wasmModule(t, "copy")
	prov := newProviderOn(t, limitedNode(t, MaxRequestBytes+RunMemory/2), nil, ServerConfig{})
	n := newNode(t)
	connect(n, prov.node)
	in := writeFile(t, "in.txt", "x")
	_, err := Run(t.Context(), n, n.key, prov.ID(), wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()}),
		map[string]string{ModuleFile: module, "inputs/in.txt": in}, t.TempDir(), nil)
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "no memory") {
		t.Fatalf("err %v, want a busy refusal for want of memory", err)
	}
	if begins, ends := prov.auth.calls(); len(begins) != 0 || len(ends) != 0 {
		t.Errorf("BeginRun %v, EndRun %v: want neither", begins, ends)
	}
}
