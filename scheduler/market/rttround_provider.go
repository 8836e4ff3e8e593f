package market

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p"
)

// The provider's side of the measured round (rttround.go): a requester it
// bid to names the round's candidates; it pings the others, in parallel,
// until the probe's deadline, and answers with its signed row.

// maxRTTRoundsPerJob bounds the rounds one provider answers for one job:
// a requester measures once per bidding round, and a probe makes this
// node ping up to gossip.MaxRTTCandidates peers.
const maxRTTRoundsPerJob = 4

// Errors a probe is refused with; the requester sees the stream reset.
var (
	errNoBid      = errors.New("no open bid on this job to this requester")
	errNotListed  = errors.New("this node is not among the round's candidates")
	errTooManyRTT = errors.New("too many measured rounds for this job")
)

// handleRTTProbe answers a measured round's probe with this node's row.
func (p *provider) handleRTTProbe(s network.Stream) {
	_ = s.SetDeadline(time.Now().Add(gossip.MaxRTTRoundLife))
	remote := s.Conn().RemotePeer()
	msg, err := p.receive(s, maxProbeBytes, gossip.RTTProbeType)
	if err != nil {
		p.violation(remote, "rtt probe", err)
		_ = s.Reset()
		return
	}
	probe := msg.(*gossip.RTTProbe)
	if err := p.admitProbe(remote, probe); err != nil {
		p.stats.refused("rtt_probe")
		p.log.Debug("refused an RTT probe", "peer", short(remote), "job", probe.Job, "err", err)
		_ = s.Reset()
		return
	}
	_ = s.SetDeadline(probe.Deadline)
	ctx, cancel := p.life.Context(context.Background())
	defer cancel()
	margin := rowMargin(time.Until(probe.Deadline), p.d.Host.Peerstore().LatencyEWMA(remote))
	ctx, cancel2 := context.WithDeadline(ctx, probe.Deadline.Add(-margin))
	defer cancel2()
	rtts := p.measureRow(ctx, probe)
	if k := p.d.Knobs.RTTRow; k != nil {
		var silent bool
		if rtts, silent = k(probe.Job, rtts); silent {
			_ = s.Reset()
			return
		}
	}
	row := &gossip.RTTRow{Job: probe.Job, Nonce: probe.Nonce, Sent: time.Now(), RTTs: rtts}
	data, err := gossip.Encode(row, p.d.Key)
	if err == nil {
		err = writeSigned(s, data)
	}
	if err != nil {
		p.log.Debug("answer RTT probe", "job", probe.Job, "err", err)
	}
}

// rowMargin is the time a candidate keeps, of left before the probe's
// deadline, to send its row back: a quarter of it, or this node's RTT to
// the requester (toRequester, 0 unknown) when that is more, so that a
// short round's row, with the pairs measured by then, still arrives in
// time; at most a second, and never all of it.
func rowMargin(left, toRequester time.Duration) time.Duration {
	return min(max(left/4, toRequester), left*3/4, time.Second)
}

// admitProbe checks that remote asked for a job this node bid on with it,
// that this node is a candidate, and that the job's rounds are not spent.
func (p *provider) admitProbe(remote peer.ID, probe *gossip.RTTProbe) error {
	if !slices.ContainsFunc(probe.Candidates, func(c gossip.RTTCandidate) bool { return c.Peer == p.self.String() }) {
		return errNotListed
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.open[probe.Job]
	if o == nil || o.requester != remote {
		return errNoBid
	}
	if o.rttRounds >= maxRTTRoundsPerJob {
		return errTooManyRTT
	}
	o.rttRounds++
	return nil
}

// measureRow measures the RTT to every other candidate of probe, in
// parallel, until ctx ends: one ping each, over the connection there is or
// a new one. A peer already connected directly whose ping fails keeps the
// peerstore's moving average of this node's earlier pings to it (the
// average runs a few milliseconds above a fresh ping, which is why it is
// not used first). The row is partial: a peer not measured by the time
// ctx ends is left out (the requester keeps its estimate), while a ping
// that failed before then is reported with its error.
func (p *provider) measureRow(ctx context.Context, probe *gossip.RTTProbe) []gossip.PeerRTT {
	var others []gossip.RTTCandidate
	for _, c := range probe.Candidates {
		if c.Peer != p.self.String() {
			others = append(others, c)
		}
	}
	got := make([]gossip.PeerRTT, len(others))
	late := make([]bool, len(others))
	done := make(chan struct{}, len(others))
	for i, c := range others {
		go func() {
			defer func() { done <- struct{}{} }()
			got[i] = p.pingOne(ctx, c)
			late[i] = got[i].Err != "" && ctx.Err() != nil
		}()
	}
	for range others {
		<-done
	}
	out := got[:0]
	for i, r := range got {
		if !late[i] {
			out = append(out, r)
		}
	}
	return out
}

// pingOne measures the RTT to candidate c.
func (p *provider) pingOne(ctx context.Context, c gossip.RTTCandidate) gossip.PeerRTT {
	r := gossip.PeerRTT{Peer: c.Peer}
	id, err := peer.Decode(c.Peer)
	if err != nil {
		r.Err = "not a peer ID"
		return r
	}
	rtt, err := p.pingWarm(ctx, id, c.Addrs)
	if err == nil {
		r.RTT = rtt
		return r
	}
	if p.d.Host.Network().Connectedness(id) == network.Connected && !p2p.Relayed(p.d.Host, id) {
		if ewma := p.d.Host.Peerstore().LatencyEWMA(id); ewma > 0 {
			r.RTT = ewma
			return r
		}
	}
	r.Err = trim(err.Error())
	return r
}

// warmDial bounds a connection attempt that outlives its round.
const warmDial = 10 * time.Second

// pingWarm is pingOnce, but its connection attempt does not end with
// ctx: a round's deadline may cut a handshake short (rttRoundDeadline),
// and the winners' pings that check the pair later find the connection
// made. The attempt runs in the market's lifetime, at most warmDial.
func (p *provider) pingWarm(ctx context.Context, id peer.ID, addrs []string) (time.Duration, error) {
	h := p.d.Host
	addAddrs(h, id, addrs)
	dialed := make(chan error, 1)
	if !p.goBackground(func(life context.Context) {
		dctx, cancel := context.WithTimeout(life, warmDial)
		defer cancel()
		dialed <- h.Connect(dctx, h.Peerstore().PeerInfo(id))
	}) {
		return 0, errors.New("shutting down")
	}
	select {
	case err := <-dialed:
		if err != nil {
			return 0, fmt.Errorf("connect: %w", err)
		}
	case <-ctx.Done():
		return 0, errors.New("no answer in time")
	}
	return pingOnce(ctx, h, id, nil)
}

// pingOnce measures one round trip to id, connecting first (with addrs
// added to what the peerstore knows) when there is no connection, and
// ends the ping stream once it has its answer (ping.Ping pings on until
// its context ends).
func pingOnce(ctx context.Context, h host.Host, id peer.ID, addrs []string) (time.Duration, error) {
	addAddrs(h, id, addrs)
	if err := h.Connect(ctx, h.Peerstore().PeerInfo(id)); err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	select {
	case res := <-ping.Ping(ctx, h, id):
		return res.RTT, res.Error
	case <-ctx.Done():
		return 0, errors.New("no answer in time")
	}
}

// recentRTTs are this node's RTTs to up to most peers it is directly
// connected to, nearest first: the peerstore's moving average of its
// pings to each (a bid carries them, gossip.Bid.RTTs).
func recentRTTs(h host.Host, most int) []gossip.PeerRTT {
	var out []gossip.PeerRTT
	for _, id := range h.Network().Peers() {
		if p2p.Relayed(h, id) {
			continue // a relay's round trip is not the peer's
		}
		if rtt := h.Peerstore().LatencyEWMA(id); rtt > 0 && rtt <= time.Minute {
			out = append(out, gossip.PeerRTT{Peer: id.String(), RTT: rtt})
		}
	}
	slices.SortFunc(out, func(a, b gossip.PeerRTT) int { return cmp.Or(cmp.Compare(a.RTT, b.RTT), cmp.Compare(a.Peer, b.Peer)) })
	return out[:min(len(out), most)]
}
