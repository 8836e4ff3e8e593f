package market

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/internal/human"
	"github.com/gpumesh/gpumesh/scheduler/placement"
	"github.com/gpumesh/gpumesh/scheduler/pricing"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// The award and verify stage: placement's choice is awarded, each winner
// pings the other winners before it accepts, a provider claiming a class
// proves it first (verify.go), and a decline, a silent winner or a pair
// over the RTT bound sends the choice back to placement with what was
// measured, round by round, until the cluster stands or
// market.verify_rounds run out.

// rounds is the state of a job's award rounds, its driver's alone.
type rounds struct {
	excluded map[int]*exclusion       // bids taken out, by bid index
	measured map[[2]int]time.Duration // RTTs the winners measured, by pair of bids
	held     map[int]*member          // accepted awards, by bid index
	// verified are the pairs the measured round measured from both ends:
	// a cluster of verified pairs only is awarded without the winners'
	// pings (Award.Measured).
	verified map[[2]int]bool
}

// newRounds is the state before the first round.
func newRounds() *rounds {
	return &rounds{excluded: map[int]*exclusion{}, measured: map[[2]int]time.Duration{}, held: map[int]*member{}, verified: map[[2]int]bool{}}
}

// outcome is how a round, or a run of rounds, ended.
type outcome int

const (
	outFormed outcome = iota // the cluster stands
	outFailed                // the job failed (finished)
	outAgain                 // a new round, with what this one learnt
	outRebid                 // bidding reopened: the rounds start over
)

// awardAndVerify awards placement's choice and confirms it, round after
// round; it returns the formed cluster, or false when the job failed.
func (d *driver) awardAndVerify(ctx context.Context) ([]*member, bool) {
	d.j.setState(StateAwarding)
	for {
		out, cluster := d.rounds(ctx, newRounds())
		if out != outRebid {
			return cluster, out == outFormed
		}
		// A fresh round of bids: what was held, declined or measured
		// belonged to the old one.
	}
}

// rounds runs up to market.verify_rounds award rounds.
func (d *driver) rounds(ctx context.Context, st *rounds) (outcome, []*member) {
	d.measureRound(ctx, st)
	for round := 1; round <= d.cfg.VerifyRounds; round++ {
		if out, cluster := d.round(ctx, st, round); out != outAgain {
			return out, cluster
		}
	}
	d.releaseAll(ctx, st.held, "no confirmed cluster")
	d.finish(d.j, StateFailed, &unconfirmed{rounds: d.cfg.VerifyRounds, excluded: st.excluded})
	return outFailed, nil
}

// round places, proposes, checks classes, awards and checks the winners'
// pings. A class check that fails costs no round: the bid is excluded and
// the round places again without it, which ends, as each failure
// excludes one more bid.
func (d *driver) round(ctx context.Context, st *rounds, round int) (outcome, []*member) {
	j := d.j
	for {
		res, idx := d.place(st.excluded, st.measured)
		if !res.Feasible {
			return d.unplaced(ctx, st, res, idx), nil
		}
		cluster, peers := d.propose(ctx, st, res, idx)
		j.note("proposed", "", "round %d: %s", round, res.Explain())
		// Release what the new choice dropped.
		for i, mb := range st.held {
			if !slices.Contains(cluster, mb) {
				d.releaseOne(ctx, mb, "another cluster was chosen")
				delete(st.held, i)
			}
		}
		if d.verifyMembers(ctx, cluster, st) > 0 && ctx.Err() == nil {
			continue
		}
		d.awardRound(ctx, cluster, peers, st)
		if ctx.Err() != nil {
			d.releaseAll(context.Background(), st.held, "the requester stopped")
			d.finish(j, StateFailed, errStopped)
			return outFailed, nil
		}
		over := d.check(cluster, st.measured)
		if len(cluster) == len(st.held) && len(over) == 0 {
			d.formed(ctx, cluster, st.measured, res)
			return outFormed, cluster
		}
		if len(over) > 0 {
			j.note("rtt_over", "", "measured RTTs over the %s bound: %s; choosing again with what was measured", bound(j.request().MaxRTT), strings.Join(over, ", "))
		}
		return outAgain, nil
	}
}

// unplaced handles a round with no feasible cluster: bidding reopens when
// this node's other jobs hold the providers, else the job fails with
// placement's reasons.
func (d *driver) unplaced(ctx context.Context, st *rounds, res placement.Result, idx []int) outcome {
	if d.mayRebid() {
		d.releaseAll(ctx, st.held, "asking again")
		clear(st.held)
		if d.rebid(ctx) {
			return outRebid
		}
	}
	d.recordRejections(res, st.excluded)
	d.releaseAll(ctx, st.held, "no cluster")
	d.finish(d.j, StateFailed, d.explainFailure(res, st.excluded))
	return outFailed
}

// awardRound awards every member of cluster not yet holding an accepted
// award, in parallel, and records the answers.
func (d *driver) awardRound(ctx context.Context, cluster []*member, peers []string, st *rounds) {
	j := d.j
	req := j.request()
	addrs := map[string][]string{}
	if req.MaxRTT > 0 {
		for _, mb := range cluster {
			addrs[mb.peer.String()] = mb.addrs
		}
	}
	type answer struct {
		mb  *member
		msg gossip.Message
		err error
	}
	answers := make(chan answer, len(cluster))
	measured := allVerified(cluster, st.verified)
	n := 0
	for _, mb := range cluster {
		if mb.accepted {
			continue
		}
		if !d.holdIfFree(j, mb.peer, mb.workers, len(mb.ranks)) { // at once: our other jobs see it
			// Another of our jobs awarded it since placement: not its fault.
			st.excluded[mb.bid] = exclude(reasonTaken, "")
			continue
		}
		n++
		a := &gossip.Award{Job: req.ID, Provider: mb.peer.String(), Seq: d.nextSeq(), Sent: time.Now(),
			AcceptBy: time.Now().Add(time.Duration(d.cfg.AwardTimeout)), Price: mb.price,
			Ranks: mb.ranks, WorldSize: len(peers), Peers: peers, Addrs: without(addrs, mb.peer.String()), Measured: measured}
		mb.awardSeq = a.Seq
		j.note("award", mb.peer, "award to %s: ranks %v at $%.4f per device-hour", short(mb.peer), a.Ranks, a.Price)
		go func() {
			actx, cancel := context.WithDeadline(ctx, a.AcceptBy)
			defer cancel()
			msg, err := d.exchange(actx, mb.peer, mb.addrs, a)
			answers <- answer{mb, msg, err}
		}()
	}
	bids := j.bids()
	for range n {
		r := <-answers
		d.answered(r.mb, r.msg, r.err, bids, st)
	}
}

// answered records mb's answer to its award (msg, or err when none came).
func (d *driver) answered(mb *member, msg gossip.Message, err error, bids []received, st *rounds) {
	j := d.j
	switch msg := msg.(type) {
	case *gossip.Accept:
		mb.accepted = true
		st.held[mb.bid] = mb
		var rtts []string
		for _, x := range msg.RTTs {
			other, err := peer.Decode(x.Peer)
			k := slices.IndexFunc(bids, func(b received) bool { return b.from == other })
			if err != nil || k < 0 {
				continue
			}
			rtt := x.RTT
			if x.Err != "" {
				rtt = unreachable
				rtts = append(rtts, fmt.Sprintf("%s unreachable", short(other)))
			} else {
				rtts = append(rtts, fmt.Sprintf("%s %s", short(other), human.Millis(rtt)))
			}
			// A pair's RTT is the larger of what its two ends say (and
			// what the measured round found): a winner reporting less
			// than the truth cannot talk a pair under the bound.
			key := pair(mb.bid, k)
			st.measured[key] = max(st.measured[key], rtt)
		}
		d.d.Book.Record(mb.peer, reputation.AwardAccepted, j.view.ID)
		j.note("accepted", mb.peer, "%s accepted, reserved until %s%s", short(mb.peer), msg.ReservedUntil.Format(time.TimeOnly), prefixed("; pings: ", strings.Join(rtts, ", ")))
	case *gossip.Decline:
		d.hold(j, mb.peer, -len(mb.ranks))
		st.excluded[mb.bid] = exclude(reasonDeclined, msg.Reason)
		d.d.Book.Record(mb.peer, reputation.AwardDeclined, msg.Reason)
		j.note("declined", mb.peer, "%s declined: %s; taking the next bid", short(mb.peer), msg.Reason)
	default:
		d.hold(j, mb.peer, -len(mb.ranks))
		st.excluded[mb.bid] = exclude(reasonNoAnswer, "")
		d.d.Book.Record(mb.peer, reputation.AwardTimeout, fmt.Sprint(err))
		j.note("timeout", mb.peer, "%s did not accept in time (%v); taking the next bid", short(mb.peer), err)
	}
}

// exchange sends an award and reads the signed accept or decline.
func (r *requester) exchange(ctx context.Context, p peer.ID, addrs []string, a *gossip.Award) (gossip.Message, error) {
	data, err := r.send(ctx, p, addrs, AwardProtocol, a, maxAnswerBytes)
	if err != nil {
		return nil, err
	}
	msg, signer, err := gossip.Decode(data, []gossip.Type{gossip.AcceptType, gossip.DeclineType}, time.Now(), maxAnswerBytes, time.Minute)
	if err != nil {
		r.d.Book.Record(p, reputation.Violation, "answer to an award: "+err.Error())
		return nil, err
	}
	if signer != p {
		r.d.Book.Record(p, reputation.Violation, "answer to an award signed by someone else")
		return nil, errForged
	}
	switch x := msg.(type) {
	case *gossip.Accept:
		if x.Job != a.Job || x.AwardSeq != a.Seq {
			return nil, errors.New("accept for another award")
		}
	case *gossip.Decline:
		if x.Job != a.Job || x.AwardSeq != a.Seq {
			return nil, errors.New("decline for another award")
		}
	}
	return msg, nil
}

// check lists the pairs of cluster measured over the bound.
func (d *driver) check(cluster []*member, measured map[[2]int]time.Duration) []string {
	maxRTT := d.j.request().MaxRTT
	if maxRTT <= 0 {
		return nil
	}
	var over []string
	for x, a := range cluster {
		for _, b := range cluster[x+1:] {
			if rtt, ok := measured[pair(a.bid, b.bid)]; ok && rtt > maxRTT {
				over = append(over, fmt.Sprintf("%s-%s %s", short(a.peer), short(b.peer), human.Millis(rtt)))
			}
		}
	}
	return over
}

// formed records the cluster, with the requester's own pings to it.
func (d *driver) formed(ctx context.Context, cluster []*member, measured map[[2]int]time.Duration, res placement.Result) {
	j := d.j
	now := time.Now()
	rtts := d.pingAll(ctx, cluster)
	req := j.request()
	per := devicesPerWorker(req)
	j.mu.Lock()
	defer j.mu.Unlock()
	var maxPair time.Duration
	cost := Cost{}
	for x, mb := range cluster {
		for _, o := range cluster[x+1:] {
			if rtt, ok := measured[pair(mb.bid, o.bid)]; ok {
				maxPair = max(maxPair, rtt)
			}
		}
		price, _ := pricing.FromFloat(mb.price)
		q, err := pricing.NewQuote(price, len(mb.ranks)*per, time.Duration(j.view.Spec.Duration))
		if err == nil {
			cost.add(q)
		}
		j.view.Cluster = append(j.view.Cluster, Member{Peer: mb.peer.String(), Ranks: mb.ranks, Class: mb.class,
			Price: mb.price, RTTFromYouMS: msf(rtts[x]), Devices: len(mb.ranks) * per})
	}
	j.view.MaxPairRTTMS = msf(maxPair)
	j.view.Cost = &cost
	j.view.Placement = res.Explain()
	j.view.FormedAt = &now
	pairs := "pairwise RTTs not measured (no RTT bound)"
	if req.MaxRTT > 0 {
		pairs = fmt.Sprintf("measured max pairwise RTT %s (%s)", human.Millis(maxPair), bound(req.MaxRTT))
	}
	j.event("formed", "", "cluster formed in %s: %s on %s, %s; %s per hour, %s for %s with fees",
		human.Millis(now.Sub(j.view.Created)), human.Plural(req.Workers, "worker"), human.Plural(len(cluster), "provider"), pairs,
		cost.PerHour, cost.RequesterPays, time.Duration(j.view.Spec.Duration))
}

// pingAll is this node's RTT to each member, 0 for one that did not
// answer within two seconds.
func (r *requester) pingAll(ctx context.Context, cluster []*member) []time.Duration {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	rtts := make([]time.Duration, len(cluster))
	done := make(chan struct{}, len(cluster))
	for i, mb := range cluster {
		go func() {
			defer func() { done <- struct{}{} }()
			select {
			case res := <-ping.Ping(pctx, r.d.Host, mb.peer):
				if res.Error == nil {
					rtts[i] = res.RTT
				}
			case <-pctx.Done():
			}
		}()
	}
	for range cluster {
		<-done
	}
	return rtts
}

// releaseAll releases every held award.
func (d *driver) releaseAll(ctx context.Context, held map[int]*member, reason string) {
	for _, mb := range held {
		d.releaseOne(ctx, mb, reason)
	}
}

// releaseOne tells a provider its accepted award no longer stands.
func (d *driver) releaseOne(ctx context.Context, mb *member, reason string) {
	rel := &gossip.Release{Job: mb.req, Provider: mb.peer.String(), Seq: d.nextSeq(), Sent: time.Now(), Reason: reason}
	rctx, cancel := context.WithTimeout(ctx, time.Duration(d.cfg.AwardTimeout))
	defer cancel()
	_, err := d.send(rctx, mb.peer, mb.addrs, AwardProtocol, rel, maxAckBytes)
	d.hold(d.j, mb.peer, -len(mb.ranks))
	if err != nil {
		d.j.note("release", mb.peer, "release of %s failed (%v); its reservation lapses by itself", short(mb.peer), err)
	} else {
		d.j.note("release", mb.peer, "released %s: %s", short(mb.peer), reason)
	}
}

// recordRejections keeps placement's reasons, and the market's own, on
// the job's bid list.
func (d *driver) recordRejections(res placement.Result, excluded map[int]*exclusion) {
	counts := rejectedCounts(res, excluded)
	d.j.mu.Lock()
	d.j.view.Rejected = counts
	d.j.mu.Unlock()
}

// explainFailure is why no cluster could be formed, in numbers: what
// placement made of the bids, and what the providers invited directly
// said about the request.
func (d *driver) explainFailure(res placement.Result, excluded map[int]*exclusion) error {
	j := d.j
	<-j.invited // bounded by the bid deadline
	on := d.invites()
	j.mu.Lock()
	defer j.mu.Unlock()
	v := j.view
	return &noCluster{bids: len(j.received), placed: res, excluded: excluded,
		invites: invitations{on: on, found: v.Found, invited: v.Invited, refusals: v.InviteRefusals, reasons: v.InviteReasons,
			wanted: describe(j.req.PerWorker) + ", executor " + j.req.Executor, gpus: j.req.PerWorker.Pool == "gpu"}}
}

// without is m less key.
func without(m map[string][]string, key string) map[string][]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}
