package node

import (
	"slices"

	"github.com/gpumesh/gpumesh/gossip"
)

// gossipTopics are the topics this node subscribes to: capacity and
// anchors; a provider's jobs shards (gossip.OfferJobTopics, from its
// devices' pools and its offer's region and country); and, while
// gossip.legacy_jobs_topic is on, the version 2 jobs topic, as every
// version 2 node did (its mesh stays as wide as before for the release
// both versions share). Past the transition a node that offers nothing
// subscribes to no jobs topic: it only publishes on its requests' shards.
// With gossip.job_shards off it joins what a version 2 node joins.
func (n *Node) gossipTopics() []string {
	if !n.cfg.Gossip.JobShards {
		return gossip.Topics
	}
	topics := []string{gossip.TopicCapacity, gossip.TopicAnchors}
	if n.cfg.Offer.Enabled {
		topics = append(topics, n.jobShards()...)
	}
	if n.cfg.Gossip.LegacyJobsTopic {
		topics = append(topics, gossip.TopicJobs)
	}
	return topics
}

// jobShards are the version 3 jobs topics this node serves, as its
// offer describes it.
func (n *Node) jobShards() []string {
	var pools []string
	for _, d := range n.hw.Devices {
		if !slices.Contains(pools, d.Pool) {
			pools = append(pools, d.Pool)
		}
	}
	c := n.Config().Offer
	return gossip.OfferJobTopics(pools, c.Region, c.Country)
}

// requestTopics is the market's Deps.JobTopics: the request's shards and,
// while gossip.legacy_jobs_topic is on, the version 2 jobs topic too, so
// that version 2 providers still hear it (new providers hear it twice and
// bid once); nil (the version 2 topic alone) with gossip.job_shards off.
func (n *Node) requestTopics() func(*gossip.JobRequest) []string {
	if !n.cfg.Gossip.JobShards {
		return nil
	}
	if !n.cfg.Gossip.LegacyJobsTopic {
		return gossip.RequestJobTopics
	}
	return func(req *gossip.JobRequest) []string {
		return append(gossip.RequestJobTopics(req), gossip.TopicJobs)
	}
}

// moveShards subscribes this node to the topics its offer now calls for
// (gpumesh offer set may change its region or country while it runs).
func (n *Node) moveShards() {
	if n.gossip == nil || !n.cfg.Gossip.JobShards {
		return
	}
	if err := n.gossip.Resubscribe(n.gossipTopics()); err != nil {
		n.log.Warn("could not move to the offer's jobs shards", "err", err)
	}
}
