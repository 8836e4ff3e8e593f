package market

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// TestAuditSample: the share of ranks audited is rounded up, every rank
// can be drawn, and none is drawn twice.
func TestAuditSample(t *testing.T) {
	for _, c := range []struct {
		share   float64
		workers int
		want    int
	}{
		{0, 4, 0}, {math.NaN(), 4, 0}, {1e-12, 4, 1}, {0.01, 4, 1}, {0.25, 4, 1}, {0.26, 4, 2},
		{0.5, 4, 2}, {1, 4, 4}, {1, 1, 1}, {0.5, 1, 1}, {0.3, 10, 3},
	} {
		got := auditSample(c.share, c.workers)
		if len(got) != c.want {
			t.Errorf("share %v of %d: %v, want %d ranks", c.share, c.workers, got, c.want)
		}
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Errorf("share %v of %d: %v not distinct and sorted", c.share, c.workers, got)
		}
		for _, r := range got {
			if r < 0 || r >= c.workers {
				t.Errorf("share %v of %d: rank %d out of range", c.share, c.workers, r)
			}
		}
	}
	drawn := map[int]int{}
	for range 400 {
		drawn[auditSample(0.25, 4)[0]]++
	}
	for r := range 4 {
		if drawn[r] == 0 { // (3/4)^400: never by chance
			t.Errorf("rank %d never drawn in 400 draws: %v", r, drawn)
		}
	}
}

// TestSpecAudit: a job's audit share is validated, taken from
// market.default_audit for wasm work that names none, and refused for work
// the requester cannot run again.
func TestSpecAudit(t *testing.T) {
	module := filepath.Join(t.TempDir(), "m.wasm")
	if err := os.WriteFile(module, []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := func(v float64) *float64 { return &v }
	cfg := DefaultConfig()
	withDefault := cfg
	withDefault.DefaultAudit = 0.25
	for name, c := range map[string]struct {
		spec Spec
		cfg  Config
		want float64
		err  string
	}{
		"wasm, half":              {spec: Spec{Module: module, Audit: f(0.5)}, cfg: cfg, want: 0.5},
		"wasm, none named":        {spec: Spec{Module: module}, cfg: cfg, want: 0},
		"wasm, the node default":  {spec: Spec{Module: module}, cfg: withDefault, want: 0.25},
		"wasm, 0 over a default":  {spec: Spec{Module: module, Audit: f(0)}, cfg: withDefault, want: 0},
		"docker, the default off": {spec: Spec{Image: "alpine"}, cfg: withDefault, want: 0},
		"over 1":                  {spec: Spec{Module: module, Audit: f(1.5)}, cfg: cfg, err: "audit 1.5 not in [0, 1]"},
		"negative":                {spec: Spec{Module: module, Audit: f(-0.1)}, cfg: cfg, err: "not in [0, 1]"},
		"NaN":                     {spec: Spec{Module: module, Audit: f(math.NaN())}, cfg: cfg, err: "not in [0, 1]"},
		"docker":                  {spec: Spec{Image: "alpine", Audit: f(0.5)}, cfg: cfg, err: "docker work cannot be audited"},
		"process":                 {spec: Spec{Command: "train", Audit: f(1)}, cfg: cfg, err: "process work cannot be audited"},
		"no work":                 {spec: Spec{Audit: f(1)}, cfg: cfg, err: "audit without work"},
	} {
		got, err := c.spec.Normalize(c.cfg)
		switch {
		case c.err != "":
			if err == nil || !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: got %v, want ErrBadSpec saying %q", name, err, c.err)
			}
		case err != nil:
			t.Errorf("%s: %v", name, err)
		case got.Audit == nil || *got.Audit != c.want:
			t.Errorf("%s: audit %v, want %v", name, got.Audit, c.want)
		}
	}
	bad := DefaultConfig()
	bad.DefaultAudit = 2
	if err := bad.Validate("market"); err == nil || !strings.Contains(err.Error(), "market.default_audit") {
		t.Errorf("default_audit 2: %v", err)
	}
}

// TestLostRunReceipts: a lost provider's receipts state no more than the
// time the requester heard from it. The provider caps its own account at
// the observed time the request states, the requester countersigns that
// and refuses a millisecond more (an honest run's receipt may differ by
// the stream's round trip; a lost run's may not), and a dispute refuses
// every receipt whatever it states.
func TestLostRunReceipts(t *testing.T) {
	reqKey, _, _ := crypto.GenerateEd25519Key(nil)
	provKey, _, _ := crypto.GenerateEd25519Key(nil)
	reqID, _ := peer.IDFromPrivateKey(reqKey)
	provID, _ := peer.IDFromPrivateKey(provKey)
	l, err := ledger.Open(t.TempDir(), ledger.Options{Self: provID, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	id := "0123456789abcdef0123456789abcdef"
	start := time.Now().Add(-time.Minute)
	// The provider ran 30 s before it noticed the requester had gone; the
	// requester last heard from it 12.3456 s in.
	prov := &provider{core: &core{self: provID, d: Deps{Key: provKey, Ledger: l}}, reserved: map[string]*reservation{
		id: {job: id, requester: reqID, devices: []int{0}, ranks: []int{0}, price: 0.5, ended: "ran",
			served: &run.RunEnd{Started: start, Ended: start.Add(30 * time.Second), Results: map[int]run.RankEnd{}}},
	}}
	u := Usage{Status: UsageLost, Start: start.Add(3 * time.Millisecond), End: start.Add(3*time.Millisecond + 12345600*time.Microsecond)}
	ms := observed(u).Milliseconds()
	signed, err := prov.issueReceipts(context.Background(), reqID, settleRequest{Job: id, Ranks: []int{0}, Lost: true, ObservedMS: ms})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ledger.OpenReceipt(signed[0])
	if err != nil {
		t.Fatal(err)
	}
	if rc.GPUMillis != ms || rc.Status != ledger.StatusLost {
		t.Fatalf("lost run's receipt: %d GPU-ms, status %s; want the %d ms observed, lost", rc.GPUMillis, rc.Status, ms)
	}
	// Not lost: the provider's own account.
	signed, err = prov.issueReceipts(context.Background(), reqID, settleRequest{Job: id, Ranks: []int{0}, ObservedMS: ms})
	if err != nil {
		t.Fatal(err)
	}
	if full, _ := ledger.OpenReceipt(signed[0]); full.GPUMillis != 30000 {
		t.Errorf("a run not lost: %d GPU-ms, want the provider's 30000", full.GPUMillis)
	}
	if _, err := prov.issueReceipts(context.Background(), reqID, settleRequest{Job: id, Ranks: []int{0}, Lost: true, ObservedMS: -1}); err == nil {
		t.Error("a negative observed time was taken")
	}

	// The requester's check.
	m := &requester{core: &core{self: reqID}}
	j := &job{req: &gossip.JobRequest{ID: id, Workers: 1, PerWorker: gossip.Resources{GPUs: 1}}}
	mb := &member{peer: provID, ranks: []int{0}, req: id, price: 0.5}
	o := run.Outcome{Results: map[int]executor.Result{}, Heartbeat: time.Second}
	if why := m.checkReceipt(j, mb, u, o, rc, map[int]bool{}); why != "" {
		t.Fatalf("the capped receipt was refused: %s", why)
	}
	more := rc
	more.End = more.End.Add(time.Millisecond)
	more.Finalize()
	if why := m.checkReceipt(j, mb, u, o, more, map[int]bool{}); !strings.Contains(why, "observed") {
		t.Errorf("a lost run's receipt 1 ms over: refusal %q", why)
	}
	served := u
	served.Status = UsageServed
	if why := m.checkReceipt(j, mb, served, o, more, map[int]bool{}); why != "" {
		t.Errorf("a run served to its end, 1 ms over: refused %q (within the round-trip tolerance)", why)
	}
}
