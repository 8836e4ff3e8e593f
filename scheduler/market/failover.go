package market

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/internal/human"
	"github.com/gpumesh/gpumesh/p2p/coord"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// maxReplacementTries bounds the awards tried for one replacement from
// one set of bids.
const maxReplacementTries = 3

// replace finds a provider for the ranks of lost, which dropped mid-job,
// never ran the work or failed its audit (why), and returns it holding an
// accepted award. It takes the best runner-up bid of the job that is
// still valid and, failing that (bids live only seconds past the bid
// deadline), publishes a failover request for just those ranks and takes
// the best of its bids. A candidate must be
// outside the cluster, never lost in this job, within the job's price and
// reputation bounds and, by its coordinate and then by its own pings,
// within the RTT bound of every remaining worker.
func (d *driver) replace(ctx context.Context, w *work, lost *member, why error) (*member, error) {
	j := d.j
	j.mu.Lock()
	w.lost[lost.peer] = true
	policy := j.view.Spec.Failover
	switch {
	case refusedResults(why): // its audit_failed or outputs_refused event said why
	case errors.Is(why, run.ErrBusy):
		j.event("lost", lost.peer, "%s stayed busy: it refused the run each time, before it ran anything (%v)", short(lost.peer), why)
	case errors.Is(why, errNeverRan):
		j.event("lost", lost.peer, "%s lost before it ran anything (%v)", short(lost.peer), why)
	default:
		j.event("lost", lost.peer, "%s lost mid-job (%v)", short(lost.peer), why)
	}
	if policy == FailoverNone {
		j.mu.Unlock()
		return nil, errPolicyNone
	}
	if j.view.Failovers >= d.cfg.MaxFailovers {
		j.mu.Unlock()
		return nil, fmt.Errorf("%s replaced already (market.max_failovers)", human.Plural(j.view.Failovers, "lost provider"))
	}
	j.view.Failovers++
	j.event("failover", lost.peer, "failover %d: looking for a provider for ranks %v among the runner-up bids", j.view.Failovers, lost.ranks)
	j.mu.Unlock()

	if mb, _ := d.takeReplacement(ctx, j, w, lost); mb != nil {
		return mb, nil
	}
	// Failover requests, retried while this node's other jobs hold the
	// providers that would do: each retry waits for one of them to end.
	// With none, waiting would only leave the job hanging.
	var why2 string
	rounds := 0
	for try := 0; try <= maxRebids; try++ {
		if try > 0 && !d.othersHold(j) {
			break
		}
		if try > 0 && !d.waitForFreed(ctx, fmt.Sprintf("no usable bid for ranks %v (%s); waiting for one of your other jobs to end, then asking again (%d of %d)", lost.ranks, why2, try, maxRebids)) {
			return nil, ctx.Err()
		}
		mb, why, err := d.failoverRound(ctx, w, lost)
		if err != nil || mb != nil {
			return mb, err
		}
		why2 = why
		rounds++
	}
	return nil, fmt.Errorf("no usable bid for ranks %v after %s: %s", lost.ranks, human.Plural(rounds, "failover request"), why2)
}

// failoverRound publishes one failover request and takes the best of its
// bids; it returns the replacement, or nil and why no bid would do.
func (d *driver) failoverRound(ctx context.Context, w *work, lost *member) (*member, string, error) {
	sub, err := d.failoverRequest(ctx, lost)
	if err != nil {
		return nil, "", err
	}
	defer d.unindex(sub.view.ID)
	mb, why := d.takeReplacement(ctx, sub, w, lost)
	if mb == nil {
		return nil, fmt.Sprintf("failover request %s had %s, none usable: %s", short8(sub.view.ID), human.Plural(sub.bidCount(), "bid"), why), nil
	}
	return mb, "", nil
}

// short8 is the first 8 characters of an ID.
func short8(id string) string { return id[:min(8, len(id))] }

// takeReplacement awards the best candidates among the bids of r (the job
// itself or a failover request), in order, until one accepts with pings
// within the bound; it returns that member, or nil and why none did.
func (d *driver) takeReplacement(ctx context.Context, r *job, w *work, lost *member) (*member, string) {
	j := d.j
	bids := r.bids()
	busy := d.busy(j)
	j.mu.Lock()
	others := w.others(lost)
	excluded := map[peer.ID]bool{d.self: true}
	for p := range w.lost {
		excluded[p] = true
	}
	for _, o := range others {
		excluded[o.peer] = true
	}
	req := j.req
	j.mu.Unlock()
	type candidate struct {
		i     int
		score float64
	}
	var cands []candidate
	skipped := map[string]int{} // by exclusion, as text
	skip := func(e error) { skipped[trim(e.Error())]++ }
	now := time.Now()
	minRep := *j.view.Spec.MinReputation
	for i, rb := range bids {
		b := rb.bid
		rep := d.d.Book.Score(rb.from)
		switch {
		case excluded[rb.from]:
			skip(exclude(reasonInCluster, ""))
		case b.Workers-busy[rb.from] < len(lost.ranks):
			skip(exclude(reasonTooFewFree, ""))
		case !b.Expires.After(now.Add(time.Duration(d.cfg.AwardTimeout))):
			skip(exclude(reasonExpired, ""))
		case b.Price > req.MaxPrice:
			skip(exclude(reasonOverPrice, ""))
		case rep < minRep:
			skip(exclude(reasonReputation, ""))
		case !withinBound(req.MaxRTT, b.Coord, others):
			skip(exclude(reasonTooFar, ""))
		default:
			cands = append(cands, candidate{i, b.Price / max(rep, 0.01)})
		}
	}
	slices.SortStableFunc(cands, func(a, b candidate) int { return cmp.Compare(a.score, b.score) })
	for _, c := range cands[:min(len(cands), maxReplacementTries)] {
		// A replacement proves its class as a first member does.
		p, class := bids[c.i].from, bids[c.i].bid.Class
		if why, challenged, v := d.verifyClass(ctx, p, class); why != nil {
			j.note("challenge_failed", p, "%s %s; not a replacement", short(p), why)
			skip(exclude(reasonNotProven, ""))
			continue
		} else if challenged {
			j.note("verified", p, "%s", verifiedText(p, class, v))
		}
		mb, err := d.awardReplacement(ctx, newMember(r.view.ID, bids, c.i), w, lost, others)
		if mb != nil {
			return mb, ""
		}
		skip(err)
	}
	if len(skipped) == 0 {
		return nil, "no bids"
	}
	return nil, reasonText(skipped)
}

// reasonText lists counts by reason, largest first.
func reasonText(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), strings.Compare(a, b))
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", counts[k], k)
	}
	return strings.Join(parts, ", ")
}

// withinBound reports whether a provider at c is estimated within bound of
// every other member whose coordinate is known.
func withinBound(bound time.Duration, c *coord.Coordinate, others []*member) bool {
	if bound <= 0 || c == nil {
		return true
	}
	for _, o := range others {
		if o.coord != nil && coord.EstimateRTT(*c, *o.coord) > bound {
			return false
		}
	}
	return true
}

// awardReplacement awards the ranks of lost to cand and waits for the
// answer; a winner whose pings to the remaining workers are over the
// bound is released. The error says why cand is not the replacement.
func (d *driver) awardReplacement(ctx context.Context, cand *member, w *work, lost *member, others []*member) (*member, error) {
	j := d.j
	cand.ranks, cand.attempt, cand.replaces = slices.Clone(lost.ranks), lost.attempt+1, lost.peer
	j.mu.Lock()
	peers := slices.Clone(w.peers)
	maxRTT := j.req.MaxRTT
	j.mu.Unlock()
	for _, rk := range cand.ranks {
		peers[rk] = cand.peer.String()
	}
	addrs := map[string][]string{}
	if maxRTT > 0 {
		for _, o := range others {
			addrs[o.peer.String()] = o.addrs
		}
	}
	now := time.Now()
	a := &gossip.Award{Job: cand.req, Provider: cand.peer.String(), Seq: d.nextSeq(), Sent: now,
		AcceptBy: now.Add(time.Duration(d.cfg.AwardTimeout)), Price: cand.price,
		Ranks: cand.ranks, WorldSize: len(peers), Peers: peers, Addrs: addrs, Network: d.networkOf(cand)}
	cand.awardSeq = a.Seq
	j.note("award", cand.peer, "failover award to %s: ranks %v at $%.4f per device-hour", short(cand.peer), a.Ranks, a.Price)
	d.hold(j, cand.peer, len(cand.ranks))
	unhold := func() { d.hold(j, cand.peer, -len(cand.ranks)) }
	actx, cancel := context.WithDeadline(ctx, a.AcceptBy)
	msg, err := d.exchange(actx, cand.peer, cand.addrs, a)
	cancel()
	switch msg := msg.(type) {
	case *gossip.Accept:
		d.d.Book.Record(cand.peer, reputation.AwardAccepted, j.view.ID)
		cand.accepted = true
		var over []string
		for _, x := range msg.RTTs {
			if maxRTT > 0 && (x.Err != "" || x.RTT > maxRTT) && slices.ContainsFunc(others, func(o *member) bool { return o.peer.String() == x.Peer }) {
				over = append(over, x.Peer)
			}
		}
		if len(over) > 0 {
			d.releaseOne(ctx, cand, "over the RTT bound to the remaining workers")
			return nil, exclude(reasonOverRTT, bound(maxRTT))
		}
		d.hold(j, lost.peer, -len(lost.ranks))
		j.mu.Lock()
		j.event("replaced", cand.peer, "%s accepted ranks %v in place of %s", short(cand.peer), cand.ranks, short(lost.peer))
		for k, c := range j.view.Cluster {
			if c.Peer == lost.peer.String() && slices.Equal(c.Ranks, lost.ranks) {
				j.view.Cluster[k] = Member{Peer: cand.peer.String(), Ranks: cand.ranks, Class: cand.class, Price: cand.price, Devices: c.Devices}
			}
		}
		j.mu.Unlock()
		return cand, nil
	case *gossip.Decline:
		unhold()
		d.d.Book.Record(cand.peer, reputation.AwardDeclined, msg.Reason)
		return nil, exclude(reasonDeclined, msg.Reason)
	default:
		unhold()
		d.d.Book.Record(cand.peer, reputation.AwardTimeout, fmt.Sprint(err))
		return nil, exclude(reasonNoAnswer, "")
	}
}

// failoverRequest publishes a request for the ranks of lost alone, with
// the job's terms, and gathers its bids; the request lives in the job
// index (not in the job list) so that bids reach it.
func (d *driver) failoverRequest(ctx context.Context, lost *member) (*job, error) {
	j := d.j
	now := time.Now()
	spec := j.view.Spec
	spec.Workers = len(lost.ranks)
	req, widened, err := d.newRequest(spec, now)
	if err != nil {
		return nil, err
	}
	sub := newJob(req, spec, "failover", now)
	d.index(sub)
	j.note("failover", "", "no runner-up bid usable; asked the network for %s (failover request %s)%s", human.Plural(spec.Workers, "worker"), short8(req.ID), paren(widened))
	sd := &driver{requester: d.requester, j: sub}
	if err := sd.publish(ctx, req); err != nil {
		d.unindex(req.ID)
		return nil, fmt.Errorf("publish the failover request: %w", err)
	}
	sd.startInvites()
	if !sd.collect(ctx) {
		d.unindex(req.ID)
		return nil, errors.New("the job stopped")
	}
	j.note("failover", "", "failover request %s closed with %s", short8(req.ID), human.Plural(sub.bidCount(), "bid"))
	return sub, nil
}

// index puts a failover request in the job index, unlisted, so that bids
// reach it.
func (r *requester) index(sub *job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs[sub.view.ID] = sub
}

// unindex takes a failover request out of the job index.
func (r *requester) unindex(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.jobs, id)
}
