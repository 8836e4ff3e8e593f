package p2p_test

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gpumesh/gpumesh/p2p"
)

// TestStatusShowsTheNetwork: a public bootstrap node and a home node that
// bootstraps from it. The public node says it is public by declaration and
// has no bootstrap peers, with the reason; the home node is connected to 1
// of 1 and its reachability is AutoNAT's.
func TestStatusShowsTheNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two libp2p hosts")
	}
	r := startNet(t, func(c *p2p.Config) { c.Public = true })
	home := startNet(t, bootstrapFrom(r))

	rs := r.Status()
	if rs.Name != p2p.MainNetwork || rs.Kind != p2p.KindMain {
		t.Errorf("network %q kind %q, want main main", rs.Name, rs.Kind)
	}
	if rs.Reachability != network.ReachabilityPublic || rs.ReachabilitySource != p2p.ReachabilityConfigured {
		t.Errorf("public node: reachability %s from %s, want public from %s", rs.Reachability, rs.ReachabilitySource, p2p.ReachabilityConfigured)
	}
	waitFor(t, 10*time.Second, "the public node's bootstrap reason", func() bool {
		s := r.Status()
		return s.BootstrapPeers == 0 && strings.Contains(s.BootstrapReason, "no bootstrap peers")
	})

	waitFor(t, 30*time.Second, "the home node connected to its bootstrap peer", func() bool {
		s := home.Status()
		return s.BootstrapPeers == 1 && s.BootstrapConnected == 1 && s.BootstrapReason == ""
	})
	s := home.Status()
	if len(s.DirectAddrs) == 0 || len(s.RelayAddrs) != 0 {
		t.Errorf("home node: direct %v, relay %v; want loopback addresses and no relay address (autorelay announces only public relays' addresses)", s.DirectAddrs, s.RelayAddrs)
	}
	if s.ReachabilitySource != p2p.ReachabilityAutoNAT {
		t.Errorf("home node's reachability from %s, want AutoNAT", s.ReachabilitySource)
	}
}

// TestStatusSplitsRelayAddrs: the circuit addresses the host announces
// (autorelay adds them once it holds a reservation with a relay that has
// a public address, which no loopback relay has: here an address factory
// stands in for it) are the relay addresses, each ending in this node's
// ID; the others are the direct ones.
func TestStatusSplitsRelayAddrs(t *testing.T) {
	relay := newKeyID(t)
	circuit := ma.StringCast("/ip4/127.0.0.1/tcp/9/p2p/" + relay.String() + "/p2p-circuit")
	n := startNet(t, nil, p2p.WithTransports(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.AddrsFactory(func(as []ma.Multiaddr) []ma.Multiaddr { return append(as, circuit) }),
	))
	self := n.Host().ID().String()
	s := n.Status()
	if len(s.RelayAddrs) != 1 || s.RelayAddrs[0].String() != circuit.String()+"/p2p/"+self {
		t.Errorf("relay addresses %v, want %s/p2p/%s", s.RelayAddrs, circuit, self)
	}
	if len(s.DirectAddrs) != 1 || !strings.HasPrefix(s.DirectAddrs[0].String(), "/ip4/127.0.0.1/tcp/") || !strings.HasSuffix(s.DirectAddrs[0].String(), "/p2p/"+self) {
		t.Errorf("direct addresses %v, want the loopback listener with /p2p/%s", s.DirectAddrs, self)
	}
}

// newKeyID is a fresh peer ID.
func newKeyID(t *testing.T) peer.ID {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
