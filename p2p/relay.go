package p2p

import (
	"context"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"
)

// This file holds how a node reaches peers behind NAT and is reached
// behind one: a node declared public relays from its first second, and a
// node behind NAT takes relay reservations from its bootstrap and relay
// peers within seconds, not after AutoNAT's and autorelay's minutes.

// Autorelay's tuning for a network with few relays (go-libp2p's defaults
// wait for 4 candidates or 3 minutes, which is 200 s with one or two).
const (
	// relayMinCandidates: reserve as soon as one relay is known.
	relayMinCandidates = 1
	// relayNumRelays is how many reservations a node behind NAT keeps.
	relayNumRelays = 2
	// relayBootDelay is how long autorelay waits for relayMinCandidates
	// before it reserves with what it has.
	relayBootDelay = 2 * time.Second
	// relayMinInterval is the least time between two asks for candidates:
	// a relay that comes up late is found this soon.
	relayMinInterval = 10 * time.Second
	// relayBackoff is how long a relay that refused a reservation is left
	// alone (go-libp2p: an hour, too long when there is one relay).
	relayBackoff = time.Minute
)

// relayOptions are the libp2p options for relaying: every node is a relay
// client with hole punching; a node declared public (cfg.Public) has its
// reachability forced public, so its relay service starts at once instead
// of when AutoNAT v1 has heard from a second public peer; relay_service
// alone still waits for AutoNAT.
func (n *Network) relayOptions() []libp2p.Option {
	opts := []libp2p.Option{
		libp2p.EnableRelay(),
		libp2p.EnableHolePunching(),
		libp2p.EnableAutoRelayWithPeerSource(n.relayCandidates,
			autorelay.WithMinCandidates(relayMinCandidates),
			autorelay.WithNumRelays(relayNumRelays),
			autorelay.WithBootDelay(relayBootDelay),
			autorelay.WithMinInterval(relayMinInterval),
			autorelay.WithBackoff(relayBackoff),
		),
	}
	if n.cfg.Public {
		opts = append(opts, libp2p.ForceReachabilityPublic())
	}
	if n.cfg.Public || n.cfg.RelayService {
		opts = append(opts, libp2p.EnableRelayService(), libp2p.EnableNATService())
	}
	return opts
}

// startRelayFinder starts autorelay on a node not declared public.
// Autorelay looks for relays only once it hears a reachability verdict,
// and AutoNAT v1 gives none for 15 s at best, never while it has no
// public peer to ask: so the node says "unknown" itself, the state it is
// in anyway. A later verdict of AutoNAT's (public) stops autorelay again.
func (n *Network) startRelayFinder() error {
	if n.cfg.Public {
		return nil
	}
	em, err := n.host.EventBus().Emitter(new(event.EvtLocalReachabilityChanged), eventbus.Stateful)
	if err != nil {
		return err
	}
	defer em.Close()
	return em.Emit(event.EvtLocalReachabilityChanged{Reachability: network.ReachabilityUnknown})
}

// relayCandidates feeds autorelay, at most num peers: the bootstrap peers
// first (a bootstrap node is usually a relay, and they are known before
// any connection), then every connected peer that identify says runs the
// relay service. Peers that identify says do not relay are left out, so a
// node without relays asks cheaply every relayMinInterval. Before Start
// has made the host, only the bootstrap peers are offered.
func (n *Network) relayCandidates(ctx context.Context, num int) <-chan peer.AddrInfo {
	out := make(chan peer.AddrInfo, max(num, 0))
	defer close(out)
	seen := map[peer.ID]bool{n.self: true}
	offer := func(p peer.AddrInfo) bool {
		if len(out) == cap(out) || ctx.Err() != nil {
			return false
		}
		if !seen[p.ID] {
			seen[p.ID] = true
			out <- p
		}
		return true
	}
	var ps peerstore.Peerstore
	if n.hostUp.Load() {
		ps = n.host.Peerstore()
	}
	for _, p := range n.Bootstrap() {
		if ps != nil && !mayRelay(ps, p.ID) {
			continue
		}
		if !offer(p) {
			return out
		}
	}
	if ps == nil {
		return out
	}
	for _, id := range n.host.Network().Peers() {
		if relays(ps, id) && !offer(ps.PeerInfo(id)) {
			return out
		}
	}
	return out
}

// mayRelay reports whether p may run the relay service: identify has not
// told its protocols yet, or they include the relay's.
func mayRelay(ps peerstore.Peerstore, p peer.ID) bool {
	protos, err := ps.GetProtocols(p)
	return err != nil || len(protos) == 0 || slices.Contains(protos, proto.ProtoIDv2Hop)
}

// relays reports whether identify says p runs the relay service.
func relays(ps peerstore.Peerstore, p peer.ID) bool {
	hop, err := ps.SupportsProtocols(p, proto.ProtoIDv2Hop)
	return err == nil && len(hop) > 0
}
