package run

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p/frame"
	"github.com/gpumesh/gpumesh/scheduler/executor"
)

// A 3-worker cluster: ranks 0 and 1 on one provider, rank 2 on another.
// Every output comes back with its digest, logs come with their ranks,
// and each provider's authorizer sees one BeginRun and one EndRun.
func TestRunThreeWorkers(t *testing.T) {
	module := wasmModule(t, "copy")
	a, b := newProvider(t, ServerConfig{}), newProvider(t, ServerConfig{})
	req := newNode(t)
	connect(req, a.node)
	connect(req, b.node)
	job := jobID(t)
	peers := []peer.ID{a.ID(), a.ID(), b.ID()}
	in := writeFile(t, "in.txt", "hello mesh\n")
	files := map[string]string{ModuleFile: module, "inputs/in.txt": in}
	outDir := t.TempDir()

	type got struct {
		out Outcome
		err error
		evs *events
	}
	results := map[peer.ID]*got{}
	var wg sync.WaitGroup
	for _, p := range []struct {
		prov  *provider
		ranks []int
	}{{a, []int{0, 1}}, {b, []int{2}}} {
		g := &got{evs: &events{}}
		results[p.prov.ID()] = g
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			g.out, g.err = Run(ctx, req, req.key, p.prov.ID(), wasmRequest(job, p.ranks, peers, "x", "y z"), files, outDir, g.evs.add)
		})
	}
	wg.Wait()

	want := []byte("HELLO MESH\n")
	for _, p := range []struct {
		prov  *provider
		ranks []int
	}{{a, []int{0, 1}}, {b, []int{2}}} {
		g := results[p.prov.ID()]
		if g.err != nil {
			t.Fatalf("run on %s: %v", p.prov.ID(), g.err)
		}
		if g.out.Started.IsZero() || g.out.Ended.Before(g.out.Started) {
			t.Errorf("started %v, ended %v", g.out.Started, g.out.Ended)
		}
		for _, rk := range p.ranks {
			res, ok := g.out.Results[rk]
			if !ok || res.Status != executor.StatusSucceeded {
				t.Errorf("rank %d: result %+v (present %t), want succeeded", rk, res, ok)
			}
			outs := g.out.Outputs[rk]
			if len(outs) != 1 || outs[0].Name != "out.txt" || outs[0].Digest != sha(want) || outs[0].Size != int64(len(want)) || outs[0].Truncated {
				t.Errorf("rank %d: outputs %+v, want out.txt with %s", rk, outs, sha(want))
			}
			body, err := os.ReadFile(filepath.Join(outDir, fmt.Sprintf("rank-%d", rk), "out.txt"))
			if err != nil || string(body) != string(want) {
				t.Errorf("rank %d: out.txt %q (%v), want %q", rk, body, err, want)
			}
			// Logs: the rank's own line, on its rank; the arguments came through.
			var rankLine, argsLine, running bool
			for _, ev := range g.evs.all() {
				if ev.Rank != rk {
					continue
				}
				switch {
				case ev.Kind == KindLog && ev.Line.Text == fmt.Sprintf("rank=%d", rk):
					rankLine = true
				case ev.Kind == KindLog && ev.Line.Text == `args=["x" "y z"]`:
					argsLine = true
				case ev.Kind == KindState && ev.State == StateRunning:
					running = true
				}
			}
			if !rankLine || !argsLine || !running {
				t.Errorf("rank %d: log of its rank %t, of its args %t, running state %t; events %+v", rk, rankLine, argsLine, running, g.evs.all())
			}
		}
		for _, ev := range g.evs.all() {
			if ev.Kind == KindLog && !containsInt(p.ranks, ev.Rank) {
				t.Errorf("a log event of rank %d from the provider of %v", ev.Rank, p.ranks)
			}
		}
		if evs := g.evs.all(); len(evs) == 0 || evs[len(evs)-1].Kind != KindEnd {
			t.Errorf("last event is not the end: %+v", evs)
		}
		if r := p.prov.auth.waitEnd(t); r != "completed" {
			t.Errorf("EndRun reason %q, want completed", r)
		}
		begins, ends := p.prov.auth.calls()
		wantBegin := fmt.Sprintf("%s %s %v", job, req.ID(), p.ranks)
		if len(begins) != 1 || begins[0] != wantBegin || len(ends) != 1 {
			t.Errorf("begins %q, ends %q; want one begin %q and one end", begins, ends, wantBegin)
		}
		// The provider's record of what it served states the same results
		// the requester received: the receipt's result digest.
		p.prov.auth.mu.Lock()
		run := p.prov.auth.runs[0]
		p.prov.auth.mu.Unlock()
		if run.Started.IsZero() || !run.Ended.After(run.Started) || len(run.Results) != len(p.ranks) {
			t.Errorf("provider's run end %+v", run)
		}
		for _, rk := range p.ranks {
			want := ResultDigest(g.out.Results[rk], g.out.Outputs[rk])
			if got := run.Results[rk].Digest; got != want {
				t.Errorf("rank %d: provider's result digest %s, requester's %s", rk, got, want)
			}
		}
		if _, err := os.Stat(filepath.Join(p.prov.dir, job)); !os.IsNotExist(err) {
			t.Errorf("job folder left behind on the provider: %v", err)
		}
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// A request signed by a key other than the stream's peer's is refused.
func TestForgedSignerRefused(t *testing.T) {
	module := wasmModule(t, "copy")
	prov := newProvider(t, ServerConfig{})
	req, other := newNode(t), newNode(t)
	connect(req, prov.node)
	r := wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()})
	_, err := Run(t.Context(), req, other.key, prov.ID(), r, map[string]string{ModuleFile: module}, t.TempDir(), nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "signed by someone else") {
		t.Fatalf("got %v, want ErrRefused: signed by someone else", err)
	}
	if begins, _ := prov.auth.calls(); len(begins) != 0 {
		t.Errorf("BeginRun called: %q", begins)
	}
}

// The authorizer's refusal is the requester's reason, and nothing runs.
func TestAuthorizerRefusal(t *testing.T) {
	module := wasmModule(t, "copy")
	prov := newProvider(t, ServerConfig{Keep: true})
	prov.auth.refuse = errors.New("no accepted award for this job")
	req := newNode(t)
	connect(req, prov.node)
	job := jobID(t)
	in := writeFile(t, "in.txt", "x")
	_, err := Run(t.Context(), req, req.key, prov.ID(), wasmRequest(job, []int{0}, []peer.ID{prov.ID()}),
		map[string]string{ModuleFile: module, "inputs/in.txt": in}, t.TempDir(), nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "no accepted award for this job") {
		t.Fatalf("got %v, want ErrRefused with the authorizer's reason", err)
	}
	begins, ends := prov.auth.calls()
	if len(begins) != 0 || len(ends) != 0 { // refused by CheckRun: nothing held
		t.Errorf("begins %q, ends %q: want neither", begins, ends)
	}
	if _, err := os.Stat(filepath.Join(prov.dir, job)); !os.IsNotExist(err) {
		t.Errorf("a job folder exists for a refused job: %v", err)
	}
}

// Refusals the provider makes from the request alone: an executor it
// does not offer, a file over its limit (before any byte is read), a rank
// that is not its own.
func TestRefusedByRequest(t *testing.T) {
	module := wasmModule(t, "copy")
	prov := newProvider(t, ServerConfig{MaxFileBytes: 16})
	req := newNode(t)
	connect(req, prov.node)
	small := writeFile(t, "small", "tiny")
	big := writeFile(t, "big", strings.Repeat("x", 100))
	for _, tc := range []struct {
		name   string
		mutate func(r *RunRequest)
		files  map[string]string
		want   string
	}{
		{"executor not offered", func(r *RunRequest) {
			r.Spec = executor.Spec{Version: executor.SpecVersion, Executor: "process", Process: &executor.ProcessSpec{Command: "sh"}}
		}, map[string]string{"inputs/a": small}, "executor process not offered"},
		{"oversized file", nil, map[string]string{ModuleFile: small, "inputs/big": big}, "size 100 over the limit of 16"},
		{"oversized module", nil, map[string]string{ModuleFile: module}, "over the limit of 16"},
		{"not its rank", func(r *RunRequest) {
			r.WorldSize, r.Ranks, r.Peers = 2, []int{1}, []string{prov.ID().String(), req.ID().String()}
		}, map[string]string{ModuleFile: small}, "rank 1 is not this provider's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()})
			if tc.mutate != nil {
				tc.mutate(r)
			}
			_, err := Run(t.Context(), req, req.key, prov.ID(), r, tc.files, t.TempDir(), nil)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrRefused: %s", err, tc.want)
			}
		})
	}
	if begins, _ := prov.auth.calls(); len(begins) != 0 {
		t.Errorf("BeginRun called for refused requests: %q", begins)
	}
}

// An unsafe input name is refused by Validate: locally by Run, and by the
// provider when a requester sends it anyway.
func TestUnsafeInputName(t *testing.T) {
	module := wasmModule(t, "copy")
	prov := newProvider(t, ServerConfig{})
	req := newNode(t)
	connect(req, prov.node)
	bad := writeFile(t, "x", "x")
	r := wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()})
	_, err := Run(t.Context(), req, req.key, prov.ID(), r, map[string]string{ModuleFile: module, "inputs/../x": bad}, t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), `"inputs/../x"`) {
		t.Fatalf("got %v, want a refusal of inputs/../x", err)
	}

	// Bypass Run's checks: sign the bad request and send it raw.
	signed, _, err := prepare(r, map[string]string{ModuleFile: module}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	signed.Files = append(signed.Files, File{Name: "inputs/../x", Digest: sha([]byte("x")), Size: 1})
	ack := rawRequest(t, req, prov.ID(), signed)
	if ack.OK || !strings.Contains(ack.Reason, `"inputs/../x"`) {
		t.Fatalf("ack %+v, want a refusal of inputs/../x", ack)
	}
	if begins, _ := prov.auth.calls(); len(begins) != 0 {
		t.Errorf("BeginRun called: %q", begins)
	}
}

// rawRequest signs r with n's key, sends it to p and returns the Ack.
func rawRequest(t *testing.T, n node, p peer.ID, r *RunRequest) Ack {
	t.Helper()
	data, err := gossip.Encode(r, n.key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := n.NewStream(t.Context(), p, Protocol)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Reset()
	_ = st.SetDeadline(time.Now().Add(10 * time.Second))
	if err := frame.Write(st, data); err != nil {
		t.Fatal(err)
	}
	b, err := frame.Read(bufio.NewReader(st), maxAckBytes)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := decodeAck(b)
	if err != nil {
		t.Fatal(err)
	}
	return ack
}

// Bytes that do not match their digest end the run before anything runs,
// and the requester hears why.
func TestInputDigestMismatch(t *testing.T) {
	module := wasmModule(t, "copy")
	prov := newProvider(t, ServerConfig{Keep: true})
	n := newNode(t)
	connect(n, prov.node)
	job := jobID(t)
	in := writeFile(t, "in.txt", "the real bytes")
	r, sources, err := prepare(wasmRequest(job, []int{0}, []peer.ID{prov.ID()}), map[string]string{ModuleFile: module, "inputs/in.txt": in}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.Files {
		if r.Files[i].Name == "inputs/in.txt" {
			r.Files[i].Digest = sha([]byte("other bytes of th"))
		}
	}
	data, err := gossip.Encode(r, n.key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := n.NewStream(t.Context(), prov.ID(), Protocol)
	if err != nil {
		t.Fatal(err)
	}
	_, err = exchange(t.Context(), st, data, r, sources, t.TempDir(), nil, options{tolerance: HeartbeatTolerance})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "do not match") {
		t.Fatalf("got %v, want ErrRefused: bytes do not match", err)
	}
	if reason := prov.auth.waitEnd(t); !strings.HasPrefix(reason, "inputs:") {
		t.Errorf("EndRun reason %q, want inputs: ...", reason)
	}
	if _, err := os.Stat(filepath.Join(prov.dir, job, "rank-0")); !os.IsNotExist(err) {
		t.Errorf("a rank folder exists, something ran: %v", err)
	}
}

// Cancelling the requester's ctx resets the stream; the provider cancels
// the work and calls EndRun.
func TestRequesterCancel(t *testing.T) {
	module := wasmModule(t, "sleep")
	prov := newProvider(t, ServerConfig{})
	n := newNode(t)
	connect(n, prov.node)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err := Run(ctx, n, n.key, prov.ID(), wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()}), map[string]string{ModuleFile: module}, t.TempDir(),
		func(ev Event) {
			if ev.Kind == KindLog && ev.Line.Text == "sleeping" {
				cancel()
			}
		})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	reason := prov.auth.waitEnd(t)
	t.Logf("EndRun reason: %s", reason)
	if reason == "completed" || reason == "" {
		t.Errorf("EndRun reason %q, want a cancellation", reason)
	}
	// EndRun comes after the work stopped.
	if cancels, results := prov.exec.counts(); cancels != 1 || len(results) != 1 || results[0].Status != executor.StatusCancelled {
		t.Errorf("%d cancels, results %+v; want the work cancelled once", cancels, results)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the provider took %s to end the work", d)
	}
}

// A provider whose host goes away mid-run is lost.
func TestProviderHostClosed(t *testing.T) {
	module := wasmModule(t, "sleep")
	prov := newProvider(t, ServerConfig{})
	n := newNode(t)
	connect(n, prov.node)
	_, err := Run(t.Context(), n, n.key, prov.ID(), wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()}), map[string]string{ModuleFile: module}, t.TempDir(),
		func(ev Event) {
			if ev.Kind == KindLog && ev.Line.Text == "sleeping" {
				go prov.Close()
			}
		})
	if !errors.Is(err, ErrProviderLost) {
		t.Fatalf("got %v, want ErrProviderLost", err)
	}
	reason := prov.auth.waitEnd(t)
	t.Logf("requester's error: %v; EndRun reason: %s", err, reason)
	if reason == "completed" {
		t.Errorf("EndRun reason %q", reason)
	}
	if cancels, _ := prov.exec.counts(); cancels != 1 {
		t.Errorf("%d cancels, want the work cancelled", cancels)
	}
}

// A provider that takes the job and then says nothing is lost after
// HeartbeatTolerance heartbeats.
func TestProviderSilent(t *testing.T) {
	prov := newNode(t)
	hold := make(chan struct{})
	defer close(hold)
	prov.SetStreamHandler(Protocol, func(st network.Stream) {
		r := bufio.NewReader(st)
		if _, err := frame.Read(r, MaxRequestBytes); err != nil {
			_ = st.Reset()
			return
		}
		b, _ := json.Marshal(Ack{OK: true, Heartbeat: 100 * time.Millisecond})
		_ = frame.Write(st, b)
		_, _ = io.Copy(io.Discard, r) // the files, until the half-close
		<-hold
		_ = st.Reset()
	})
	n := newNode(t)
	connect(n, prov)
	start := time.Now()
	r := wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()})
	r.Spec.Wasm.Module = []byte("\x00asm not really")
	_, err := Run(t.Context(), n, n.key, prov.ID(), r, nil, t.TempDir(), nil)
	if !errors.Is(err, ErrProviderLost) {
		t.Fatalf("got %v, want ErrProviderLost", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("lost after %s, want about 300ms", d)
	}
}

// Outputs are listed with Lstat semantics: symlinks are left out, nested
// files kept, and past the budget listed as truncated.
func TestListOutputs(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "a.txt"), []byte("aaaa"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "sub", "b.txt"), []byte("bbbbbbbb"), 0o644))
	must(os.Symlink("/etc/passwd", filepath.Join(dir, "link")))
	must(os.Symlink("/etc", filepath.Join(dir, "dirlink")))
	budget := int64(6)
	files, paths, omitted := listOutputs(t.Context(), dir, &budget)
	if len(files) != 2 || omitted != 2 {
		t.Fatalf("files %+v, omitted %d; want 2 files, 2 omitted", files, omitted)
	}
	if files[0].Name != "a.txt" || files[0].Truncated || files[0].Digest != sha([]byte("aaaa")) || paths[0] != filepath.Join(dir, "a.txt") {
		t.Errorf("first %+v at %s", files[0], paths[0])
	}
	if files[1].Name != "sub/b.txt" || !files[1].Truncated || files[1].Size != 8 {
		t.Errorf("second %+v, want sub/b.txt truncated", files[1])
	}
	if budget != 2 {
		t.Errorf("budget left %d, want 2", budget)
	}
}

// Output bytes over MaxOutputBytes are listed as truncated and not sent.
func TestOutputBudget(t *testing.T) {
	module := wasmModule(t, "copy")
	prov := newProvider(t, ServerConfig{MaxOutputBytes: 4})
	n := newNode(t)
	connect(n, prov.node)
	in := writeFile(t, "in.txt", "more than four bytes")
	outDir := t.TempDir()
	out, err := Run(t.Context(), n, n.key, prov.ID(), wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()}),
		map[string]string{ModuleFile: module, "inputs/in.txt": in}, outDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o := out.Outputs[0]; len(o) != 1 || !o[0].Truncated {
		t.Fatalf("outputs %+v, want out.txt truncated", o)
	}
	if _, err := os.Stat(filepath.Join(outDir, "rank-0", "out.txt")); !os.IsNotExist(err) {
		t.Errorf("a truncated output was written: %v", err)
	}
}
