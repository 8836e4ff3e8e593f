package main

import (
	"fmt"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
)

// idleCost is what the nodes of a simulated network received per node per
// virtual second over an idle window: gossip messages that reached
// validation, and stream bytes, in all and on GossipSub.
type idleCost struct {
	msgs, bytes, gossipBytes float64
	proto                    map[string]float64 // bytes/s per node by protocol
	samples                  int                // fewest RTT samples of any node
}

// TestCapacityShardsIdleCost runs the B13 network (30 nodes, no NAT, the
// production heartbeat interval, virtual time) idle for two minutes with
// gossip.legacy_capacity_topic and legacy_jobs_topic on (the transition
// release) and off, and compares what each node receives: with the
// version 2 topics off, an idle node receives no heartbeat, and every node
// still forms its network coordinate (docs/scale.md, "Heartbeats
// sharded").
func TestCapacityShardsIdleCost(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("two 30-node simulated networks")
	}
	on, off := runIdle(t, true), runIdle(t, false)
	t.Logf("legacy on:  %.2f msgs/s, %.0f B/s (GossipSub %.0f B/s) per node; fewest samples %d; by protocol %v", on.msgs, on.bytes, on.gossipBytes, on.samples, on.proto)
	t.Logf("legacy off: %.2f msgs/s, %.0f B/s (GossipSub %.0f B/s) per node; fewest samples %d; by protocol %v", off.msgs, off.bytes, off.gossipBytes, off.samples, off.proto)
	if on.msgs < 0.5 {
		t.Errorf("with the version 2 topic on, %.2f messages/s per node: the heartbeats did not flow", on.msgs)
	}
	if off.msgs != 0 {
		t.Errorf("with the version 2 topics off, an idle node received %.2f messages/s, want none", off.msgs)
	}
	if off.samples < 2 {
		t.Errorf("with the version 2 topics off, a node took %d RTT samples, want >= 2", off.samples)
	}
}

// runIdle starts the network with the legacy keys set to legacy, lets it
// settle, and measures an idle window.
func runIdle(t *testing.T, legacy bool) idleCost {
	var cost idleCost
	t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			const n = 30
			s := nodetest.StartScale(t, n, nodetest.ScaleOptions{Seed: 23, Configure: func(_ int, c *config.Config) {
				c.Gossip.LegacyCapacityTopic, c.Gossip.LegacyJobsTopic = legacy, legacy
			}})
			s.WaitRoutingTables(t, 3, 5*time.Minute)
			time.Sleep(90 * time.Second)
			msgs0, bytes0, gossip0 := idleTotals(s)
			proto0 := protoTotals(s)
			start := time.Now()
			time.Sleep(2 * time.Minute)
			msgs1, bytes1, gossip1 := idleTotals(s)
			per := time.Since(start).Seconds() * n
			cost = idleCost{msgs: float64(msgs1-msgs0) / per, bytes: float64(bytes1-bytes0) / per, gossipBytes: float64(gossip1-gossip0) / per,
				proto: map[string]float64{}, samples: -1}
			for p, v := range protoTotals(s) {
				cost.proto[p] = math.Round(float64(v-proto0[p]) / per)
			}
			for _, nd := range s.Nodes {
				if k := nd.Network().Latency().Samples(); cost.samples < 0 || k < cost.samples {
					cost.samples = k
				}
			}
		})
	})
	return cost
}

// idleTotals sums over the nodes the gossip messages that reached
// validation (not counting their own), the stream bytes received, and
// those on GossipSub.
func idleTotals(s *nodetest.Scale) (msgs uint64, bytes, gossip int64) {
	for i, nd := range s.Nodes {
		st := nd.Gossip().Stats()
		msgs += st.Accepted + st.Ignored - st.Published
		for _, v := range st.Rejected {
			msgs += v
		}
		tot := s.Meter(i).Totals()
		bytes += tot.In
		for p, v := range tot.ProtoIn {
			if len(p) > 8 && p[:8] == "/meshsub" {
				gossip += v
			}
		}
	}
	return msgs, bytes, gossip
}

// protoTotals sums the stream bytes the nodes received, by protocol.
func protoTotals(s *nodetest.Scale) map[string]int64 {
	out := map[string]int64{}
	for i := range s.Nodes {
		for p, v := range s.Meter(i).Totals().ProtoIn {
			out[string(p)] += v
		}
	}
	return out
}
