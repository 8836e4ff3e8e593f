package p2p

import (
	"context"
	"strings"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// mainPrefix is the protocol prefix the packages above p2p write their
// stream protocol IDs with ("/gpumesh/bid/1"): the main network's.
const mainPrefix = "/gpumesh"

// networkHost is the host the packages above p2p see on a network other
// than main: every stream protocol ID under mainPrefix is moved under the
// network's protocol prefix on the wire ("/gpumesh/bid/1" becomes
// "/gpumesh-test/bid/1"), so those packages keep one constant per protocol
// and two networks never open each other's streams. Other IDs (GossipSub,
// identify, ping) pass unchanged.
type networkHost struct {
	host.Host
	prefix string
}

// onNetwork returns h as the packages above p2p see it on a network whose
// protocol prefix is prefix: h itself on main.
func onNetwork(h host.Host, prefix string) host.Host {
	if prefix == mainPrefix {
		return h
	}
	return &networkHost{Host: h, prefix: prefix}
}

// wireID is the ID p travels under on this network.
func (h *networkHost) wireID(p protocol.ID) protocol.ID {
	return WireProtocol(h.prefix, p)
}

// WireProtocol is the ID that p, written under the main network's prefix,
// travels under on the network whose protocol prefix is prefix.
func WireProtocol(prefix string, p protocol.ID) protocol.ID {
	rest, ok := strings.CutPrefix(string(p), mainPrefix+"/")
	if !ok || prefix == mainPrefix {
		return p
	}
	return protocol.ID(prefix + "/" + rest)
}

// SetStreamHandler serves pid under the network's prefix.
func (h *networkHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(h.wireID(pid), handler)
}

// SetStreamHandlerMatch serves pid under the network's prefix; match sees wire IDs.
func (h *networkHost) SetStreamHandlerMatch(pid protocol.ID, match func(protocol.ID) bool, handler network.StreamHandler) {
	h.Host.SetStreamHandlerMatch(h.wireID(pid), match, handler)
}

// RemoveStreamHandler stops serving pid under the network's prefix.
func (h *networkHost) RemoveStreamHandler(pid protocol.ID) {
	h.Host.RemoveStreamHandler(h.wireID(pid))
}

// NewStream opens a stream to p for the first of pids p serves, each under
// the network's prefix.
func (h *networkHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	wire := make([]protocol.ID, len(pids))
	for i, pid := range pids {
		wire[i] = h.wireID(pid)
	}
	return h.Host.NewStream(ctx, p, wire...)
}
