package p2p

import (
	"context"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
)

// markerPattern matches the marker protocol of any gpumesh network.
var markerPattern = regexp.MustCompile(`^/[a-z][a-z0-9-]{0,39}/network/1$`)

// Gate keeps a node to its own network: once identify shows that a peer
// serves the marker protocol of another gpumesh network, the peer is
// disconnected and refused (dials and inbound connections) for a while.
// Peers that name no gpumesh network (plain libp2p tools) are left alone:
// they share neither the DHT nor the topics, whose names differ.
type Gate struct {
	own protocol.ID
	log *slog.Logger
	now func() time.Time
	// next, if set, is asked after the gate allows: a test's gater that
	// stands in for NATs (WithConnectionGater). Set before the host starts.
	next connmgr.ConnectionGater

	mu      sync.Mutex
	refused map[peer.ID]time.Time // until when
}

// gateMemory is how long a peer of another network stays refused, and
// gateSize the most peers remembered (the oldest half go past it).
const (
	gateMemory = 10 * time.Minute
	gateSize   = 4096
)

// newGate returns a gate for the network whose marker protocol is own.
func newGate(own protocol.ID, log *slog.Logger) *Gate {
	return &Gate{own: own, log: log, now: time.Now, refused: map[peer.ID]time.Time{}}
}

// otherNetwork returns the marker of another network among protos, if any.
func (g *Gate) otherNetwork(protos []protocol.ID) (protocol.ID, bool) {
	for _, p := range protos {
		if p != g.own && markerPattern.MatchString(string(p)) {
			return p, true
		}
	}
	return "", false
}

// refuse remembers p as a peer of another network.
func (g *Gate) refuse(p peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if len(g.refused) >= gateSize {
		for id, until := range g.refused {
			if until.Before(now.Add(gateMemory / 2)) {
				delete(g.refused, id)
			}
		}
		if len(g.refused) >= gateSize {
			clear(g.refused)
		}
	}
	g.refused[p] = now.Add(gateMemory)
}

// allowed reports whether p is not refused now.
func (g *Gate) allowed(p peer.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	until, ok := g.refused[p]
	if !ok {
		return true
	}
	if g.now().After(until) {
		delete(g.refused, p)
		return true
	}
	return false
}

// InterceptPeerDial refuses to dial a peer of another network.
func (g *Gate) InterceptPeerDial(p peer.ID) bool {
	return g.allowed(p) && (g.next == nil || g.next.InterceptPeerDial(p))
}

// InterceptAddrDial allows every address of an allowed peer.
func (g *Gate) InterceptAddrDial(p peer.ID, a ma.Multiaddr) bool {
	return g.allowed(p) && (g.next == nil || g.next.InterceptAddrDial(p, a))
}

// InterceptAccept allows every inbound connection until its peer is known.
func (g *Gate) InterceptAccept(c network.ConnMultiaddrs) bool {
	return g.next == nil || g.next.InterceptAccept(c)
}

// InterceptSecured refuses connections from a peer of another network.
func (g *Gate) InterceptSecured(d network.Direction, p peer.ID, c network.ConnMultiaddrs) bool {
	return g.allowed(p) && (g.next == nil || g.next.InterceptSecured(d, p, c))
}

// InterceptUpgraded allows every upgraded connection (InterceptSecured
// decided), unless next refuses it.
func (g *Gate) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	if g.next == nil {
		return true, 0
	}
	return g.next.InterceptUpgraded(c)
}

// watch disconnects and refuses each peer that identify shows to be of
// another network; it exits when ctx ends or sub closes.
func (g *Gate) watch(ctx context.Context, h host.Host, sub event.Subscription) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-sub.Out():
			if !ok {
				return
			}
			id := ev.(event.EvtPeerIdentificationCompleted)
			other, ok := g.otherNetwork(id.Protocols)
			if !ok {
				continue
			}
			g.refuse(id.Peer)
			_ = h.Network().ClosePeer(id.Peer)
			h.Peerstore().ClearAddrs(id.Peer)
			h.Peerstore().RemovePeer(id.Peer)
			g.log.Info("refused a peer of another network", "peer", id.Peer.String(), "its_network", string(other), "ours", string(g.own))
		}
	}
}
