package gossip

import (
	"slices"
)

// Heartbeat shards (version 3 of the capacity topic): a node's heartbeat
// travels only on the topics of its own pools and regions, with the jobs
// shards' names and rules:
//
//	gpumesh/capacity/3/<pool>/<region>
//
// A provider publishes on and subscribes to its shards (OfferCapacityTopics,
// the same pairs as OfferJobTopics); a requester subscribes, for a running
// job's life, to the shards its cluster's providers announce on
// (WatchCapacityTopics). docs/protocol/gossip-3.md is their specification.

// CapacityShardPrefix is the start of every version 3 capacity topic.
const CapacityShardPrefix = "gpumesh/capacity/3/"

// capacityWireMark is in the wire name of every version 3 capacity shard,
// on any network: "<prefix>/capacity/3/<pool>/<region>".
const capacityWireMark = "/capacity/3/"

// CapacityShardTopic is the capacity topic of pool and region shard.
func CapacityShardTopic(pool, region string) string {
	return CapacityShardPrefix + pool + "/" + region
}

// CapacityShardTopics lists every capacity topic of version 3:
// len(ShardPools) x len(ShardRegions) of them.
func CapacityShardTopics() []string {
	out := make([]string, 0, len(ShardPools)*len(ShardRegions))
	for _, p := range ShardPools {
		for _, g := range ShardRegions {
			out = append(out, CapacityShardTopic(p, g))
		}
	}
	return out
}

// IsCapacityShard reports whether topic is a version 3 capacity topic.
func IsCapacityShard(topic string) bool {
	return slices.Contains(CapacityShardTopics(), topic)
}

// OfferCapacityTopics are the version 3 capacity topics a provider
// announces itself on and subscribes to: one per pool among pools and per
// shard region of its region and country (both when they disagree), or
// the none region when neither is known; the pairs of OfferJobTopics.
func OfferCapacityTopics(pools []string, region, country string) []string {
	out := OfferJobTopics(pools, region, country)
	for i, t := range out {
		out[i] = CapacityShardPrefix + t[len(JobShardPrefix):]
	}
	return out
}

// WatchCapacityTopics are the capacity topics a requester listens to for
// the heartbeats of a running job's providers: one per pool among pools
// (its members' pools) and per region of regions (the request's regions
// or countries), or every region when regions is empty or names one that
// is not known, as RequestJobTopics does. Unknown pools are skipped.
func WatchCapacityTopics(pools []string, regions []string) []string {
	gs := requestRegions(&JobRequest{Regions: regions})
	var out []string
	for _, p := range ShardPools {
		if !slices.Contains(pools, p) {
			continue
		}
		for _, g := range gs {
			out = append(out, CapacityShardTopic(p, g))
		}
	}
	return out
}
