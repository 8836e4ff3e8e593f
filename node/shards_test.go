//go:build linux && cgo

package node_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// anyJobsAccepted is how many job requests n's router accepted on every
// jobs topic, version 2 and shards.
func anyJobsAccepted(n *node.Node) uint64 {
	var sum uint64
	for _, t := range append([]string{gossip.TopicJobs}, gossip.JobShardTopics()...) {
		sum += jobsAccepted(n, t)
	}
	return sum
}

// submitAndForm submits spec from req and waits for its cluster.
func submitAndForm(t *testing.T, req *node.Node, spec market.Spec) market.JobView {
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
	if v.State != market.StateFormed {
		for _, e := range v.Events {
			t.Logf("%s %-9s %s", e.At.Format("15:04:05.000"), e.Kind, e.Text)
		}
		t.Fatalf("state %s: %s", v.State, v.Error)
	}
	return v
}

// TestShardedRequestReachesOnlyItsShard: once the network has moved
// (gossip.legacy_jobs_topic off), a CPU job asked in the EU travels on
// gpumesh/jobs/3/cpu/eu alone: the EU CPU providers receive it and form its
// cluster; a US CPU provider (another region) and an EU GPU provider
// (another pool) never receive it on any jobs topic.
func TestShardedRequestReachesOnlyItsShard(t *testing.T) {
	if testing.Short() {
		t.Skip("a five-node fleet")
	}
	// 0 requester; 1, 2 CPU in DE; 3 CPU in the US; 4 GPUs in DE.
	f := nodetest.Start(t, 5, nodetest.Options{
		Configure: func(i int, c *config.Config) {
			c.Offer.Enabled = i > 0
			c.Market.VerifyClass = market.VerifyOff
			c.Gossip.LegacyJobsTopic = false
			c.Offer.Country = map[int]string{1: "DE", 2: "DE", 3: "US", 4: "DE"}[i]
			c.Offer.Region = map[int]string{1: "EU", 2: "EU", 3: "NA", 4: "EU"}[i]
			if i == 4 {
				c.Offer.Prices = []string{"gpu=1.00", "cpu=0.05"}
			}
		},
		DetectNode: func(i int) nodetest.DetectFunc {
			if i == 4 {
				return nodetest.MockGPUs(gpus.A100_PCIE_40GB, 1)
			}
			return nil
		},
	})
	f.WaitHeard(t, 30*time.Second)
	const shard = "gpumesh/jobs/3/cpu/eu"
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		for _, n := range f.Nodes[1:] {
			if !n.Offering() {
				return false
			}
		}
		return len(f.Nodes[1].Gossip().TopicPeers(shard)) > 0
	}, func() string { return "providers did not offer, or the cpu/eu shard has no mesh" })

	v := submitAndForm(t, f.Nodes[0], market.Spec{Workers: 2, Pool: "cpu", Regions: []string{"EU"}})
	for _, m := range v.Cluster {
		if m.Peer != f.Nodes[1].PeerID().String() && m.Peer != f.Nodes[2].PeerID().String() {
			t.Errorf("cluster member %s is not an EU CPU provider", m.Peer)
		}
	}
	for _, i := range []int{1, 2} {
		if got := jobsAccepted(f.Nodes[i], shard); got == 0 {
			t.Errorf("EU CPU provider %d received no request on its shard", i)
		}
	}
	for _, i := range []int{3, 4} {
		if got := anyJobsAccepted(f.Nodes[i]); got != 0 {
			t.Errorf("provider %d (not cpu/eu) received %d job requests: %v", i, got, f.Nodes[i].Gossip().Stats().ByTopic)
		}
	}
	// GossipSub validates our own message once: one request, one topic.
	if got := anyJobsAccepted(f.Nodes[0]); got != 1 {
		t.Errorf("the requester accepted %d job requests, want its own, once: %v", got, f.Nodes[0].Gossip().Stats().ByTopic)
	}
}

// TestShardsMixedVersions: nodes with gossip.job_shards off stand for
// version 2 nodes (gpumesh/jobs/2 alone); the new ones run the defaults,
// gossip.legacy_jobs_topic on. A version 2 requester's job reaches a new
// provider, which still listens on gpumesh/jobs/2; a new requester's job
// reaches a version 2 provider, since it is published there too.
func TestShardsMixedVersions(t *testing.T) {
	if testing.Short() {
		t.Skip("a four-node fleet")
	}
	// 0 old requester; 1 new requester; 2 new provider in DE; 3 old
	// provider in FR. Both are in the eu shard; a job asked in DE or FR
	// fits one of them only.
	old := func(i int) bool { return i == 0 || i == 3 }
	f := nodetest.Start(t, 4, nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i >= 2
		c.Market.VerifyClass = market.VerifyOff
		c.Gossip.JobShards = !old(i)
		c.Offer.Country = map[int]string{2: "DE", 3: "FR"}[i]
	}})
	f.WaitHeard(t, 30*time.Second)
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		return f.Nodes[2].Offering() && f.Nodes[3].Offering() && len(f.Nodes[3].Gossip().TopicPeers(gossip.TopicJobs)) > 0
	}, func() string { return "providers did not offer, or the version 2 topic has no mesh" })
	newProv, oldProv := f.Nodes[2].PeerID().String(), f.Nodes[3].PeerID().String()

	v := submitAndForm(t, f.Nodes[0], market.Spec{Workers: 1, Regions: []string{"DE"}})
	if len(v.Cluster) != 1 || v.Cluster[0].Peer != newProv {
		t.Errorf("old requester's cluster %+v, want the new provider", v.Cluster)
	}
	if jobsAccepted(f.Nodes[2], gossip.TopicJobs) == 0 {
		t.Error("the new provider did not hear the version 2 request on gpumesh/jobs/2")
	}

	v = submitAndForm(t, f.Nodes[1], market.Spec{Workers: 1, Regions: []string{"FR"}})
	if len(v.Cluster) != 1 || v.Cluster[0].Peer != oldProv {
		t.Errorf("new requester's cluster %+v, want the old provider", v.Cluster)
	}
	for _, s := range gossip.JobShardTopics() {
		if got := jobsAccepted(f.Nodes[3], s); got != 0 {
			t.Errorf("the version 2 provider accepted %d messages on shard %s", got, s)
		}
	}
	// The new provider hears the new request on its shard and on
	// gpumesh/jobs/2 (a request's shards and the version 2 topic are
	// distinct messages to GossipSub); its market bids once.
	nodetest.WaitFor(t, 10*time.Second, func() bool { return jobsAccepted(f.Nodes[2], "gpumesh/jobs/3/cpu/eu") == 1 }, func() string {
		return fmt.Sprintf("the new provider accepted %v, want the new request on its shard", f.Nodes[2].Gossip().Stats().ByTopic)
	})
}

// TestShardWithNoMeshInvites: a requester past the transition (version 2
// topic off) whose request's shards have no subscriber, the only provider
// being a version 2 one, still gets its cluster: it invites through the
// capability keys whatever the network's size.
func TestShardWithNoMeshInvites(t *testing.T) {
	if testing.Short() {
		t.Skip("a three-node fleet")
	}
	f := nodetest.Start(t, 3, nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i == 2
		c.Market.VerifyClass = market.VerifyOff
		c.Market.InviteAbove = 1 << 20 // the network is far too small to invite by size
		c.Gossip.LegacyJobsTopic = false
		c.Gossip.JobShards = i != 2 // the provider is a version 2 node
	}})
	f.WaitHeard(t, 30*time.Second)
	nodetest.WaitFor(t, 30*time.Second, f.Nodes[2].Offering, func() string { return "the provider did not offer" })

	v := submitAndForm(t, f.Nodes[0], market.Spec{Workers: 1, Pool: "cpu"})
	if len(v.Cluster) != 1 || v.Cluster[0].Peer != f.Nodes[2].PeerID().String() {
		t.Errorf("cluster %+v, want the version 2 provider", v.Cluster)
	}
	if got := anyJobsAccepted(f.Nodes[2]); got != 0 {
		t.Errorf("the provider heard the request on gossip (%v); it should only have been invited", f.Nodes[2].Gossip().Stats().ByTopic)
	}
	invited := false
	for _, e := range v.Events {
		invited = invited || e.Kind == "invited"
	}
	if !invited {
		t.Errorf("no invitation went out; events: %s", fmt.Sprint(v.Events))
	}
}

// TestOfferMoveMovesShards: a provider whose offer moves from the EU to
// North America while it runs leaves cpu/eu for cpu/na.
func TestOfferMoveMovesShards(t *testing.T) {
	f := nodetest.Start(t, 1, nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = true
		c.Offer.Country = "DE"
	}})
	n := f.Nodes[0]
	eu, na := "gpumesh/jobs/3/cpu/eu", "gpumesh/jobs/3/cpu/na"
	if subs := n.Gossip().Subscriptions(); !slices.Contains(subs, eu) || slices.Contains(subs, na) {
		t.Fatalf("subscriptions %v, want %s", subs, eu)
	}
	c := n.Config().Offer
	c.Country = "US"
	if err := n.SetOffer(c); err != nil {
		t.Fatal(err)
	}
	if subs := n.Gossip().Subscriptions(); slices.Contains(subs, eu) || !slices.Contains(subs, na) || !slices.Contains(subs, gossip.TopicCapacity) {
		t.Errorf("subscriptions after the move %v, want %s and not %s", subs, na, eu)
	}
}
