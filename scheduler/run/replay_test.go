package run

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/scheduler/executor"
)

// newFaultyProvider is a provider whose runs misbehave with f.
func newFaultyProvider(t *testing.T, f faults, heartbeat time.Duration) *provider {
	t.Helper()
	n := newNode(t)
	auth := newFakeAuth()
	rec := &recordingExec{Executor: testWasm(t)}
	srv := NewServer(n, map[string]executor.Executor{"wasm": rec}, auth, ServerConfig{Dir: t.TempDir(), Heartbeat: heartbeat, Knobs: f.knobs()}, nil)
	srv.Start(context.Background())
	t.Cleanup(func() { srv.Close() })
	return &provider{node: n, srv: srv, auth: auth, exec: rec}
}

// TestReplayAudits: Replay gives the result digest an honest provider's
// run of the same rank states, and not the one of a provider that alters
// its outputs (whose result is otherwise honest: its own RunEnd digest is
// the one the requester computes from what it received).
func TestReplayAudits(t *testing.T) {
	module := wasmModule(t, "copy")
	in := writeFile(t, "in.txt", "audit me\n")
	files := map[string]string{"inputs/in.txt": in}
	moduleBytes, err := os.ReadFile(module)
	if err != nil {
		t.Fatal(err)
	}
	honest, liar := newProvider(t, ServerConfig{}), newFaultyProvider(t, faults{AlterOutputs: true}, time.Second)
	n := newNode(t)
	connect(n, honest.node)
	connect(n, liar.node)
	job := jobID(t)
	peers := []peer.ID{honest.ID(), liar.ID()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	digests := map[string]string{}
	for name, p := range map[string]struct {
		prov *provider
		rank int
	}{"honest": {honest, 0}, "liar": {liar, 1}} {
		req := wasmRequest(job, []int{p.rank}, peers, "a", "b c")
		req.Spec.Wasm.Module = moduleBytes
		out := t.TempDir()
		o, err := Run(ctx, n, n.key, p.prov.ID(), req, files, out, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := ResultDigest(o.Results[p.rank], o.Outputs[p.rank])
		p.prov.auth.waitEnd(t)
		p.prov.auth.mu.Lock()
		sent := p.prov.auth.runs[0].Results[p.rank].Digest
		p.prov.auth.mu.Unlock()
		if sent != got {
			t.Errorf("%s: the provider's RunEnd digest %s, the requester's %s", name, sent, got)
		}
		b, _ := os.ReadFile(filepath.Join(out, "rank-"+strconv.Itoa(p.rank), "out.txt"))
		t.Logf("%s: rank %d out.txt %q, digest %s", name, p.rank, b, got)

		res, outs, err := Replay(ctx, testWasm(t), req, p.rank, files, filepath.Join(t.TempDir(), "replay"), 0)
		if err != nil {
			t.Fatalf("%s: replay: %v", name, err)
		}
		digests[name] = ResultDigest(res, outs)
		if name == "honest" && (digests[name] != got || !bytes.Equal(b, []byte("AUDIT ME\n"))) {
			t.Errorf("honest: replay digest %s, the provider's %s (output %q)", digests[name], got, b)
		}
		if name == "liar" && (digests[name] == got || bytes.Equal(b, []byte("AUDIT ME\n"))) {
			t.Errorf("liar: replay digest %s, the provider's %s (output %q): the alteration went unseen", digests[name], got, b)
		}
	}
	// The two ranks' honest digests are equal: the copy module's outputs
	// do not depend on the rank.
	if digests["honest"] != digests["liar"] {
		t.Errorf("replays of ranks 0 and 1: %s, %s", digests["honest"], digests["liar"])
	}
	if _, _, err := Replay(ctx, testWasm(t), wasmRequest(job, []int{0}, peers), 1, files, t.TempDir(), 0); err == nil {
		t.Error("replay of a rank the request does not hold: no error")
	}
}

// TestProviderNeverAnswers: a provider that holds the request without an
// answer is lost after WithAnswerTimeout, having served nothing.
func TestProviderNeverAnswers(t *testing.T) {
	prov := newFaultyProvider(t, faults{NeverAnswer: true}, time.Second)
	n := newNode(t)
	connect(n, prov.node)
	r := wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()})
	r.Spec.Wasm.Module = []byte("\x00asm not really")
	start := time.Now()
	o, err := Run(t.Context(), n, n.key, prov.ID(), r, nil, t.TempDir(), nil, WithAnswerTimeout(300*time.Millisecond))
	took := time.Since(start)
	if !errors.Is(err, ErrProviderLost) || !o.Started.IsZero() {
		t.Fatalf("got %v, started %v; want ErrProviderLost before any start", err, o.Started)
	}
	if took > 3*time.Second {
		t.Errorf("lost after %s, want about 300ms", took)
	}
	if reason := prov.auth.waitEnd(t); reason != "fault: never answered" {
		t.Errorf("EndRun reason %q", reason)
	}
	t.Logf("lost after %s: %v", took.Round(time.Millisecond), err)
}

// TestProviderNeverRuns: a provider that answers, takes the files and
// then sends nothing is lost after HeartbeatTolerance heartbeats, having
// been heard from only when it answered; nothing ran.
func TestProviderNeverRuns(t *testing.T) {
	prov := newFaultyProvider(t, faults{NeverRun: true}, 100*time.Millisecond)
	n := newNode(t)
	connect(n, prov.node)
	r := wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()})
	r.Spec.Wasm.Module = []byte("\x00asm not really")
	start := time.Now()
	o, err := Run(t.Context(), n, n.key, prov.ID(), r, nil, t.TempDir(), nil)
	took := time.Since(start)
	if !errors.Is(err, ErrProviderLost) || o.Started.IsZero() || !o.LastHeard.Equal(o.Started) {
		t.Fatalf("got %v, started %v, last heard %v; want ErrProviderLost, heard from only at the start", err, o.Started, o.LastHeard)
	}
	if took > 3*time.Second {
		t.Errorf("lost after %s, want about 300ms", took)
	}
	if cancels, results := prov.exec.counts(); cancels != 0 || len(results) != 0 {
		t.Errorf("the executor ran: %d cancels, results %v", cancels, results)
	}
	t.Logf("lost after %s: %v", took.Round(time.Millisecond), err)
}
