package p2p

import (
	"strings"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"
)

// Network kinds, as Status reports them.
const (
	// KindMain is the public network, the default.
	KindMain = "main"
	// KindLocal is the LAN and explicit peers only.
	KindLocal = "local"
	// KindCustom is any other network: a test or private network.
	KindCustom = "custom"
)

// Where a Status's reachability comes from.
const (
	// ReachabilityConfigured: p2p.public declares the node public.
	ReachabilityConfigured = "p2p.public"
	// ReachabilityAutoNAT: AutoNAT's last verdict (unknown until it has one).
	ReachabilityAutoNAT = "autonat"
)

// The plain reasons a node has no bootstrap peer connected, besides a
// failed round's errors.
const (
	reasonNoBootstrap   = "no bootstrap peers: joining through the LAN and explicit peers only"
	reasonOnlyBootstrap = "this node is its network's only bootstrap peer"
	reasonFirstRound    = "dialing the bootstrap peers for the first time"
	reasonLost          = "the bootstrap peers answered at join but none is connected now; the DHT dials them again when its routing table empties"
)

// maxReason bounds a Status's bootstrap reason: a round's joined dial
// errors can run long with many peers and addresses.
const maxReason = 512

// bootRound is how the last bootstrap round went: how many peers it
// dialled and reached and why the others failed, or a reason it dialled
// none.
type bootRound struct {
	peers, reached int
	err            error
	reason         string
}

// setBootRound records r as the last round's outcome for Status.
func (n *Network) setBootRound(r bootRound) { n.bootRnd.Store(&r) }

// Status is a node's place in its network, as `gpumesh status` shows it.
type Status struct {
	// Name is the network's name; Kind is KindMain, KindLocal or KindCustom.
	Name, Kind string
	// BootstrapPeers is how many bootstrap peers the last round knew
	// (/dnsaddr/ names resolved, this node left out).
	BootstrapPeers int
	// BootstrapConnected is how many of them have a connection now.
	BootstrapConnected int
	// BootstrapReason says, in plain words, why none is connected; empty
	// when one is.
	BootstrapReason string
	// Reachability is public, private or unknown.
	Reachability network.Reachability
	// ReachabilitySource is ReachabilityConfigured or ReachabilityAutoNAT.
	ReachabilitySource string
	// RelayAddrs are the node's circuit addresses through its relays,
	// each ending in /p2p/<this node>; empty without a reservation.
	RelayAddrs []ma.Multiaddr
	// DirectAddrs are the other addresses the node announces.
	DirectAddrs []ma.Multiaddr
}

// Status returns where the node stands in its network now. It reads
// atomics, the peerstore and the host's addresses: cheap enough for every
// API request.
func (n *Network) Status() Status {
	s := Status{Name: n.def.Name, Kind: networkKind(n.def.Name), ReachabilitySource: ReachabilityAutoNAT}
	s.Reachability = n.Reachability()
	if n.cfg.Public {
		s.Reachability, s.ReachabilitySource = network.ReachabilityPublic, ReachabilityConfigured
	}
	boot := n.Bootstrap()
	s.BootstrapPeers = len(boot)
	if n.host != nil {
		for _, p := range boot {
			if n.host.Network().Connectedness(p.ID) == network.Connected {
				s.BootstrapConnected++
			}
		}
	}
	if s.BootstrapConnected == 0 {
		s.BootstrapReason = bootReason(n.bootRnd.Load())
	}
	s.RelayAddrs, s.DirectAddrs = splitCircuit(n.ListenAddrs())
	return s
}

// networkKind classes a network's name as main, local or custom.
func networkKind(name string) string {
	switch name {
	case MainNetwork:
		return KindMain
	case LocalNetwork:
		return KindLocal
	}
	return KindCustom
}

// bootReason says why no bootstrap peer is connected, given the last
// round (nil while the first round runs).
func bootReason(r *bootRound) string {
	switch {
	case r == nil:
		return reasonFirstRound
	case r.reason != "":
		return r.reason
	case r.reached > 0:
		return reasonLost
	case r.err != nil:
		return clip("no bootstrap peer reachable, retrying with backoff: " + strings.ReplaceAll(r.err.Error(), "\n", "; "))
	}
	return "no bootstrap peer reachable, retrying with backoff"
}

// clip cuts s to maxReason bytes on a rune boundary, marking the cut.
func clip(s string) string {
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// splitCircuit parts addrs into circuit (relayed) addresses and the rest.
func splitCircuit(addrs []ma.Multiaddr) (relay, direct []ma.Multiaddr) {
	for _, a := range addrs {
		if _, err := a.ValueForProtocol(ma.P_CIRCUIT); err == nil {
			relay = append(relay, a)
		} else {
			direct = append(direct, a)
		}
	}
	return relay, direct
}
