package node

import (
	"slices"

	"github.com/gpumesh/gpumesh/gossip"
)

// gossipTopics are the topics this node subscribes to: anchors; a
// provider's jobs shards (gossip.OfferJobTopics, from its devices' pools
// and its offer's region and country); the capacity shards of its running
// jobs' providers, for their life; and, while gossip.legacy_jobs_topic
// and gossip.legacy_capacity_topic are on, the version 2 jobs and
// capacity topics, as every version 2 node did (their meshes stay as
// wide as before for the release both versions share). A provider does
// not subscribe to its own capacity shards: no idle node needs another
// provider's heartbeat (coordinates come from direct exchanges,
// coordx.go), so past the transition an idle node receives no heartbeat
// at all, and a node that offers nothing subscribes to no jobs topic
// either: it only publishes on its requests' shards. With
// gossip.job_shards off it joins what a version 2 node joins.
func (n *Node) gossipTopics() []string {
	if !n.cfg.Gossip.JobShards {
		return gossip.Topics
	}
	topics := []string{gossip.TopicAnchors}
	if n.cfg.Gossip.LegacyCapacityTopic {
		topics = append(topics, gossip.TopicCapacity)
	}
	if n.cfg.Offer.Enabled {
		topics = append(topics, n.jobShards()...)
	}
	if n.cfg.Gossip.LegacyJobsTopic {
		topics = append(topics, gossip.TopicJobs)
	}
	for _, t := range n.watch.topics() {
		if !slices.Contains(topics, t) {
			topics = append(topics, t)
		}
	}
	return topics
}

// heartbeatTopics are the topics this node announces itself on: a
// provider's capacity shards (joined, not subscribed: GossipSub sends
// each heartbeat to the shard's subscribers it is connected to, the
// requesters whose jobs it runs, and to no one when none is) and, while
// gossip.legacy_capacity_topic is on, the version 2 capacity topic (every
// node there, as in version 2).
// Past the transition a node that offers nothing announces itself
// nowhere: no one scores its liveness, and its direct peers learn its
// coordinate from it (coordx.go). With gossip.job_shards off, the version
// 2 topic alone.
func (n *Node) heartbeatTopics() []string {
	if !n.cfg.Gossip.JobShards {
		return []string{gossip.TopicCapacity}
	}
	var topics []string
	if n.cfg.Offer.Enabled {
		topics = n.capacityShards()
	}
	if n.cfg.Gossip.LegacyCapacityTopic {
		topics = append(topics, gossip.TopicCapacity)
	}
	return topics
}

// capacityShards are the version 3 capacity topics this node announces
// itself on as a provider: the pairs of its jobs shards.
func (n *Node) capacityShards() []string {
	c := n.Config().Offer
	return gossip.OfferCapacityTopics(n.pools(), c.Region, c.Country)
}

// jobShards are the version 3 jobs topics this node serves, as its
// offer describes it.
func (n *Node) jobShards() []string {
	c := n.Config().Offer
	return gossip.OfferJobTopics(n.pools(), c.Region, c.Country)
}

// pools are the pools of this node's devices.
func (n *Node) pools() []string {
	var pools []string
	for _, d := range n.hw.Devices {
		if !slices.Contains(pools, d.Pool) {
			pools = append(pools, d.Pool)
		}
	}
	return pools
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
// (gpumesh offer set may change its region or country while it runs), and
// announces it on its new capacity shards from the next heartbeat.
func (n *Node) moveShards() {
	if n.gossip == nil || !n.cfg.Gossip.JobShards {
		return
	}
	n.gossip.SetHeartbeatTopics(n.heartbeatTopics())
	if err := n.gossip.Resubscribe(n.gossipTopics()); err != nil {
		n.log.Warn("could not move to the offer's jobs shards", "err", err)
	}
}
