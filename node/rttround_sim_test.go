package node_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// roundWorld is where the measured round's tests run: two requesters in
// Germany (node 0 measures, node 1 has market.rtt_round_candidates = 0,
// today's method), the two cheapest honest providers in India and South
// Africa with a planted 25 ms route between them (the country table says
// 316 ms, and every other RTT of theirs agrees with it, so coordinates put
// them far apart), a cheaper still provider in the US, and seven more
// around the world, no two of them within 60 ms of each other.
var roundWorld = []string{"DE", "DE", // requesters
	"IN", "ZA", "US",
	"FR", "JP", "BR", "AU", "SG", "CA", "AR"}

// Nodes of roundWorld by role.
const (
	roundMeasuring = 0
	roundBaseline  = 1
	roundIN        = 2
	roundZA        = 3
	roundUS        = 4 // the liar, when it lies
	plantedRTT     = 25 * time.Millisecond
)

// roundPrice is provider i's CPU price: IN and ZA $0.05, the US $0.04,
// the others from $0.10 up by a cent.
func roundPrice(i int) float64 {
	switch i {
	case roundIN, roundZA:
		return 0.05
	case roundUS:
		return 0.04
	}
	return 0.10 + 0.01*float64(i-5)
}

// TestMeasuredRound runs the measured round end to end through the market
// on the simulated country network (real QUIC hosts, virtual time): (a)
// the optimum that coordinates call infeasible, a planted route shorter
// than any detour, is found by measuring, where today's method misses
// it; (b) a candidate understating its RTTs tenfold gets no cluster that
// breaks the bound, its reports are distrusted and its reputation
// charged; (c) a candidate that never answers leaves the round to its
// deadline and the cluster still forms; then the round's cost for
// k = 2, 4, 8 is logged.
func TestMeasuredRound(t *testing.T) {
	if testing.Short() {
		t.Skip("12 full nodes on the simulated network: skipped with -short")
	}
	synctest.Test(t, func(t *testing.T) {
		s := nodetest.StartSim(t, len(roundWorld), nodetest.SimOptions{Seed: 7,
			Place: func(i int) string { return roundWorld[i] },
			RTT: func(i, j int) (time.Duration, bool) {
				return plantedRTT, i == roundIN && j == roundZA
			},
			Configure: func(i int, c *config.Config) {
				c.Offer.Enabled = i > roundBaseline
				c.Offer.Prices = []string{fmt.Sprintf("cpu=%.2f", roundPrice(i))}
				c.Gossip.HeartbeatInterval = p2p.Duration(time.Second)
				c.P2P.ProbeInterval = p2p.Duration(time.Second)
				c.P2P.ProbePeers = 2
				c.Market.ReserveHold = p2p.Duration(time.Second)
				if i == roundBaseline {
					c.Market.RTTRoundCandidates = 0
				}
			}})
		s.WaitRoutingTables(t, 3, time.Minute)
		s.WaitSamples(t, 20, 5*time.Minute)
		index := map[string]int{}
		for i, nd := range s.Nodes {
			index[nd.PeerID().String()] = i
		}
		submit := func(from int, spec market.Spec) market.JobView {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			v, err := s.Nodes[from].Market().Submit(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			v, err = s.Nodes[from].Market().Wait(ctx, v.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range v.Events {
				t.Logf("%s %-14s %s", e.At.Format("05.000"), e.Kind, e.Text)
			}
			time.Sleep(2 * time.Second) // the reservations lapse (market.reserve_hold = 1s)
			return v
		}
		members := func(v market.JobView) []int {
			var out []int
			for _, m := range v.Cluster {
				out = append(out, index[m.Peer])
			}
			slices.Sort(out)
			return out
		}
		event := func(v market.JobView, kind string) (market.Event, bool) {
			i := slices.IndexFunc(v.Events, func(e market.Event) bool { return e.Kind == kind })
			if i < 0 {
				return market.Event{}, false
			}
			return v.Events[i], true
		}
		const bound = 60 * time.Millisecond
		planted := []int{roundIN, roundZA}

		scenario(t, "(a) the planted optimum is found by measuring, and missed by coordinates alone", func() {
			// The true optimum: the cheapest pair within the bound.
			var best []int
			bestCost := 0.0
			for a := 2; a < len(s.Nodes); a++ {
				for b := a + 1; b < len(s.Nodes); b++ {
					if c := roundPrice(a) + roundPrice(b); s.RTT(a, b) <= bound && (best == nil || c < bestCost) {
						best, bestCost = []int{a, b}, c
					}
				}
			}
			if !slices.Equal(best, planted) {
				t.Fatalf("the world's optimum is %v, want the planted pair %v", best, planted)
			}
			base := submit(roundBaseline, market.Spec{Workers: 2, MaxRTT: p2p.Duration(bound)})
			if base.State == market.StateFormed {
				t.Fatalf("today's method formed %v (%s): coordinates did not miss the planted pair, the test proves nothing", members(base), countries(s, members(base)))
			}
			if _, ok := event(base, "measured"); ok {
				t.Errorf("the baseline requester (market.rtt_round_candidates = 0) measured a round")
			}
			v := submit(roundMeasuring, market.Spec{Workers: 2, MaxRTT: p2p.Duration(bound)})
			if v.State != market.StateFormed {
				t.Fatalf("state %s: %s", v.State, v.Error)
			}
			if got := members(v); !slices.Equal(got, planted) {
				t.Errorf("cluster %v (%s), want the planted optimum %v ", got, countries(s, got), planted)
			}
			if e, ok := event(v, "measured"); !ok || !strings.Contains(e.Text, "measured 10 candidates") {
				t.Errorf("round event %q, want all 10 bids measured", e.Text)
			}
		})

		scenario(t, "(b) a candidate understating its RTTs is distrusted, charged, and not clustered over the bound", func() {
			s.SetBadActor(roundUS, nodetest.BadActor{UnderstateRTTs: 10})
			defer s.SetBadActor(roundUS, nodetest.BadActor{})
			liar := s.Nodes[roundUS].PeerID()
			v := submit(roundMeasuring, market.Spec{Workers: 2, MaxRTT: p2p.Duration(bound)})
			if v.State != market.StateFormed {
				t.Fatalf("state %s: %s", v.State, v.Error)
			}
			got := members(v)
			if slices.Contains(got, roundUS) || s.RTT(got[0], got[1]) > bound {
				t.Errorf("cluster %v (%s), want a pair within %s in truth, without the liar", got, countries(s, got), bound)
			}
			if e, ok := event(v, "rtt_distrusted"); !ok || e.Peer != liar.String() {
				t.Errorf("distrust event %+v, want one naming the liar", e)
			}
			if m := v.Measured; m == nil || m.Distrusted != 1 || m.Charged != 1 {
				t.Errorf("job view's round %+v, want 1 distrusted and charged", m)
			}
			if sc := s.Nodes[roundMeasuring].Reputation().Score(liar); sc >= 0.5 {
				t.Errorf("liar's reputation %.3f, want below a newcomer's 0.5", sc)
			}
		})

		scenario(t, "(c) a candidate that never answers: the round ends at its deadline and the cluster forms", func() {
			s.SetBadActor(roundZA, nodetest.BadActor{IgnoreRTTRounds: true})
			defer s.SetBadActor(roundZA, nodetest.BadActor{})
			v := submit(roundMeasuring, market.Spec{Workers: 2, MaxRTT: p2p.Duration(bound)})
			if v.State != market.StateFormed {
				t.Fatalf("state %s: %s", v.State, v.Error)
			}
			e, ok := event(v, "measured")
			if !ok || !strings.Contains(e.Text, "1 did not answer") {
				t.Fatalf("round event %q, want one candidate silent", e.Text)
			}
			if m := v.Measured; m == nil || m.Silent != 1 || m.Candidates < 6 {
				t.Errorf("job view's round %+v, want 1 silent among at least 6 candidates", m)
			}
			// The silent candidate's pair was measured by its other end,
			// and confirmed by the winners' pings: still the optimum.
			if got := members(v); !slices.Equal(got, planted) {
				t.Errorf("cluster %v (%s), want %v", got, countries(s, got), planted)
			}
			prev := v.Events[slices.IndexFunc(v.Events, func(x market.Event) bool { return x.Kind == "measured" })-1]
			if took, limit := e.At.Sub(prev.At), time.Duration(market.DefaultConfig().RTTRoundTimeout); took > limit {
				t.Errorf("the round took %s after the event before it, want at most market.rtt_round_timeout %s", took, limit)
			}
		})

		scenario(t, "the round's cost for k = 2, 4, 8", func() {
			for _, k := range []int{2, 4, 8} {
				v := submit(roundMeasuring, market.Spec{Workers: k, MaxRTT: p2p.Duration(300 * time.Millisecond)})
				e, ok := event(v, "measured")
				if !ok {
					t.Fatalf("k=%d: no round event (state %s: %s)", k, v.State, v.Error)
				}
				formed := "not formed"
				if v.FormedAt != nil {
					formed = fmt.Sprintf("formed %s after submit", v.FormedAt.Sub(v.Created))
				}
				t.Logf("COST k=%d: %s; %s", k, e.Text, formed)
			}
		})
	})
}
