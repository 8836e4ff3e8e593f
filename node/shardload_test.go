package node_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
)

// shardLoadCountries puts two CPU providers in each of four regions.
var shardLoadCountries = []string{"DE", "FR", "US", "CA", "JP", "SG", "BR", "AR"}

// TestShardLoad measures what sharding saves: a requester publishes one
// CPU request per provider country, as its node would (its shards, and
// gpumesh/jobs/2 while gossip.legacy_jobs_topic is on). With the version 2
// topic on, every provider receives every request; past the transition
// each receives only its region's, a quarter of them here (four regions).
func TestShardLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("two nine-node fleets")
	}
	on := shardLoad(t, true)
	off := shardLoad(t, false)
	t.Logf("job requests received per provider, %d requests over 4 regions: %.1f with gpumesh/jobs/2, %.1f on shards alone", len(shardLoadCountries), on, off)
	if want := float64(len(shardLoadCountries)); on < want {
		t.Errorf("with gpumesh/jobs/2 a provider received %.1f requests, want all %.0f", on, want)
	}
	if off != 2 {
		t.Errorf("on shards alone a provider received %.1f requests, want its region's 2", off)
	}
}

// shardLoad runs the measurement once and returns the mean number of
// distinct requests a provider's router accepted on any jobs topic.
func shardLoad(t *testing.T, legacy bool) float64 {
	f := nodetest.Start(t, 1+len(shardLoadCountries), nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i > 0
		c.Gossip.LegacyJobsTopic = legacy
		c.Market.Invite = false // gossip alone is measured
		if i > 0 {
			c.Offer.Country = shardLoadCountries[i-1]
		}
	}})
	defer f.Close()
	f.WaitHeard(t, 30*time.Second)
	req, provs := f.Nodes[0], f.Nodes[1:]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var topics []string
	for _, c := range shardLoadCountries {
		r := loadRequest(c)
		topics = gossip.RequestJobTopics(r)
		nodetest.WaitFor(t, 30*time.Second, func() bool { return len(req.Gossip().TopicPeers(topics[0])) > 0 },
			func() string { return "the requester knows no subscriber of " + topics[0] })
		if legacy {
			topics = append(topics, gossip.TopicJobs)
		}
		for _, topic := range topics {
			if err := req.Gossip().Publish(ctx, topic, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Each provider receives its region's two requests on its shard; with
	// the version 2 topic also all eight there.
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		for _, p := range provs {
			if jobsAccepted(p, gossip.TopicJobs) < map[bool]uint64{true: 8}[legacy] || shardAccepted(p) < 2 {
				return false
			}
		}
		return true
	}, func() string { return fmt.Sprint(provs[0].Gossip().Stats().ByTopic) })
	var sum uint64
	for _, p := range provs {
		sum += max(jobsAccepted(p, gossip.TopicJobs), shardAccepted(p))
	}
	return float64(sum) / float64(len(provs))
}

// shardAccepted is how many job requests n accepted on the shards.
func shardAccepted(n *node.Node) uint64 {
	var sum uint64
	for _, t := range gossip.JobShardTopics() {
		sum += jobsAccepted(n, t)
	}
	return sum
}

// loadRequest is a signed-to-be CPU request asking for country.
func loadRequest(country string) *gossip.JobRequest {
	now := time.Now()
	return &gossip.JobRequest{
		ID: gossip.NewJobID(), Seq: uint64(now.UnixNano()), Sent: now, BidDeadline: now.Add(5 * time.Second), Workers: 1,
		PerWorker: gossip.Resources{CPUCores: 1}, Regions: []string{country}, MaxPrice: 1, Duration: time.Minute,
		Executor: "wasm", Workload: "sha256:abcd", Urgency: gossip.UrgencyNormal,
	}
}

// jobsAccepted is how many job requests n's router accepted on topic.
func jobsAccepted(n *node.Node, topic string) uint64 {
	return n.Gossip().Stats().ByTopic[topic]
}
