package node

import (
	"slices"

	"github.com/gpumesh/gpumesh/gossip"
)

// gossipTopics are the topics this node subscribes to: capacity and
// anchors; a provider's jobs shards (gossip.OfferJobTopics, from its
// devices' pools and its offer's region and country); and, while
// gossip.legacy_jobs_topic is on, a provider's version 2 jobs topic too.
// A node that offers nothing subscribes to no jobs topic: it only
// publishes on the shards of its own requests.
func (n *Node) gossipTopics() []string {
	topics := []string{gossip.TopicCapacity, gossip.TopicAnchors}
	if !n.cfg.Offer.Enabled {
		return topics
	}
	topics = append(topics, n.jobShards()...)
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
	c := n.cfg.Offer
	return gossip.OfferJobTopics(pools, c.Region, c.Country)
}
