// Package gossip carries gpumesh's broadcast traffic: the GossipSub router,
// its topics (jobs, capacity, anchors), the versioned wire messages sent on
// them as libp2p signed envelopes, the validators that drop what cannot be
// decoded or verified, and the peer-scoring that punishes whoever sent it.
package gossip
