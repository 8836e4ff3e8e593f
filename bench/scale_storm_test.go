package main

import (
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p"
)

// Bad input at scale (issue 23): a churn storm, the bootstrap node dying
// and a partition that heals, one after another on one network, each
// followed by a measured recovery. Recovery is the virtual time from the
// event (or the heal) until a job request from a requester reaches at least
// stormReach of the providers then running and its job forms.

// stormReach is the share of running providers a job request must reach
// for the market to count as recovered.
const stormReach = 0.9

// stormLimit bounds each recovery: a market not recovered by then fails
// the test.
const stormLimit = 3 * time.Minute

// TestScaleBadInput runs 30 nodes (30% behind NAT) through a churn storm (a
// third of the providers leave at once, half of them abruptly), then its
// bootstrap node vanishing, then a partition into two halves for a minute
// that heals, and checks that after each the market recovers within
// stormLimit; the recovery times are logged (docs/scale.md, "Bad input").
func TestScaleBadInput(t *testing.T) {
	if raceEnabled {
		t.Skip("30 full nodes under the race detector take minutes; the race run skips the scale tests")
	}
	p := scaleParams{N: 30, NATShare: 0.3, Requesters: 2, Seed: 23}
	runWatchedFunc(t, func(t *testing.T) {
		s := nodetest.StartScale(t, p.N, nodetest.ScaleOptions{
			Seed: p.Seed, NATShare: p.NATShare, Spare: 1,
			Offer: func(i int) bool { return i != 0 && i < p.N-p.Requesters },
			Configure: func(i int, c *config.Config) {
				c.Market.ReserveHold = p2p.Duration(time.Second)
			},
		})
		s.WaitRoutingTables(t, 3, 5*time.Minute)
		time.Sleep(30 * time.Second)
		r := s.Nodes[p.N-1]
		providers := func() []int {
			var out []int
			for _, i := range s.Live() {
				if i != 0 && i < p.N-p.Requesters {
					out = append(out, i)
				}
			}
			return out
		}
		if d, ok := recovery(s, r, providers); !ok {
			t.Fatalf("the market did not work before any bad input")
		} else {
			t.Logf("baseline: a job reached >= %.0f%% of the providers and formed in %s", 100*stormReach, d)
		}

		// A third of the providers leave at once, every other one abruptly.
		gone := providers()
		gone = gone[:len(gone)/3]
		for k, i := range gone {
			if err := s.StopNode(i, k%2 == 0); err != nil {
				t.Fatalf("storm: stop node %d: %v", i, err)
			}
		}
		checkRecovery(t, s, r, providers, "churn storm: %d of %d providers left at once (%d abruptly)", len(gone), len(gone)+len(providers()), (len(gone)+1)/2)

		// The only bootstrap node vanishes.
		if err := s.StopNode(0, true); err != nil {
			t.Fatalf("bootstrap: %v", err)
		}
		checkRecovery(t, s, r, providers, "bootstrap node died (abruptly)")
		// A node joining now knows only the dead bootstrap node.
		j, err := s.Join()
		if err != nil {
			t.Fatalf("join after the bootstrap node died: %v", err)
		}
		time.Sleep(time.Minute)
		t.Logf("a node joining after the bootstrap node died (its only bootstrap peer) has %d peers in its routing table after 1 min",
			s.Nodes[j].Network().DHT().RoutingTable().Size())

		// Two halves, by slot parity, for a minute; the requester is on one.
		s.Partition(func(i int) int { return i % 2 })
		time.Sleep(time.Minute)
		live := providers()
		id, _ := submitOne(r)
		time.Sleep(2 * time.Second)
		split := reached(s.Received(id), live)
		t.Logf("during the partition a request reached %.0f%% of the providers", 100*split)
		if split >= stormReach {
			t.Errorf("a request crossed the partition: reached %.0f%% of the providers", 100*split)
		}
		s.Heal()
		checkRecovery(t, s, r, providers, "partition into two halves for 1 min, healed")
	})
}

// checkRecovery measures the market's recovery (recovery) after the event
// what describes, logs it and fails t if there was none within stormLimit.
func checkRecovery(t *testing.T, s *nodetest.Scale, r *node.Node, providers func() []int, what string, args ...any) {
	t.Helper()
	args = append([]any{}, args...)
	d, ok := recovery(s, r, providers)
	if !ok {
		t.Errorf("no recovery within %s after: "+what, append([]any{stormLimit}, args...)...)
		return
	}
	t.Logf("recovered in %s after: "+what, append([]any{d}, args...)...)
}

// recovery submits a job from r every few seconds until one forms whose
// request reached at least stormReach of the providers running when it was
// sent; it returns the virtual time that took, or false after stormLimit.
func recovery(s *nodetest.Scale, r *node.Node, providers func() []int) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < stormLimit {
		live := providers()
		id, formed := submitOne(r)
		// Gossip to the farthest providers may still be in flight when
		// the job forms.
		time.Sleep(2 * time.Second)
		if id != "" && formed && reached(s.Received(id), live) >= stormReach {
			return time.Since(start), true
		}
	}
	return 0, false
}

// reached is the share of the providers in live that heard a request (rcv).
func reached(rcv map[int]time.Duration, live []int) float64 {
	if len(live) == 0 {
		return 0
	}
	got := 0
	for _, i := range live {
		if _, ok := rcv[i]; ok {
			got++
		}
	}
	return float64(got) / float64(len(live))
}
