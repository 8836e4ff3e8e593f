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

	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestFailoverWhenProvidersDie: a 2-worker wasm job loses both of its
// first providers mid-run (their hosts close at once, as in a crash). The
// first is replaced by a runner-up bid that is still valid; the second,
// lost after every bid expired, through a failover request published for
// its rank alone. The job finishes with every output, the usage shows each
// provider's own time (the lost ones paid only until last heard from), and
// the lost providers' reputations fall below their replacements'.
func TestFailoverWhenProvidersDie(t *testing.T) {
	if testing.Short() {
		t.Skip("a 6-node failover scenario; runs without -short")
	}
	module := executortest.WasmModule(t, "ticks")
	f := nodetest.Start(t, 6, nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i > 0
		// Bids live BidWindow + 2 x AwardTimeout: 2.6 s.
		c.Market.AwardTimeout = p2p.Duration(300 * time.Millisecond)
		c.Market.VerifyRounds = 1
		c.Market.HeartbeatInterval = p2p.Duration(200 * time.Millisecond)
	}})
	f.WaitHeard(t, 30*time.Second)
	req := f.Nodes[0]
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("gpumesh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	submitted := time.Now()
	v, err := req.Market().Submit(ctx, market.Spec{Workers: 2, Module: module, Inputs: []string{in},
		Args: []string{"-n", "150", "-every", "100ms"}})
	if err != nil {
		t.Fatal(err)
	}
	byPeer := func(id string) *node.Node {
		for _, nd := range f.Nodes {
			if nd.PeerID().String() == id {
				return nd
			}
		}
		t.Fatalf("no node %s", id)
		return nil
	}
	// ticked reports whether rank r logged a tick on provider p.
	ticked := func(r int, p string) bool {
		page, _, _ := req.Market().Logs(v.ID, 0, 0)
		return slices.ContainsFunc(page.Lines, func(l market.LogLine) bool {
			return l.Peer == p && l.Rank == r && strings.HasPrefix(l.Text, "tick 1 ")
		})
	}
	job := func() market.JobView { v, _ := req.Market().Job(v.ID); return v }
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		c := job().Cluster
		return len(c) == 2 && ticked(c[0].Ranks[0], c[0].Peer) && ticked(c[1].Ranks[0], c[1].Peer)
	}, func() string { return fmt.Sprintf("the work did not start: %+v", job().Events) })
	first := job().Cluster
	crashed := map[string]time.Time{}
	crash := func(id string) {
		t.Logf("crashing %s at +%s", id, time.Since(submitted).Round(time.Millisecond))
		if err := byPeer(id).Network().Host().Close(); err != nil {
			t.Fatal(err)
		}
		crashed[id] = time.Now() // no word sent after this
	}
	lostA, lostB := first[0].Peer, first[1].Peer
	crash(lostA)
	// Rank of A restarts on a runner-up; then wait until every bid expired
	// and the replacement ticks before losing B.
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		c := job().Cluster
		k := slices.IndexFunc(c, func(m market.Member) bool { return slices.Equal(m.Ranks, first[0].Ranks) })
		return k >= 0 && c[k].Peer != lostA && ticked(first[0].Ranks[0], c[k].Peer)
	}, func() string { return fmt.Sprintf("no replacement for %s: %+v", lostA, job().Events) })
	if wait := time.Until(submitted.Add(3 * time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	if s := job().State; s != market.StateRunning {
		t.Fatalf("job %s before the second crash: %s", s, job().Error)
	}
	crash(lostB)

	if v, err = req.Market().Wait(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	for _, e := range v.Events {
		if e.Kind != "log" {
			t.Logf("%s %-9s %s", e.At.Format("15:04:05.000"), e.Kind, e.Text)
		}
	}
	if v.State != market.StateSucceeded {
		t.Fatalf("state %s: %s", v.State, v.Error)
	}
	if v.Failovers != 2 {
		t.Errorf("failovers %d, want 2", v.Failovers)
	}
	var texts []string
	for _, e := range v.Events {
		texts = append(texts, e.Kind+": "+e.Text)
	}
	all := strings.Join(texts, "\n")
	if !strings.Contains(all, "failover: no runner-up bid usable") {
		t.Errorf("the second failover did not go through a failover request:\n%s", all)
	}
	for r := range 2 {
		b, err := os.ReadFile(filepath.Join(v.Results, fmt.Sprintf("rank-%d", r), "out.txt"))
		if err != nil || string(b) != "GPUMESH\n" {
			t.Errorf("rank %d output %q, %v", r, b, err)
		}
	}
	// Usage: four providers, the lost ones paid only for what they served.
	if len(v.Usage) != 4 {
		t.Fatalf("usage %+v, want 4 entries", v.Usage)
	}
	var served time.Duration
	for _, u := range v.Usage {
		t.Logf("usage %s ranks %v attempt %d %s: %s, %s", u.Peer[len(u.Peer)-6:], u.Ranks, u.Attempt, u.Status,
			u.End.Sub(u.Start).Round(time.Millisecond), u.Amount)
		d := u.End.Sub(u.Start)
		switch u.Peer {
		case lostA, lostB:
			// Paid until last heard from: never past the crash.
			if u.Status != market.UsageLost || u.Attempt != 0 || d <= 0 || u.End.After(crashed[u.Peer].Add(crashSlack)) {
				t.Errorf("lost provider's usage %+v (crashed at %s)", u, crashed[u.Peer])
			}
		default:
			if u.Status != market.UsageServed || u.Attempt != 1 || u.Replaces == "" || d < 4*time.Second {
				t.Errorf("replacement's usage %+v", u)
			}
		}
		if ms := d.Milliseconds(); u.GPUMillis < ms-1 || u.GPUMillis > ms+1 || u.Amount <= 0 {
			t.Errorf("usage of %s: %d GPU-ms, %s, for %s served", u.Peer, u.GPUMillis, u.Amount, d)
		}
		served += d
	}
	if v.Charged == nil || v.Charged.Gross <= 0 {
		t.Errorf("charged %+v", v.Charged)
	}
	// The lost providers' reputations fell below their replacements'.
	book := req.Reputation()
	for _, u := range v.Usage {
		if u.Replaces == "" {
			continue
		}
		lost, _ := peer.Decode(u.Replaces)
		repl, _ := peer.Decode(u.Peer)
		if book.Score(lost) >= book.Score(repl) {
			t.Errorf("reputation of lost %s %.3f, of its replacement %.3f", u.Replaces, book.Score(lost), book.Score(repl))
		}
	}
}
