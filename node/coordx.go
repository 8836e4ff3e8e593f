package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"golang.org/x/time/rate"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/p2p/coord"
	"github.com/gpumesh/gpumesh/p2p/frame"
)

// CoordProtocol is the stream on which two directly connected nodes swap
// their network coordinates: the asker sends its coordinate, the answerer
// its own, and the asker takes the exchange's round trip as an RTT sample
// against the coordinate it got. It replaces the coordinates of
// heartbeats for peers this node no longer hears (the capacity topic is
// sharded: docs/protocol/gossip-3.md), so that Vivaldi keeps sampling
// peers of every region, not only those of its own shards.
//
// One frame each way (frame.Write, a uvarint length then JSON
// {"coord": ...}, at most coordFrameMax bytes). Unsigned: the answer is
// never passed on, and the stream's secure channel already binds it to
// the answering peer, as a heartbeat's signature binds its coordinate.
const CoordProtocol = protocol.ID("/gpumesh/coord/1")

// coordFrameMax bounds one frame of CoordProtocol: a coordinate is about
// 250 bytes of JSON.
const coordFrameMax = 1024

// coordTimeout bounds a whole exchange on CoordProtocol.
const coordTimeout = 5 * time.Second

// maxPeerCoords bounds the coordinates kept from exchanges; the oldest go
// first (entries of disconnected peers are dropped at once anyway).
const maxPeerCoords = 4096

// ErrBadCoord: a frame on CoordProtocol that is not a coordinate message.
var ErrBadCoord = errors.New("bad coordinate message")

// coordMsg is the one message of CoordProtocol.
type coordMsg struct {
	// Coord is the sender's coordinate; absent from a node with none.
	Coord *coord.Coordinate `json:"coord,omitempty"`
}

// decodeCoordMsg parses and validates a frame of CoordProtocol.
func decodeCoordMsg(b []byte) (coordMsg, error) {
	var m coordMsg
	if len(b) > coordFrameMax {
		return m, fmt.Errorf("%w: %d bytes, at most %d", ErrBadCoord, len(b), coordFrameMax)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return coordMsg{}, fmt.Errorf("%w: %w", ErrBadCoord, err)
	}
	if m.Coord != nil {
		if err := m.Coord.Validate(); err != nil {
			return coordMsg{}, fmt.Errorf("%w: %w", ErrBadCoord, err)
		}
	}
	return m, nil
}

// coordSeen is what the last exchange with a peer gave: its coordinate
// (nil if it had none or the exchange failed) and when.
type coordSeen struct {
	c   *coord.Coordinate
	at  time.Time
	ok  bool // the exchange succeeded: the peer was alive at at
	try time.Time
}

// peerCoords are the coordinates learnt from CoordProtocol exchanges.
type peerCoords struct {
	mu sync.Mutex
	m  map[peer.ID]coordSeen
}

// put records the outcome of an exchange with p at now.
func (pc *peerCoords) put(p peer.ID, c *coord.Coordinate, ok bool, now time.Time) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.m == nil {
		pc.m = map[peer.ID]coordSeen{}
	}
	s := pc.m[p]
	s.try = now
	if ok {
		s.c, s.at, s.ok = c, now, true
	}
	pc.m[p] = s
	if len(pc.m) > maxPeerCoords {
		oldest := p
		for q, v := range pc.m {
			if v.try.Before(pc.m[oldest].try) {
				oldest = q
			}
		}
		delete(pc.m, oldest)
	}
}

// get returns what the exchanges said of p.
func (pc *peerCoords) get(p peer.ID) (coordSeen, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	s, ok := pc.m[p]
	return s, ok
}

// forget drops p (it disconnected).
func (pc *peerCoords) forget(p peer.ID) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	delete(pc.m, p)
}

// coordSource returns the freshest coordinate known of a peer: from its
// latest heartbeat in pres or its latest exchange in pc, whichever is
// newer. It is the Latency estimator's source and control's.
func coordSource(pres *gossip.Presence, pc *peerCoords) func(peer.ID) (coord.Coordinate, bool) {
	return func(p peer.ID) (coord.Coordinate, bool) {
		seen, heard := pres.Lookup(p)
		x, asked := pc.get(p)
		switch {
		case asked && x.c != nil && (!heard || seen.Coord == nil || x.at.After(seen.Sent)):
			return *x.c, true
		case heard && seen.Coord != nil:
			return *seen.Coord, true
		}
		return coord.Coordinate{}, false
	}
}

// LastHeard is when p last showed it was alive to this node: its latest
// heartbeat's time, or its latest coordinate exchange's, whichever is
// newer; via says which ("heartbeat" or "direct"). With the capacity
// topic sharded a node hears only some peers' heartbeats; the others it
// hears directly.
func (n *Node) LastHeard(p peer.ID) (at time.Time, via string, ok bool) {
	if seen, heard := n.gossip.Presence().Lookup(p); heard {
		at, via, ok = seen.Sent, "heartbeat", true
	}
	if x, asked := n.coords.get(p); asked && x.ok && (!ok || x.at.After(at)) {
		at, via, ok = x.at, "direct", true
	}
	return at, via, ok
}

// serveCoords answers CoordProtocol and forgets a peer's coordinate when
// its last connection closes. At most 20 answers a second (40 at once)
// from all peers together: an answer is cheap, and honest peers ask a few
// times a minute.
func (n *Node) serveCoords() {
	h, lat := n.net.Host(), n.net.Latency() // not n.net: Close clears it while handlers may run
	lim := rate.NewLimiter(20, 40)
	h.SetStreamHandler(CoordProtocol, func(s network.Stream) {
		if !lim.Allow() {
			_ = s.Reset()
			return
		}
		if err := n.answerCoord(s, lat); err != nil {
			n.log.Debug("coordinate exchange refused", "peer", s.Conn().RemotePeer(), "err", err)
			_ = s.Reset()
			return
		}
		_ = s.Close()
	})
	h.Network().Notify(&network.NotifyBundle{DisconnectedF: func(nw network.Network, c network.Conn) {
		if nw.Connectedness(c.RemotePeer()) != network.Connected {
			n.coords.forget(c.RemotePeer())
		}
	}})
}

// answerCoord reads the asker's coordinate, keeps it, and answers with
// this node's.
func (n *Node) answerCoord(s network.Stream, lat *p2p.Latency) error {
	_ = s.SetDeadline(time.Now().Add(coordTimeout))
	b, err := frame.Read(bufio.NewReaderSize(s, 256), coordFrameMax)
	if err != nil {
		return fmt.Errorf("read coordinate: %w", err)
	}
	m, err := decodeCoordMsg(b)
	if err != nil {
		return err
	}
	n.coords.put(s.Conn().RemotePeer(), m.Coord, true, time.Now())
	return writeCoord(s, ownCoordinate(lat))
}

// ownCoordinate is the coordinate a node hands out: its estimate, the
// origin with Vivaldi's high error before its first sample (peers need one
// to take their first samples against it).
func ownCoordinate(lat *p2p.Latency) *coord.Coordinate {
	c, _ := lat.Coordinate()
	return &c
}

// writeCoord sends c as CoordProtocol's frame.
func writeCoord(s network.Stream, c *coord.Coordinate) error {
	b, err := json.Marshal(coordMsg{Coord: c})
	if err != nil {
		return fmt.Errorf("encode coordinate: %w", err)
	}
	return frame.Write(s, b)
}

// askCoord swaps coordinates with p over CoordProtocol and returns its
// coordinate and the exchange's round trip.
func (n *Node) askCoord(ctx context.Context, p peer.ID) (*coord.Coordinate, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, coordTimeout)
	defer cancel()
	s, err := n.net.Host().NewStream(ctx, p, CoordProtocol)
	if err != nil {
		return nil, 0, fmt.Errorf("open coordinate stream to %s: %w", p, err)
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	start := time.Now()
	if err := writeCoord(s, ownCoordinate(n.net.Latency())); err != nil {
		_ = s.Reset()
		return nil, 0, err
	}
	b, err := frame.Read(bufio.NewReaderSize(s, 256), coordFrameMax)
	rtt := time.Since(start)
	if err != nil {
		_ = s.Reset()
		return nil, 0, fmt.Errorf("read coordinate from %s: %w", p, err)
	}
	m, err := decodeCoordMsg(b)
	if err != nil {
		_ = s.Reset()
		return nil, 0, err
	}
	return m.Coord, rtt, nil
}

// exchangeCoords swaps coordinates, every p2p.probe_interval, with up to
// p2p.probe_peers directly connected peers this node hears no heartbeat
// from (those it hears it pings already, with their heartbeats'
// coordinates): never asked first, then least recently asked. Its peers
// are all its connections (DHT neighbours, bootstrap and mesh peers of
// every region), so Vivaldi keeps sampling the whole network with the
// capacity topic sharded. Each answer is an RTT sample. It ends with ctx.
func (n *Node) exchangeCoords(ctx context.Context) {
	t := time.NewTicker(time.Duration(n.cfg.P2P.ProbeInterval))
	defer t.Stop()
	for {
		n.coordRound(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// coordRound is one round of exchangeCoords.
func (n *Node) coordRound(ctx context.Context) {
	var wg sync.WaitGroup
	for _, p := range n.coordCandidates(time.Now()) {
		wg.Go(func() {
			c, rtt, err := n.askCoord(ctx, p)
			n.coords.put(p, c, err == nil, time.Now())
			if err != nil {
				n.log.Debug("coordinate exchange failed", "peer", p, "err", err)
				return
			}
			if c != nil {
				n.net.Latency().ObserveRTT(p, rtt)
			}
		})
	}
	wg.Wait()
}

// coordCandidates are the peers the next exchange round asks.
func (n *Node) coordCandidates(now time.Time) []peer.ID {
	h := n.net.Host()
	type cand struct {
		p   peer.ID
		try time.Time
	}
	var cs []cand
	for _, p := range h.Network().Peers() {
		if p2p.Relayed(h, p) {
			continue // a relay's round trip is not the peer's
		}
		if seen, ok := n.gossip.Presence().Lookup(p); ok && seen.Coord != nil && now.Before(seen.Expires) {
			continue
		}
		x, _ := n.coords.get(p)
		cs = append(cs, cand{p, x.try})
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return a.try.Compare(b.try) })
	out := make([]peer.ID, 0, n.cfg.P2P.ProbePeers)
	for _, c := range cs[:min(len(cs), n.cfg.P2P.ProbePeers)] {
		out = append(out, c.p)
	}
	return out
}
