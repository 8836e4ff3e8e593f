package nodetest

import (
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p"
	"github.com/marcopolo/simnet"

	"github.com/gpumesh/gpumesh/gossip"
)

// ShardTopics lists every sharded gossip topic of version 3: each jobs
// topic (gossip.JobShardTopics) and each capacity topic
// (gossip.CapacityShardTopics), the class topics a Sybil swarm joins all
// of.
func ShardTopics() []string {
	return slices.Concat(gossip.JobShardTopics(), gossip.CapacityShardTopics())
}

// Sybil starts an attacker (see Attacker) on the simulated network, in
// address slot i (a spare slot no node uses, so that it has a country and
// RTTs like a node's), joined to gossip.Topics and to every sharded topic
// (ShardTopics) besides opts.Topics. It joins no node: call its Join. Like
// the Sim, call it inside the bubble, with the bubble's t.
func (s *Sim) Sybil(t TB, i int, opts AttackerOptions) *Attacker {
	t.Helper()
	if i < 0 || i >= s.total || s.Nodes[i] != nil {
		t.Fatalf("sybil: slot %d is not a free slot of %d", i, s.total)
	}
	link := simnet.NodeBiDiLinkSettings{
		Uplink:   simnet.LinkSettings{BitsPerSecond: s.opts.Bandwidth},
		Downlink: simnet.LinkSettings{BitsPerSecond: s.opts.Bandwidth},
	}
	opts.Host = []libp2p.Option{
		libp2p.ListenAddrStrings(fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", simnet.IntToPublicIPv4(i), SimPort)),
		simQUIC(s.net, link, s.dialAddr),
		libp2p.DisableIdentifyAddressDiscovery(), // as the nodes (StartNode)
	}
	opts.Topics = slices.Concat(ShardTopics(), opts.Topics)
	a, err := newAttacker(opts)
	if err != nil {
		t.Fatalf("sybil in slot %d: %v", i, err)
	}
	t.Cleanup(a.Close)
	return a
}
