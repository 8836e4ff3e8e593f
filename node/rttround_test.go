package node_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/placement"
)

// TestMeasuredRoundCostOnLoopback measures the measured round's cost in
// real time on loopback nodes: 16 providers, jobs of k = 2, 4 and 8 with
// a bound every pair meets. Each job must form after a round that
// measured every pair of its candidates; the round's event (candidates,
// pairs, RTTs reported, time) is logged for docs/market.md.
func TestMeasuredRoundCostOnLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("17 nodes in real time: skipped with -short")
	}
	const providers = 16
	f := nodetest.Start(t, providers+1, nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i > 0
		c.Offer.Prices = []string{fmt.Sprintf("cpu=%.2f", 0.10+0.01*float64(i))}
		c.Market.EnoughBidsPerWorker = 8 // every bid counts: the round may take up to 16
		c.Market.ReserveHold = p2p.Duration(time.Second)
	}})
	f.WaitHeard(t, time.Minute)
	nodetest.WaitFor(t, time.Minute, func() bool {
		for _, nd := range f.Nodes[1:] {
			if !nd.Offering() {
				return false
			}
		}
		return true
	}, func() string { return "providers did not publish their capacity" })
	req := f.Nodes[0]
	for _, k := range []int{2, 4, 8} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		v, err := req.Market().Submit(ctx, market.Spec{Workers: k, MaxRTT: p2p.Duration(time.Second)})
		if err == nil {
			v, err = req.Market().Wait(ctx, v.ID)
		}
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if v.State != market.StateFormed {
			t.Fatalf("k=%d: state %s: %s", k, v.State, v.Error)
		}
		i := slices.IndexFunc(v.Events, func(e market.Event) bool { return e.Kind == "measured" })
		if i < 0 {
			t.Fatalf("k=%d: no measured round among the job's events", k)
		}
		n := min(placement.RoundSize(k, market.DefaultRTTRoundCandidates), v.Bids)
		if want := fmt.Sprintf("measured %d candidates: %d pairs", n, n*(n-1)/2); !strings.HasPrefix(v.Events[i].Text, want) {
			t.Errorf("k=%d: round %q, want it to start %q", k, v.Events[i].Text, want)
		}
		for _, e := range v.Events {
			if e.Kind == "rtt_distrusted" {
				t.Logf("k=%d: %s", k, e.Text)
			}
		}
		t.Logf("COST k=%d: %s; cluster formed %s after submit", k, v.Events[i].Text, v.FormedAt.Sub(v.Created).Round(time.Millisecond))
		nodetest.WaitFor(t, 30*time.Second, func() bool {
			for _, nd := range f.Nodes[1:] {
				if len(nd.Market().Reserved()) > 0 {
					return false
				}
			}
			return true
		}, func() string { return "the cluster's reservations did not lapse (market.reserve_hold = 1s)" })
	}
}
