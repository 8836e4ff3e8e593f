package market

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// handleAward answers an award with a signed accept or decline, or a
// release with an Ack. Nothing is reserved for an award that fails a check.
func (p *provider) handleAward(s network.Stream) {
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	remote := s.Conn().RemotePeer()
	msg, err := p.receive(s, maxAwardBytes, gossip.AwardType, gossip.ReleaseType)
	if err != nil {
		p.violation(remote, "award", err)
		reply(s, false, err.Error())
		return
	}
	if rel, ok := msg.(*gossip.Release); ok {
		ok, reason := p.release(remote, rel)
		reply(s, ok, reason)
		return
	}
	a := msg.(*gossip.Award)
	decline, taken := "", false
	if k := p.d.Knobs.BeforeAward; k != nil {
		if decline, taken = k(s, a); taken {
			return
		}
	}
	res, answer, bounded := p.accept(remote, a, decline)
	if res != nil && bounded && !a.Measured {
		// Ping the other winners so the requester learns the cluster's real RTTs.
		if acc, ok := answer.(*gossip.Accept); ok {
			ctx, cancel := p.life.Context(context.Background())
			ctx, cancel2 := context.WithDeadline(ctx, a.AcceptBy.Add(-time.Duration(p.cfg.AwardTimeout)/4))
			acc.RTTs = p.pingPeers(ctx, a)
			cancel2()
			cancel()
		}
	}
	data, err := gossip.Encode(answer, p.d.Key)
	if err == nil {
		err = writeSigned(s, data)
	}
	if err != nil {
		p.log.Debug("answer award", "job", a.Job, "err", err)
	}
}

// verdict is why an award is declined: the label it is counted under, the
// reason the decline states, and, for a protocol violation, what the
// requester's reputation records.
type verdict struct {
	label, reason, violation string
}

// accept checks an award from remote and reserves its devices; it returns
// the reservation (nil when declined), the answer to sign, and whether the
// request has an RTT bound (the winner then pings the other winners). A
// non-empty knob (Knobs.BeforeAward) declines it with that reason.
func (p *provider) accept(remote peer.ID, a *gossip.Award, knob string) (*reservation, gossip.Message, bool) {
	now := time.Now()
	if knob != "" {
		return p.decline(remote, a, now, verdict{label: knobLabel, reason: knob})
	}
	res, bounded, v := p.reserve(remote, a, now)
	if res == nil {
		return p.decline(remote, a, now, v)
	}
	p.stats.add(func(s *Stats) { s.Accepted++ })
	p.log.Info("accepted an award", "job", a.Job, "requester", short(remote), "ranks", fmt.Sprint(a.Ranks), "devices", len(res.devices), "price", a.Price, "until", res.until.Format(time.TimeOnly))
	p.d.Changed()
	return res, &gossip.Accept{Job: a.Job, Seq: p.nextSeq(), Sent: now, ReservedUntil: res.until, AwardSeq: a.Seq}, bounded
}

// decline records why a was declined and returns the decline to sign.
func (p *provider) decline(remote peer.ID, a *gossip.Award, now time.Time, v verdict) (*reservation, gossip.Message, bool) {
	if v.violation != "" {
		p.d.Book.Record(remote, reputation.Violation, v.violation)
	}
	p.stats.refused(v.label)
	p.log.Debug("declined an award", "job", a.Job, "requester", short(remote), "reason", v.reason)
	return nil, &gossip.Decline{Job: a.Job, Seq: p.nextSeq(), Sent: now, AwardSeq: a.Seq, Reason: v.reason}, false
}

// reserve runs an award's checks against the bid it answers and, if they
// pass, reserves its devices, all under p.mu; it returns the reservation
// and whether the request has an RTT bound, or nil and why not.
func (p *provider) reserve(remote peer.ID, a *gossip.Award, now time.Time) (*reservation, bool, verdict) {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.open[a.Job]
	switch {
	case a.Provider != p.self.String():
		return nil, false, verdict{"wrong_provider", "award names another provider", "award for another provider"}
	case o == nil:
		return nil, false, verdict{label: "unknown_job", reason: "no bid of ours for this job"}
	case o.requester != remote:
		return nil, false, verdict{"not_requester", "award from a peer that did not request the job", "award for a job it did not request"}
	case a.Seq <= o.lastAward:
		return nil, false, verdict{"replayed", "replayed award", "replayed award"}
	}
	o.lastAward = a.Seq
	switch {
	case !now.Before(o.bid.Expires):
		return nil, false, verdict{label: "bid_expired", reason: "our bid expired"}
	case a.Price < o.bid.Price:
		return nil, false, verdict{label: "price", reason: fmt.Sprintf("award price %v below our bid %v", a.Price, o.bid.Price)}
	case duplicate(a.Ranks):
		return nil, false, verdict{"bad_ranks", "award names a rank twice", "award naming a rank twice"}
	case len(a.Ranks) > o.bid.Workers:
		return nil, false, verdict{label: "too_many", reason: fmt.Sprintf("%d workers awarded, we bid for %d", len(a.Ranks), o.bid.Workers)}
	case p.reserved[a.Job] != nil && p.reserved[a.Job].ended == "":
		return nil, false, verdict{label: "replayed", reason: "award for a job already reserved"}
	}
	// The devices may have gone to another job since the bid.
	need := len(a.Ranks) * devicesPerWorker(o.req)
	busy := p.reservedLocked()
	var devs []int
	for _, i := range o.plan.devices {
		if !busy[i] && len(devs) < need {
			devs = append(devs, i)
		}
	}
	if len(devs) < need {
		return nil, false, verdict{label: "busy", reason: fmt.Sprintf("%d devices free now, %d needed", len(devs), need)}
	}
	res := &reservation{job: a.Job, requester: remote, devices: devs, ranks: slices.Clone(a.Ranks),
		rankDevices: byRank(a.Ranks, devs, devicesPerWorker(o.req)), gpus: o.plan.gpus,
		class: o.bid.Class, pool: o.pool, executor: o.req.Executor, network: a.Network,
		world: a.WorldSize, price: a.Price, accepted: now, until: now.Add(time.Duration(p.cfg.ReserveHold))}
	p.reserved[a.Job] = res
	return res, o.req.MaxRTT > 0, verdict{}
}

// release ends a reservation at the requester's word.
func (p *provider) release(remote peer.ID, r *gossip.Release) (bool, string) {
	ok, reason, changed := p.releaseLocked(remote, r)
	if changed {
		p.d.Changed()
	}
	return ok, reason
}

// releaseLocked is release's checks and change, under p.mu; changed says
// whether a reservation ended.
func (p *provider) releaseLocked(remote peer.ID, r *gossip.Release) (ok bool, reason string, changed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.open[r.Job]
	res := p.reserved[r.Job]
	switch {
	case r.Provider != p.self.String():
		p.stats.refused("wrong_provider")
		return false, "release names another provider", false
	case o == nil || o.requester != remote:
		p.stats.refused("not_requester")
		return false, "no job of yours here", false
	case r.Seq <= o.lastAward:
		p.stats.refused("replayed")
		return false, "replayed release", false
	}
	o.lastAward = r.Seq
	if res != nil && res.ended == "" {
		res.ended = "released: " + r.Reason
		p.stats.add(func(s *Stats) { s.Released++ })
		changed = true
	}
	return true, "", changed
}

// pingPeers pings every other provider of a's cluster once, in parallel.
func (p *provider) pingPeers(ctx context.Context, a *gossip.Award) []gossip.PeerRTT {
	var others []peer.ID
	for _, s := range a.Peers {
		id, err := peer.Decode(s)
		if err != nil || id == p.self || slices.Contains(others, id) {
			continue
		}
		others = append(others, id)
	}
	out := make([]gossip.PeerRTT, len(others))
	done := make(chan struct{}, len(others))
	for i, other := range others {
		go func() {
			defer func() { done <- struct{}{} }()
			out[i] = gossip.PeerRTT{Peer: other.String()}
			rtt, err := pingOnce(ctx, p.d.Host, other, a.Addrs[other.String()])
			if err != nil {
				out[i].Err = trim(err.Error())
				return
			}
			out[i].RTT = rtt
		}()
	}
	for range others {
		<-done
	}
	return out
}

// trim cuts an error's text to 200 bytes.
func trim(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}
