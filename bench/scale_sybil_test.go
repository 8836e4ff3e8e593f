package main

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// sybilFactor is how many Sybils join per honest node.
const sybilFactor = 2

// sybilBidders is how many full nodes join last, bidding on every job and
// running nothing (nodetest.BadActor.NeverRun).
const sybilBidders = 10

// TestScaleSybil runs 30 honest nodes (30% behind the modelled NAT, 2
// requesters) and then a Sybil swarm twice their number: bare libp2p hosts
// with GossipSub on the simulated network (nodetest.Sim.Sybil), each
// connected to every honest node and subscribed to every jobs and capacity
// topic, sharded or not. The swarm first stays silent, taking mesh slots
// and forwarding nothing (an eclipse attempt), then floods every jobs
// topic with garbage. After each phase it measures recovery (as
// TestScaleBadInput: a one-worker job reaching >= stormReach of the
// providers and forming), the share of providers jobs of k = 2 and 4
// reach and their time to form, and the honest nodes' GossipSub scores of
// the Sybils. The figures are in docs/scale.md, "Bad input".
func TestScaleSybil(t *testing.T) {
	if raceEnabled {
		t.Skip("30 full nodes under the race detector take minutes; the race run skips the scale tests")
	}
	p := scaleParams{N: 30, NATShare: 0.3, Requesters: 2, Seed: 29}
	nSybil := sybilFactor * p.N
	bidder := func(i int) bool { return i >= p.N && i < p.N+sybilBidders }
	runWatchedFunc(t, func(t *testing.T) {
		s := nodetest.StartScale(t, p.N, nodetest.ScaleOptions{
			Seed: p.Seed, NATShare: p.NATShare, Spare: sybilBidders + nSybil,
			Offer: func(i int) bool { return i != 0 && (i < p.N-p.Requesters || bidder(i)) },
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
			t.Fatalf("the market did not work before the Sybils came")
		} else {
			t.Logf("baseline: a job reached >= %.0f%% of the providers and formed in %s", 100*stormReach, d)
		}
		probeK(t, s, r, providers(), "baseline")

		// The swarm joins: each Sybil connects to every honest node.
		sybils := make([]*nodetest.Attacker, nSybil)
		for k := range sybils {
			sybils[k] = s.Sybil(t, p.N+sybilBidders+k, nodetest.AttackerOptions{})
		}
		honest := slices.DeleteFunc(slices.Clone(s.Nodes[:p.N]), func(nd *node.Node) bool { return nd == nil })
		var wg sync.WaitGroup
		for _, a := range sybils {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := a.Join(ctx, honest...); err != nil {
					t.Logf("sybil %s: %v", a.ID(), err)
				}
			})
		}
		wg.Wait()
		// Two heartbeats: the meshes take the Sybils in.
		time.Sleep(time.Minute)
		ids := map[peer.ID]bool{}
		for _, a := range sybils {
			ids[a.ID()] = true
		}
		logSybilShare(t, s, r, providers(), sybils, ids, "silent swarm joined")
		checkRecovery(t, s, r, providers, "a silent Sybil swarm (%d, %dx the honest nodes) joined every class topic", nSybil, sybilFactor)
		probeK(t, s, r, providers(), "silent swarm")
		logScores(t, s, ids, "after the silent phase")

		// The swarm floods every jobs topic with garbage and unsigned
		// envelopes for a minute (10 messages a second each, all topics).
		topics := slices.Concat([]string{gossip.TopicJobs}, gossip.JobShardTopics())
		flood, stop := context.WithCancel(context.Background())
		for k, a := range sybils {
			wg.Go(func() { floodTopics(flood, a, topics, k) })
		}
		time.Sleep(10 * time.Second)
		checkRecovery(t, s, r, providers, "the swarm flooding every jobs topic with invalid messages")
		probeK(t, s, r, providers(), "during the flood")
		time.Sleep(30 * time.Second)
		stop()
		wg.Wait()
		logSybilShare(t, s, r, providers(), sybils, ids, "after the flood")
		logScores(t, s, ids, "after the flood")

		// Full nodes that bid on every job and run nothing join.
		for range sybilBidders {
			i, err := s.Join()
			if err != nil {
				t.Fatalf("bidder: %v", err)
			}
			s.SetBadActor(i, nodetest.BadActor{NeverRun: true})
		}
		time.Sleep(30 * time.Second)
		probeBidders(t, s, r, bidder, len(providers()))
	})
}

// floodTopics publishes, until ctx ends, one invalid message every 100 ms
// on the next of topics in turn: random bytes, or a truncated envelope.
func floodTopics(ctx context.Context, a *nodetest.Attacker, topics []string, seed int) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for n := seed; ; n++ {
		data := nodetest.Garbage(64 + n%512)
		if n%2 == 0 {
			data = nodetest.Frame(data) // a length prefix, no signature
		}
		_ = a.PublishRaw(ctx, topics[n%len(topics)], data)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// probeK submits one job each of k = 2 and k = 4 from r and logs whether it
// formed, how long forming took and the share of the providers in live its
// request reached.
func probeK(t *testing.T, s *nodetest.Scale, r *node.Node, live []int, what string) {
	t.Helper()
	for _, k := range []int{2, 4} {
		start := time.Now()
		v, formed := submitK(r, k)
		id := v.ID
		took := time.Since(start)
		time.Sleep(2 * time.Second)
		t.Logf("%s: k=%d formed=%v in %s, request reached %.0f%% of %d providers",
			what, k, formed, took.Round(time.Millisecond), 100*reached(s.Received(id), live), len(live))
		if !formed {
			t.Errorf("%s: a job of k=%d did not form", what, k)
		}
	}
}

// submitK is submitOne for a job of k workers; it returns the job's view.
func submitK(r *node.Node, k int) (market.JobView, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v, err := r.Market().Submit(ctx, market.Spec{Workers: k})
	if err != nil {
		return market.JobView{}, false
	}
	v, err = r.Market().Wait(ctx, v.ID)
	_ = r.Market().Cancel(v.ID)
	return v, err == nil && v.State == market.StateFormed
}

// probeBidders submits 5 jobs each of k = 2 and 4 from r and logs how many
// formed and how many of their cluster members are bad bidders (bidder).
// Runs are not started: what is measured is the share of the clusters the
// bidders capture, each of which a real job would have to fail over.
func probeBidders(t *testing.T, s *nodetest.Scale, r *node.Node, bidder func(int) bool, honest int) {
	t.Helper()
	bad := map[string]bool{}
	for i, nd := range s.Nodes {
		if nd != nil && bidder(i) {
			bad[nd.PeerID().String()] = true
		}
	}
	for _, k := range []int{2, 4} {
		var formed, members, captured, hit, bids int
		for range 5 {
			v, ok := submitK(r, k)
			if !ok {
				continue
			}
			formed++
			bids += v.Bids
			any := false
			for _, m := range v.Cluster {
				members++
				if bad[m.Peer] {
					captured++
					any = true
				}
			}
			if any {
				hit++
			}
		}
		t.Logf("%d bad bidders beside %d honest providers: k=%d: %d of 5 jobs formed; %d of %d cluster members are bad bidders; %d of %d clusters hold one or more; %.1f bids a job",
			len(bad), honest, k, formed, captured, members, hit, formed, float64(bids)/float64(max(formed, 1)))
		if formed == 0 {
			t.Errorf("with bad bidders no job of k=%d formed", k)
		}
	}
}

// logSybilShare logs the share of Sybils among the peers the requester r
// and the providers in live know on their jobs topics, and how many mesh
// slots the Sybils hold.
func logSybilShare(t *testing.T, s *nodetest.Scale, r *node.Node, live []int, sybils []*nodetest.Attacker, ids map[peer.ID]bool, what string) {
	t.Helper()
	var syb, all int
	for _, nd := range append([]*node.Node{r}, nodesOf(s, live)...) {
		for _, tp := range slices.Concat([]string{gossip.TopicJobs}, gossip.JobShardTopics()) {
			for _, pid := range nd.Gossip().TopicPeers(tp) {
				all++
				if ids[pid] {
					syb++
				}
			}
		}
	}
	if all == 0 {
		t.Logf("%s: no jobs topic peers", what)
		return
	}
	t.Logf("%s: Sybils are %.0f%% of the jobs topic peers the honest nodes know (%d of %d)", what, 100*float64(syb)/float64(all), syb, all)
	mesh := 0
	for _, a := range sybils {
		mesh += a.MeshSize()
	}
	t.Logf("%s: the Sybils hold %d (topic, honest node) mesh slots", what, mesh)
}

// nodesOf returns the running nodes of live.
func nodesOf(s *nodetest.Scale, live []int) []*node.Node {
	var out []*node.Node
	for _, i := range live {
		if nd := s.Nodes[i]; nd != nil {
			out = append(out, nd)
		}
	}
	return out
}

// logScores logs the honest nodes' GossipSub scores of the Sybils: the
// lowest, the mean, and how many (node, Sybil) pairs are below the
// graylist threshold (-2500) or still connected.
func logScores(t *testing.T, s *nodetest.Scale, ids map[peer.ID]bool, what string) {
	t.Helper()
	var n, gray, conn int
	var sum, low float64
	for _, i := range s.Live() {
		nd := s.Nodes[i]
		for pid := range ids {
			if len(nd.Network().Host().Network().ConnsToPeer(pid)) > 0 {
				conn++
			}
			sc, ok := nd.Gossip().PeerScore(pid)
			if !ok {
				continue
			}
			n++
			sum += sc
			low = min(low, sc)
			if sc < -2500 {
				gray++
			}
		}
	}
	if n == 0 {
		t.Logf("%s: the honest nodes hold no score for any Sybil (%d connections)", what, conn)
		return
	}
	t.Logf("%s: %d (node, Sybil) pairs scored, mean score %.1f, lowest %.1f, %d below the graylist threshold (-2500); %d connections",
		what, n, sum/float64(n), low, gray, conn)
}
