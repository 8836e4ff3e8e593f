package node_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/pricing"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// badFleet is a requester (Nodes[0]), a bad actor (Nodes[1], the
// cheapest, so it is always chosen) and three honest CPU providers, with
// heartbeats every 500 ms (a provider silent for 1.5 s is lost: less
// loses honest providers compiling the module on a loaded 2-core machine).
type badFleet struct {
	*nodetest.Fleet
	req, bad *node.Node
	in       string // the job's input
	started  time.Time
}

// startBadFleet starts the fleet, gives the bad actor faults, and waits
// until every node heard every other.
func startBadFleet(t *testing.T, faults nodetest.BadActor) *badFleet {
	t.Helper()
	f := nodetest.Start(t, 5, nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i > 0
		if i > 0 {
			c.Offer.Prices = []string{fmt.Sprintf("cpu=%.2f", 0.1*float64(i))}
		}
		c.Market.HeartbeatInterval = p2p.Duration(500 * time.Millisecond)
		// Not what these tests are about: a CPU challenge timed on a
		// loaded machine (or under -race) can fail honest providers.
		c.Market.VerifyClass = market.VerifyOff
	}})
	f.WaitHeard(t, 30*time.Second)
	f.SetBadActor(1, faults)
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("gpumesh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &badFleet{Fleet: f, req: f.Nodes[0], bad: f.Nodes[1], in: in}
}

// run submits a 2-worker job of the ticks module (ticks ticks, 50 ms
// apart) and waits for its end; it fails the test unless it succeeded
// with every output right.
func (b *badFleet) run(ctx context.Context, t *testing.T, ticks int, audit *float64) market.JobView {
	t.Helper()
	b.started = time.Now()
	v, err := b.req.Market().Submit(ctx, market.Spec{Workers: 2, Module: executortest.WasmModule(t, "ticks"), Inputs: []string{b.in},
		Args: []string{"-n", fmt.Sprint(ticks), "-every", "50ms"}, Audit: audit})
	if err != nil {
		t.Fatal(err)
	}
	id := v.ID
	if v, err = b.req.Market().Wait(ctx, id); err != nil {
		v = b.job(t, id)
		t.Errorf("job %s still %s: %v", id, v.State, err)
	}
	t.Logf("job ended after %s", time.Since(b.started).Round(time.Millisecond))
	for _, e := range v.Events {
		if e.Kind != "log" && e.Kind != "bid" {
			t.Logf("%s %-12s %s", e.At.Format("15:04:05.000"), e.Kind, e.Text)
		}
	}
	if v.State != market.StateSucceeded {
		t.Fatalf("state %s: %s", v.State, v.Error)
	}
	for r := range 2 {
		out, err := os.ReadFile(filepath.Join(v.Results, fmt.Sprintf("rank-%d", r), "out.txt"))
		if err != nil || string(out) != "GPUMESH\n" {
			t.Errorf("rank %d output %q, %v", r, out, err)
		}
	}
	return v
}

// job is the job's latest view.
func (b *badFleet) job(t *testing.T, id string) market.JobView {
	t.Helper()
	v, ok := b.req.Market().Job(id)
	if !ok {
		t.Fatalf("no job %s", id)
	}
	return v
}

// badEvent is the first event of kind about p whose text holds text, and
// whether there is one.
func badEvent(v market.JobView, kind string, p peer.ID, text string) (market.Event, bool) {
	for _, e := range v.Events {
		if e.Kind == kind && (p == "" || e.Peer == p.String()) && strings.Contains(e.Text, text) {
			return e, true
		}
	}
	return market.Event{}, false
}

// badReceipts are the receipts in nd's ledger, by ID.
func badReceipts(t *testing.T, nd *node.Node) map[string]ledger.Receipt {
	t.Helper()
	entries, err := nd.Ledger().ByPeer(nd.PeerID())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]ledger.Receipt{}
	for _, e := range entries {
		sg, err := ledger.UnmarshalSigned(e.Data)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := ledger.Verify(sg)
		if err != nil {
			t.Fatal(err)
		}
		out[rc.ID] = rc
	}
	return out
}

// checkPaid checks what every provider is paid: the requester's ledger
// holds exactly the receipts of the usage records charged for, one per
// rank, each in its provider's ledger too; a lost provider's states the
// GPU time the requester observed, to the millisecond, and one that served
// to the end its own account, within the round-trip tolerance of the
// requester's; the bad actor holds wantBad receipts. It returns the
// providers that served to the end.
func (b *badFleet) checkPaid(t *testing.T, v market.JobView, wantBad int) []peer.ID {
	t.Helper()
	mine := badReceipts(t, b.req)
	var served []peer.ID
	seen := 0
	for _, u := range v.Usage {
		t.Logf("usage %s ranks %v attempt %d %s: %s, %d GPU-ms, %s; %s", u.Peer[len(u.Peer)-8:], u.Ranks, u.Attempt, u.Status,
			u.End.Sub(u.Start).Round(time.Millisecond), u.GPUMillis, u.Amount, u.Settlement)
		if u.Status == market.UsageServed {
			p, _ := peer.Decode(u.Peer)
			served = append(served, p)
		}
		if u.Amount == 0 {
			if len(u.Receipts) != 0 {
				t.Errorf("usage of %s charged nothing has receipts %v", u.Peer, u.Receipts)
			}
			continue
		}
		if len(u.Receipts) != len(u.Ranks) {
			t.Errorf("usage of %s: receipts %v for ranks %v (%s)", u.Peer, u.Receipts, u.Ranks, u.Settlement)
			continue
		}
		prov := b.byPeer(t, u.Peer)
		theirs := badReceipts(t, prov)
		for _, id := range u.Receipts {
			rc, ok := mine[id]
			if _, ok2 := theirs[id]; !ok || !ok2 {
				t.Errorf("receipt %s of %s: in the requester's ledger %t, in the provider's %t", id, u.Peer, ok, ok2)
				continue
			}
			seen++
			t.Logf("receipt %s: %s %s, %d GPU-ms, %s", id[:8], rc.Provider[len(rc.Provider)-8:], rc.Status, rc.GPUMillis, pricing.Micros(rc.Amount))
			slack := int64(0)
			if u.Status == market.UsageServed {
				slack = 2000 + 500 + u.GPUMillis/100 // 2 s, a heartbeat and 1 %: settleTolerance
			}
			if rc.Provider != u.Peer || rc.GPUMillis > u.GPUMillis+slack || u.Status == market.UsageLost && rc.GPUMillis != u.GPUMillis {
				t.Errorf("receipt %s: %s %s, %d GPU-ms; the usage record says %s %s, %d GPU-ms", id, rc.Provider, rc.Status, rc.GPUMillis, u.Peer, u.Status, u.GPUMillis)
			}
		}
	}
	if seen != len(mine) {
		t.Errorf("the requester's ledger holds %d receipts, the usage records name %d", len(mine), seen)
	}
	if got := len(badReceipts(t, b.bad)); got != wantBad {
		t.Errorf("the bad actor holds %d receipts, want %d", got, wantBad)
	}
	return served
}

// byPeer is the node with peer ID id.
func (b *badFleet) byPeer(t *testing.T, id string) *node.Node {
	t.Helper()
	for _, nd := range b.Nodes {
		if nd.PeerID().String() == id {
			return nd
		}
	}
	t.Fatalf("no node %s", id)
	return nil
}

// checkReputation checks the requester now scores the bad actor below
// every provider that served.
func (b *badFleet) checkReputation(t *testing.T, served []peer.ID) {
	t.Helper()
	book := b.req.Reputation()
	bad := book.Score(b.bad.PeerID())
	if len(served) < 2 {
		t.Errorf("%d providers served to the end, want 2", len(served))
	}
	for _, p := range served {
		if p == b.bad.PeerID() {
			t.Errorf("the bad actor served to the end")
		}
		if s := book.Score(p); bad >= s {
			t.Errorf("reputation of the bad actor %.3f, of honest %s %.3f", bad, p, s)
		}
	}
	t.Logf("reputation of the bad actor %.3f", bad)
}

// TestBadActorNeverRuns: a provider bids, accepts its award and then never
// runs the work: it answers the run request and goes silent, or never
// answers it. The requester gives up on it after heartbeat_tolerance x
// heartbeat_interval (1.5 s here) of silence, or as long without an answer,
// counts it against its reputation and restarts its rank on a runner-up;
// the job succeeds with every output, and the never-runner is charged
// nothing and holds no receipt.
func TestBadActorNeverRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("5-node scenarios; run without -short")
	}
	for _, c := range []struct {
		name   string
		faults nodetest.BadActor
		detail string
		usage  bool // whether the requester records a usage (it answered)
	}{
		{"silent", nodetest.BadActor{NeverRun: true}, "no word from", true},
		{"unanswered", nodetest.BadActor{NeverAnswer: true}, "no answer from", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := startBadFleet(t, c.faults)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			v := b.run(ctx, t, 10, nil)
			bad := b.bad.PeerID()
			run, _ := badEvent(v, "run", "", "")
			lost, ok := badEvent(v, "lost", bad, "never started the work")
			if !ok || !strings.Contains(lost.Text, c.detail) {
				t.Fatalf("no lost event for the bad actor saying it never started (%s)", c.detail)
			}
			if _, ok := badEvent(v, "started", bad, ""); ok {
				t.Error("the bad actor's rank started")
			}
			// 1.5 s of silence or without an answer, plus the stream's
			// setup and the files on a loaded machine: well under the
			// stream's own 30 s timeout.
			t.Logf("detected %s after the work started", lost.At.Sub(run.At).Round(time.Millisecond))
			if d := lost.At.Sub(run.At); d > 10*time.Second {
				t.Errorf("detected after %s, want within a few seconds", d)
			}
			if v.Failovers != 1 {
				t.Errorf("failovers %d, want 1", v.Failovers)
			}
			k := slices.IndexFunc(v.Usage, func(u market.Usage) bool { return u.Peer == bad.String() })
			switch {
			case c.usage && (k < 0 || v.Usage[k].Status != market.UsageLost || v.Usage[k].GPUMillis != 0 || v.Usage[k].Amount != 0):
				t.Errorf("the silent bad actor's usage: %+v, want lost, 0 GPU-ms, nothing charged", v.Usage)
			case !c.usage && k >= 0:
				t.Errorf("a usage record for a provider that never answered: %+v", v.Usage[k])
			}
			b.checkReputation(t, b.checkPaid(t, v, 0))
		})
	}
}

// TestBadActorDisconnects: a provider drops its connections to the
// requester a second into its run and refuses it for two seconds, then
// comes back. The requester notices at once, restarts the rank on a
// runner-up, and charges the provider only the time it heard from it:
// once it is back, the provider's receipt for the lost attempt, settled
// in the background, states that time to the millisecond, in both
// ledgers, and no receipt of the job states more than its usage record.
func TestBadActorDisconnects(t *testing.T) {
	if testing.Short() {
		t.Skip("a 5-node scenario; runs without -short")
	}
	b := startBadFleet(t, nodetest.BadActor{DisconnectAfter: time.Second, DisconnectFor: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v := b.run(ctx, t, 60, nil) // 3 s of ticks
	bad := b.bad.PeerID()
	run, _ := badEvent(v, "run", "", "")
	lost, ok := badEvent(v, "lost", bad, "lost mid-job")
	if !ok {
		t.Fatal("no loss of the bad actor")
	}
	t.Logf("lost %s after the work started", lost.At.Sub(run.At).Round(time.Millisecond))
	// Settled once the provider is back (retries 1, 2, 4, 8 s apart).
	var u market.Usage
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		v = b.job(t, v.ID)
		k := slices.IndexFunc(v.Usage, func(u market.Usage) bool { return u.Peer == bad.String() })
		if k >= 0 {
			u = v.Usage[k]
		}
		return k >= 0 && strings.HasPrefix(u.Settlement, "1 receipt")
	}, func() string { return fmt.Sprintf("the lost attempt was not settled: %+v", u) })
	t.Logf("lost %s after it was last heard from; settled %s after the job began", lost.At.Sub(u.End).Round(time.Millisecond), time.Since(b.started).Round(time.Millisecond))
	observed := u.End.Sub(u.Start)
	// Heard from between its answer and the disconnect, a second after
	// its run began (the timer may fire late on a loaded machine).
	if u.Status != market.UsageLost || observed <= 0 || observed > 1500*time.Millisecond || u.Amount <= 0 {
		t.Errorf("the lost attempt's usage: %s for %s, %s; want lost, at most about 1 s, paid", u.Status, observed, u.Amount)
	}
	theirs := badReceipts(t, b.bad)
	rc, ok := theirs[u.Receipts[0]]
	if !ok || rc.Status != ledger.StatusLost || rc.GPUMillis != u.GPUMillis {
		t.Errorf("the bad actor's receipt %+v: want lost, stating the %d GPU-ms observed", rc, u.GPUMillis)
	}
	b.checkReputation(t, b.checkPaid(t, v, 1))
}

// TestBadActorWrongOutputs: a provider runs the work and returns its
// outputs altered, with an otherwise honest result. The requester audits
// every rank (audit: 1) by running it again itself: the liar's rank fails
// the audit, naming the rank, the provider and both digests; the liar
// gets a violation, no countersigned receipt and nothing charged, and its
// rank re-runs on a runner-up, whose outputs pass the audit and are the
// job's.
func TestBadActorWrongOutputs(t *testing.T) {
	if testing.Short() {
		t.Skip("a 5-node scenario; runs without -short")
	}
	b := startBadFleet(t, nodetest.BadActor{WrongOutputs: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	all := 1.0
	v := b.run(ctx, t, 5, &all)
	bad := b.bad.PeerID()
	failed, ok := badEvent(v, "audit_failed", bad, "failed the audit")
	if !ok {
		t.Fatal("no audit_failed event for the bad actor")
	}
	var rank int
	var theirs, ours string
	if _, err := fmt.Sscanf(failed.Text, "rank %d on", &rank); err != nil {
		t.Fatalf("audit_failed event %q: %v", failed.Text, err)
	}
	for _, w := range strings.Fields(failed.Text) {
		if strings.HasPrefix(w, "sha256:") {
			if theirs == "" {
				theirs = strings.TrimRight(w, ",;")
			} else {
				ours = strings.TrimRight(w, ",;")
			}
		}
	}
	if theirs == "" || ours == "" || theirs == ours || !strings.Contains(failed.Text, bad.String()[len(bad.String())-8:]) {
		t.Errorf("audit_failed event %q: want the provider and two different digests", failed.Text)
	}
	passed := 0
	for _, e := range v.Events {
		if e.Kind == "audit" && strings.Contains(e.Text, "passed the audit") {
			passed++
			if e.Peer == bad.String() {
				t.Errorf("the bad actor passed an audit: %s", e.Text)
			}
			if strings.HasPrefix(e.Text, fmt.Sprintf("rank %d ", rank)) && !strings.Contains(e.Text, ours) {
				t.Errorf("the replacement's audit %q: want this node's digest %s", e.Text, ours)
			}
		}
	}
	if passed != 2 {
		t.Errorf("%d audits passed, want 2 (the honest rank and the liar's replacement)", passed)
	}
	k := slices.IndexFunc(v.Usage, func(u market.Usage) bool { return u.Peer == bad.String() })
	if k < 0 || v.Usage[k].Status != market.UsageFailed || v.Usage[k].Amount != 0 || !strings.Contains(v.Usage[k].Settlement, "outputs failed the audit") {
		t.Errorf("the liar's usage: %+v; want failed, nothing charged, receipts refused for the audit", v.Usage)
	}
	view, _ := b.req.Reputation().View(bad)
	t.Logf("the liar's reputation: %.3f, counts %v", view.Score, view.Counts)
	b.checkReputation(t, b.checkPaid(t, v, 0))
}

// TestBadActorMalformedOutputs: a provider runs the work and lists its
// outputs under names that climb out of their folder, or with digests that
// are not their bytes'; the requester refuses them as they come. Refused
// work is not paid: the requester records outputs_refused, refuses to
// countersign the provider's receipts with the reason, charges nothing for
// it, records a violation and a failed job against it, and re-runs its
// rank on a runner-up; the job succeeds with every output right.
func TestBadActorMalformedOutputs(t *testing.T) {
	if testing.Short() {
		t.Skip("5-node scenarios; run without -short")
	}
	for _, c := range []struct {
		name   string
		faults nodetest.BadActor
		detail string
	}{
		{"names", nodetest.BadActor{MalformedOutputs: true}, "output name"},
		{"digests", nodetest.BadActor{MisstatedOutputs: true}, "bytes do not match"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := startBadFleet(t, c.faults)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			v := b.run(ctx, t, 5, nil)
			bad := b.bad.PeerID()
			if _, ok := badEvent(v, "outputs_refused", bad, c.detail); !ok {
				t.Errorf("no outputs_refused event for the bad actor saying %q", c.detail)
			}
			k := slices.IndexFunc(v.Usage, func(u market.Usage) bool { return u.Peer == bad.String() })
			if k < 0 || v.Usage[k].Status != market.UsageFailed || v.Usage[k].Amount != 0 || len(v.Usage[k].Receipts) != 0 ||
				!strings.Contains(v.Usage[k].Settlement, "outputs refused as malformed") {
				t.Errorf("the bad actor's usage: %+v; want failed, nothing charged, receipts refused as malformed", v.Usage)
			}
			view, _ := b.req.Reputation().View(bad)
			t.Logf("the bad actor's reputation: %.3f, counts %v", view.Score, view.Counts)
			if view.Counts[reputation.Violation] == 0 {
				t.Errorf("no violation recorded against the bad actor: %v", view.Counts)
			}
			b.checkReputation(t, b.checkPaid(t, v, 0))
		})
	}
}
