package market

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gpumesh/gpumesh/internal/human"
)

// The bid window and relays. The bid deadline is inside the signed
// request, so it is chosen once, when the request is made, and binds both
// sides: a provider gives up sending its bid at the deadline, the
// requester refuses bids after it. A bid that must cross a relay takes
// longer to come than one on a direct path: the provider dials the
// requester's direct addresses first (behind the requester's NAT they
// lead nowhere), then through the relay (a connection to the relay, a
// circuit through it, a handshake over the circuit: about three round
// trips more, each twice as long), while hole punching runs beside it. So
// a request whose bids must cross a relay gets a longer window,
// market.relay_bid_window, when its own is shorter. It costs a job little:
// bidding still closes early once a cluster fits (collect.go).

// reach is what this node knows, when it makes a request, of how bids
// will reach it.
type reach struct {
	// selfRelayed: this node advertises a relay address (it holds a
	// reservation because it is behind NAT), so a provider without a
	// connection to it comes through the relay.
	selfRelayed bool
	// relayedPeers counts the peers this node is connected to through a
	// relay only (invitations to them cross it, and so may their bids).
	relayedPeers int
}

// reachOf is what h's connections and this node's advertised addresses
// (addrs) say about how bids will come.
func reachOf(h host.Host, addrs []string) reach {
	var r reach
	for _, a := range addrs {
		if isCircuit(a) {
			r.selfRelayed = true
			break
		}
	}
	if h == nil {
		return r
	}
	for _, p := range h.Network().Peers() {
		if h.Network().Connectedness(p) == network.Limited {
			r.relayedPeers++
		}
	}
	return r
}

// isCircuit reports whether the multiaddr a goes through a relay.
func isCircuit(a string) bool {
	m, err := ma.NewMultiaddr(a)
	if err != nil {
		return false
	}
	_, err = m.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}

// bidWindow is how long a request's bidding stays open: the spec's window,
// or relayWindow when that is longer and bids must cross a relay. The
// reason says why it was widened, empty when it was not.
func bidWindow(window, relayWindow time.Duration, r reach) (time.Duration, string) {
	if relayWindow <= window || (!r.selfRelayed && r.relayedPeers == 0) {
		return window, ""
	}
	var why string
	switch {
	case r.selfRelayed:
		why = "this node is reachable only through a relay"
	default:
		why = fmt.Sprintf("%s reachable only through a relay", human.Plural(r.relayedPeers, "peer"))
	}
	return relayWindow, fmt.Sprintf("window widened from %s to %s: %s", window, relayWindow, why)
}

// relayedWindow is the bid window for spec's request sent now, with the
// reason it was widened (empty if it was not).
func (r *requester) relayedWindow(spec Spec, addrs []string) (time.Duration, string) {
	return bidWindow(time.Duration(spec.BidWindow), time.Duration(r.cfg.RelayBidWindow), reachOf(r.d.Host, addrs))
}
