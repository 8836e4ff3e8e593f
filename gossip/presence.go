package gossip

import (
	"sort"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/p2p/coord"
)

// Seen is what the latest heartbeat said about a peer.
type Seen struct {
	// Peer is the sender.
	Peer peer.ID `json:"peer"`
	// Agent is the software the peer runs.
	Agent string `json:"agent"`
	// Sent is when the peer made its latest heartbeat.
	Sent time.Time `json:"sent"`
	// Expires is when the peer counts as gone unless it announces again.
	Expires time.Time `json:"expires"`
	// Coord is the peer's announced network coordinate, if any.
	Coord *coord.Coordinate `json:"coord,omitempty"`
}

// Presence tracks which peers announced themselves on the capacity topic, and
// makes this node's own heartbeats.
type Presence struct {
	agent string
	coord func() (coord.Coordinate, bool)

	mu      sync.Mutex
	peers   map[peer.ID]Seen
	lastSeq uint64
}

func newPresence(agent string) *Presence {
	return &Presence{agent: agent, peers: map[peer.ID]Seen{}}
}

// next returns this node's next heartbeat. Its sequence number is the clock in
// microseconds (ClockSeq) (or one more than the last, if the clock went back), so it keeps
// increasing across restarts and receivers never mistake it for a replay.
func (p *Presence) next(now time.Time, every time.Duration) *Heartbeat {
	p.mu.Lock()
	seq := ClockSeq(now)
	if seq <= p.lastSeq {
		seq = p.lastSeq + 1
	}
	p.lastSeq = seq
	source := p.coord
	p.mu.Unlock()
	life := min(3*every, maxHeartbeatLifetime)
	hb := &Heartbeat{Seq: seq, Sent: now, Expires: now.Add(life), Agent: p.agent}
	// Outside the lock: the source takes the estimator's lock, and the
	// estimator looks up peers' coordinates here under its own.
	if source != nil {
		if c, ok := source(); ok {
			hb.Coord = &c
		}
	}
	return hb
}

// SetCoordinate sets where this node's heartbeats take its network
// coordinate from. Call it before the router starts.
func (p *Presence) SetCoordinate(f func() (coord.Coordinate, bool)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.coord = f
}

// Coordinate returns the latest coordinate id announced, if it is still
// alive and announced one.
func (p *Presence) Coordinate(id peer.ID) (coord.Coordinate, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.peers[id]
	if !ok || s.Coord == nil {
		return coord.Coordinate{}, false
	}
	return *s.Coord, true
}

// observe records a verified heartbeat from a peer.
func (p *Presence) observe(from peer.ID, hb *Heartbeat) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.peers[from] = Seen{Peer: from, Agent: hb.Agent, Sent: hb.Sent, Expires: hb.Expires, Coord: hb.Coord}
}

// Alive returns the peers whose latest heartbeat has not expired at now,
// sorted by peer ID, and forgets the rest.
func (p *Presence) Alive(now time.Time) []Seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Seen, 0, len(p.peers))
	for id, s := range p.peers {
		if !now.Before(s.Expires) {
			delete(p.peers, id)
			continue
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Peer < out[j].Peer })
	return out
}

// Lookup returns the latest heartbeat seen from id, if any.
func (p *Presence) Lookup(id peer.ID) (Seen, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.peers[id]
	return s, ok
}
