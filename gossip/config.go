package gossip

import (
	"errors"
	"fmt"
	"time"

	"github.com/gpumesh/gpumesh/p2p"
)

// Config holds the gossip settings of a node: the [gossip] table of the config file.
type Config struct {
	// MaxMessageBytes is the largest message accepted on any topic.
	MaxMessageBytes int `toml:"max_message_bytes" comment:"largest gossip message accepted on any topic, in bytes"`
	// PeerScoring turns GossipSub peer scoring on.
	PeerScoring bool `toml:"peer_scoring" comment:"score peers: invalid messages push a sender out of the mesh and then out of gossip"`
	// FloodPublish sends this node's own messages to every topic peer above
	// the publish threshold instead of only its mesh. Off by default: B1
	// measured it at 1.5x the median and 2.5x the p99 latency of plain mesh
	// publishing (see docs/network.md); it stays available for operators who want it.
	FloodPublish bool `toml:"flood_publish" comment:"send our own messages to every well-scored topic peer, not only the mesh"`
	// HeartbeatInterval is how often the node announces itself on the capacity topic.
	HeartbeatInterval p2p.Duration `toml:"heartbeat_interval" comment:"how often this node announces itself on the capacity topic"`
	// MaxClockSkew is how far in the future a message's timestamp may be.
	MaxClockSkew p2p.Duration `toml:"max_clock_skew" comment:"how far ahead of our clock a message timestamp may be"`
	// JobShards puts job requests on the version 3 shards: a provider
	// subscribes to its shards, a requester publishes on its request's.
	// Off, the node behaves as version 2 did: every node on TopicJobs, and
	// requests published there alone (a way back during the transition).
	JobShards bool `toml:"job_shards" comment:"publish and receive job requests on the sharded topics gpumesh/jobs/3/<pool>/<region>; off = the single version 2 jobs topic"`
	// LegacyJobsTopic keeps the version 2 jobs topic (TopicJobs) beside
	// the version 3 shards: every node listens there too, as in version 2,
	// so that requesters not yet on the shards still reach providers, and a requester
	// publishes there too, so that providers not yet on them still hear
	// it. On for the release that brings the shards; off drops the whole
	// network's requests from a node's inbound load
	// (docs/protocol/gossip-3.md).
	LegacyJobsTopic bool `toml:"legacy_jobs_topic" comment:"also listen and publish on the version 2 jobs topic gpumesh/jobs/2, for nodes not yet on the sharded topics; off once the network has moved"`
	// LegacyCapacityTopic keeps the version 2 capacity topic
	// (TopicCapacity) beside the version 3 capacity shards: every node
	// announces itself there and listens there too, as in version 2, so
	// that old and new nodes still hear each other. On for the release
	// that brings the capacity shards; off, a node hears only the
	// heartbeats of its own shards and of its running jobs' providers,
	// which is what makes its heartbeat cost independent of the network's
	// size (docs/protocol/gossip-3.md).
	LegacyCapacityTopic bool `toml:"legacy_capacity_topic" comment:"also announce and listen on the version 2 capacity topic gpumesh/capacity/2, for nodes not yet on the capacity shards; off once the network has moved"`
}

// DefaultConfig returns the gossip settings every profile starts from.
func DefaultConfig() Config {
	return Config{
		MaxMessageBytes:   64 << 10,
		PeerScoring:       true,
		FloodPublish:      false,
		HeartbeatInterval: p2p.Duration(30 * time.Second),
		MaxClockSkew:      p2p.Duration(30 * time.Second),
		JobShards:         true,
		LegacyJobsTopic:   true,

		LegacyCapacityTopic: true,
	}
}

// Validate returns every problem with c, each naming its config key under prefix.
func (c Config) Validate(prefix string) error {
	var errs []error
	if c.MaxMessageBytes < 1024 || c.MaxMessageBytes > 1<<20 {
		errs = append(errs, fmt.Errorf("%s.max_message_bytes: must be between 1024 and 1048576, got %d", prefix, c.MaxMessageBytes))
	}
	if c.HeartbeatInterval < p2p.Duration(100*time.Millisecond) {
		errs = append(errs, fmt.Errorf("%s.heartbeat_interval: must be at least 100ms, got %s", prefix, time.Duration(c.HeartbeatInterval)))
	}
	if c.MaxClockSkew < 0 {
		errs = append(errs, fmt.Errorf("%s.max_clock_skew: must not be negative", prefix))
	}
	return errors.Join(errs...)
}
