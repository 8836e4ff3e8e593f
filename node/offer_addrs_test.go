package node

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/test"
	ma "github.com/multiformats/go-multiaddr"
)

// TestAdvertisedAddrsKeepRelayCircuits is the regression test for circuit
// addresses cut at their first /p2p: the relay's own address went into
// capacity records, job requests, bids and awards, and dials failed with
// "peer id mismatch".
func TestAdvertisedAddrsKeepRelayCircuits(t *testing.T) {
	relay := test.RandPeerIDFatal(t).String()
	self := test.RandPeerIDFatal(t).String()
	in := []string{
		"/ip4/192.168.1.5/tcp/4101/p2p/" + self,
		"/ip4/203.0.113.7/tcp/4101/p2p/" + relay + "/p2p-circuit/p2p/" + self,
		"/ip4/10.0.0.2/udp/4101/quic-v1",
	}
	want := []string{
		"/ip4/192.168.1.5/tcp/4101",
		"/ip4/203.0.113.7/tcp/4101/p2p/" + relay + "/p2p-circuit",
		"/ip4/10.0.0.2/udp/4101/quic-v1",
	}
	var addrs []ma.Multiaddr
	for _, s := range in {
		addrs = append(addrs, ma.StringCast(s))
	}
	got := advertisedAddrs(addrs)
	if len(got) != len(want) {
		t.Fatalf("got %d addresses %q, want %q", len(got), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("address %d: got %s, want %s", i, got[i], want[i])
		}
	}
	// The circuit address, as a dialler reads it with the provider's ID,
	// names the provider, not the relay.
	circuit := ma.StringCast(got[1]).Encapsulate(ma.StringCast("/p2p/" + self))
	info, err := peer.AddrInfoFromP2pAddr(circuit)
	if err != nil {
		t.Fatalf("parse circuit address: %v", err)
	}
	if info.ID.String() != self {
		t.Errorf("circuit address names %s, want the provider %s", info.ID, self)
	}
}
