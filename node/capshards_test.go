//go:build linux && cgo

package node_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// TestCapacityShards: a requester and three CPU providers, two in the EU
// and one in the US, with gossip.legacy_capacity_topic on (the transition
// release) and off (after it). Off, an idle node hears no heartbeat at
// all: providers announce on their shards, which only requesters with
// running jobs subscribe to. Either way every node forms a network
// coordinate (off, from coordinate exchanges alone), an EU job forms, the
// requester follows its provider's capacity shard for the job's life,
// hears the provider there and scores its liveness (TestWatchTopics: and
// leaves the shard once the job ends).
func TestCapacityShards(t *testing.T) {
	if testing.Short() {
		t.Skip("two four-node fleets")
	}
	for _, legacy := range []bool{true, false} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) { testCapacityShards(t, legacy) })
	}
}

func testCapacityShards(t *testing.T, legacy bool) {
	// 0 requester; 1, 2 CPU in DE; 3 CPU in the US.
	f := nodetest.Start(t, 4, nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i > 0
		c.Market.VerifyClass = market.VerifyOff
		c.Gossip.LegacyCapacityTopic = legacy
		c.Gossip.LegacyJobsTopic = legacy
		c.Offer.Country = map[int]string{1: "DE", 2: "DE", 3: "US"}[i]
	}})
	f.WaitHeard(t, 30*time.Second)
	req, eu1, eu2, us := f.Nodes[0], f.Nodes[1], f.Nodes[2], f.Nodes[3]
	const shard = "gpumesh/capacity/3/cpu/eu"
	if got := eu1.Gossip().HeartbeatTopics(); !slices.Contains(got, shard) || slices.Contains(got, gossip.TopicCapacity) != legacy {
		t.Errorf("an EU provider announces on %v", got)
	}
	if _, ok := eu1.Gossip().Presence().Lookup(eu2.PeerID()); ok != legacy {
		t.Errorf("an EU provider heard the other: %v", ok)
	}
	if !legacy {
		for i, n := range f.Nodes {
			if got := n.Gossip().Presence().Alive(time.Now()); len(got) != 0 {
				t.Errorf("idle node %d heard %d heartbeats", i, len(got))
			}
		}
		if got := req.Gossip().HeartbeatTopics(); len(got) != 0 {
			t.Errorf("a requester that offers nothing announces on %v", got)
		}
	}
	// Every node forms a coordinate, the requester included: it hears no
	// heartbeat with the version 2 topic off, so its samples come from
	// coordinate exchanges.
	f.WaitSamples(t, 2, time.Minute)
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		c := req.Coordinate()
		return c.Known && slices.ContainsFunc(c.Nearest, func(nb api.Nearby) bool { return nb.EstimatedMS > 0 })
	}, func() string { return fmt.Sprintf("the requester's coordinate view: %+v", req.Coordinate()) })
	for _, n := range f.Nodes[1:] {
		nodetest.WaitFor(t, 30*time.Second, func() bool { return n.Offering() }, func() string { return "a provider did not offer" })
	}

	v := submitAndForm(t, req, market.Spec{Workers: 1, Pool: "cpu", Regions: []string{"DE"}})
	winner, _ := peer.Decode(v.Cluster[0].Peer)
	if winner != eu1.PeerID() && winner != eu2.PeerID() {
		t.Fatalf("winner %s is not an EU provider", winner)
	}
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		return slices.Contains(req.Gossip().Subscriptions(), shard)
	}, func() string { return fmt.Sprintf("the requester follows %v", req.Gossip().Subscriptions()) })
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		_, ok := req.Gossip().Presence().Lookup(winner)
		return ok && (legacy || req.Gossip().Stats().ByTopic[shard] > 0)
	}, func() string {
		return fmt.Sprintf("the requester has not heard the winner: %v", req.Gossip().Stats().ByTopic)
	})
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		view, ok := req.Reputation().View(winner)
		return ok && view.Counts[reputation.HeartbeatOnTime] > 0
	}, func() string {
		view, _ := req.Reputation().View(winner)
		return fmt.Sprintf("winner's record in the requester's book: %+v", view.Counts)
	})
	if view, _ := req.Reputation().View(winner); view.Counts[reputation.HeartbeatMissed] > 0 {
		t.Errorf("the winner was scored as missing heartbeats: %+v", view.Counts)
	}
	// The peers list says when each peer was last heard, and how.
	for _, p := range req.Peers() {
		if p.ID == winner.String() && (p.LastHeard == nil || p.HeardVia == "") {
			t.Errorf("the winner's row in the requester's peers: %+v", p)
		}
	}
	if !legacy {
		if got := req.Gossip().Stats().ByTopic[gossip.TopicCapacity]; got != 0 {
			t.Errorf("the requester accepted %d heartbeats on the version 2 topic", got)
		}
		if _, ok := us.Gossip().Presence().Lookup(eu1.PeerID()); ok {
			t.Error("the US provider heard an EU provider's heartbeat")
		}
	}
}

// TestCapacityShardsMixedVersions: a node with gossip.job_shards off
// stands for a version 2 node (heartbeats on gpumesh/capacity/2 alone); a
// new provider and a new requester run the defaults (legacy topics on).
// Old and new hear each other's heartbeats, and the new requester scores
// the liveness of the old provider it hires.
func TestCapacityShardsMixedVersions(t *testing.T) {
	if testing.Short() {
		t.Skip("a three-node fleet")
	}
	// 0 new requester; 1 old provider in DE; 2 new provider in the US.
	f := nodetest.Start(t, 3, nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i > 0
		c.Market.VerifyClass = market.VerifyOff
		c.Gossip.JobShards = i != 1
		c.Offer.Country = map[int]string{1: "DE", 2: "US"}[i]
	}})
	f.WaitHeard(t, 30*time.Second)
	old, young := f.Nodes[1], f.Nodes[2]
	if got := old.Gossip().HeartbeatTopics(); !slices.Equal(got, []string{gossip.TopicCapacity}) {
		t.Errorf("the old node announces on %v", got)
	}
	if got := young.Status().Announces; !slices.Equal(got, []string{"gpumesh/capacity/3/cpu/na", gossip.TopicCapacity}) {
		t.Errorf("the new US provider's status says it announces on %v", got)
	}
	for _, pair := range [][2]int{{1, 2}, {2, 1}, {0, 1}, {0, 2}} {
		if _, ok := f.Nodes[pair[0]].Gossip().Presence().Lookup(f.Nodes[pair[1]].PeerID()); !ok {
			t.Errorf("node %d has not heard node %d", pair[0], pair[1])
		}
	}
	nodetest.WaitFor(t, 30*time.Second, func() bool { return old.Offering() && young.Offering() },
		func() string { return "providers did not offer" })
	v := submitAndForm(t, f.Nodes[0], market.Spec{Workers: 1, Pool: "cpu", Regions: []string{"DE"}})
	if v.Cluster[0].Peer != old.PeerID().String() {
		t.Fatalf("cluster %+v, want the old DE provider", v.Cluster)
	}
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		view, ok := f.Nodes[0].Reputation().View(old.PeerID())
		return ok && view.Counts[reputation.HeartbeatOnTime] > 0
	}, func() string {
		view, _ := f.Nodes[0].Reputation().View(old.PeerID())
		return fmt.Sprintf("the old provider's record: %+v", view.Counts)
	})
}
