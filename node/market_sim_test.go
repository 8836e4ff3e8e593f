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
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// marketWorld is where the market tests run: a requester in Germany, ten
// providers around Europe with distinct prices, and six far away.
var marketWorld = []string{"DE", // the requester
	"DE", "NL", "FR", "BE", "CH", "AT", "DK", "LU", "CZ", "PL",
	"US", "JP", "BR", "IN", "ZA", "AU"}

// marketPrice is provider i's CPU price: Europe from $0.10 up by a cent, the
// far providers cheaper still, so that price alone would pick them.
func marketPrice(i int) float64 {
	if i <= 10 {
		return 0.09 + 0.01*float64(i)
	}
	return 0.05
}

// TestMarketOnCountryNetwork runs the market end to end on the simulated
// country network (x/simlibp2p, RIPE Atlas RTTs, virtual time): real
// gossip, bid and award streams, coordinates from the nodes' own pings,
// and the winners' pings checked against the bound.
func TestMarketOnCountryNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("17 full nodes on the simulated network: skipped with -short")
	}
	synctest.Test(t, func(t *testing.T) {
		s := nodetest.StartSim(t, len(marketWorld), nodetest.SimOptions{Seed: 5,
			Place: func(i int) string { return marketWorld[i] },
			Configure: func(i int, c *config.Config) {
				c.Offer.Enabled = i > 0
				c.Offer.Prices = []string{fmt.Sprintf("cpu=%.2f", marketPrice(i))}
				c.Gossip.HeartbeatInterval = p2p.Duration(time.Second)
				c.P2P.ProbeInterval = p2p.Duration(time.Second)
				c.P2P.ProbePeers = 2
				c.Market.ReserveHold = p2p.Duration(time.Second)
			}})
		s.WaitRoutingTables(t, 3, time.Minute)
		s.WaitSamples(t, 20, 5*time.Minute)
		index := map[string]int{}
		for i, nd := range s.Nodes {
			index[nd.PeerID().String()] = i
		}
		req := s.Nodes[0]
		submit := func(spec market.Spec) market.JobView {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			v, err := req.Market().Submit(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			v, err = req.Market().Wait(ctx, v.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range v.Events {
				t.Logf("%s %-9s %s", e.At.Format("05.000"), e.Kind, e.Text)
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
		within := func(group []int, bound time.Duration) bool {
			for x, a := range group {
				for _, b := range group[x+1:] {
					if s.RTT(a, b) > bound {
						return false
					}
				}
			}
			return true
		}

		scenario(t, "cheapest feasible pair wins", func() {
			const bound = 40 * time.Millisecond
			v := submit(market.Spec{Workers: 2, MaxRTT: p2p.Duration(bound)})
			if v.State != market.StateFormed {
				t.Fatalf("state %s: %s", v.State, v.Error)
			}
			// The cheapest pair of providers whose true RTT is within the bound.
			var best []int
			bestCost := 0.0
			for a := 1; a < len(s.Nodes); a++ {
				for b := a + 1; b < len(s.Nodes); b++ {
					if c := marketPrice(a) + marketPrice(b); s.RTT(a, b) <= bound && (best == nil || c < bestCost) {
						best, bestCost = []int{a, b}, c
					}
				}
			}
			if got := members(v); !slices.Equal(got, best) {
				t.Errorf("cluster %v (%s), want the cheapest feasible pair %v (%s, $%.2f/h)", got, countries(s, got), best, countries(s, best), bestCost)
			}
		})

		scenario(t, "k=4 within 40 ms, a decliner replaced", func() {
			const bound = 40 * time.Millisecond
			decliner := 1 // the cheapest in Europe, next to the requester
			s.SetBadActor(decliner, nodetest.BadActor{DeclineAwards: "busy with another job"})
			defer s.SetBadActor(decliner, nodetest.BadActor{})
			v := submit(market.Spec{Workers: 4, MaxRTT: p2p.Duration(bound)})
			if v.State != market.StateFormed {
				t.Fatalf("state %s: %s", v.State, v.Error)
			}
			got := members(v)
			if len(got) != 4 || !within(got, bound) {
				t.Errorf("cluster %v (%s): want 4 providers pairwise within %s in truth", got, countries(s, got), bound)
			}
			if slices.Contains(got, decliner) {
				t.Errorf("the decliner is in the cluster %v", got)
			}
			declined := slices.ContainsFunc(v.Events, func(e market.Event) bool {
				return e.Kind == "declined" && e.Peer == s.Nodes[decliner].PeerID().String()
			})
			if !declined {
				t.Errorf("no decline from the cheapest provider in the job's events: it was never awarded")
			}
			if sc := req.Reputation().Score(s.Nodes[decliner].PeerID()); sc >= 0.5 {
				t.Errorf("decliner's reputation %.3f, want below a newcomer's 0.5", sc)
			}
			if v.MaxPairRTTMS <= 0 || v.MaxPairRTTMS > 40 {
				t.Errorf("measured max pairwise RTT %.1f ms, want in (0, 40]", v.MaxPairRTTMS)
			}
		})

		scenario(t, "a provider that failed a challenge is not chosen", func() {
			// Virtual time does not pass while a CPU multiplies matrices,
			// so the challenge's speed check means nothing in this bubble;
			// TestChallengeVerdictsReachReputation puts a real one.
			cheat := 2
			req.Reputation().Record(s.Nodes[cheat].PeerID(), reputation.ChallengeFailed, "claimed H100-80GB, too slow")
			v := submit(market.Spec{Workers: 2, MaxRTT: p2p.Duration(40 * time.Millisecond)})
			if v.State != market.StateFormed {
				t.Fatalf("state %s: %s", v.State, v.Error)
			}
			if slices.Contains(members(v), cheat) {
				t.Errorf("the provider that failed a challenge is in the cluster %v", members(v))
			}
			if !strings.Contains(v.Placement, "below your reputation") && !slices.ContainsFunc(v.Events, func(e market.Event) bool {
				return strings.Contains(e.Text, "below your reputation")
			}) {
				t.Errorf("nothing says a bid was dropped for reputation")
			}
		})

		scenario(t, "an impossible bound is explained", func() {
			v := submit(market.Spec{Workers: 4, MaxRTT: p2p.Duration(2 * time.Millisecond)})
			if v.State != market.StateFailed {
				t.Fatalf("state %s, want failed", v.State)
			}
			for _, want := range []string{"bids received", "within 2.0 ms", "too far from the rest", "without the RTT bound the cheapest 4 workers cost"} {
				if !strings.Contains(v.Error, want) {
					t.Errorf("explanation %q lacks %q", v.Error, want)
				}
			}
		})
	})
}

// scenario runs one part of a test in a synctest bubble, where t.Run is
// not allowed: failures name the part through the log line before them.
func scenario(t *testing.T, name string, fn func()) {
	t.Helper()
	t.Logf("=== %s", name)
	fn()
}

func countries(s *nodetest.Sim, idx []int) string {
	out := make([]string, len(idx))
	for i, x := range idx {
		out[i] = s.Country(x)
	}
	return strings.Join(out, " ")
}
