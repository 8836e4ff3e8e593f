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
func (m *Market) replace(ctx context.Context, j *job, w *work, lost *member, why error) (*member, error) {
	m.mu.Lock()
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
		m.mu.Unlock()
		return nil, errors.New("the job's failover policy is none")
	}
	if j.view.Failovers >= m.cfg.MaxFailovers {
		m.mu.Unlock()
		return nil, fmt.Errorf("%s replaced already (market.max_failovers)", plural(j.view.Failovers, "lost provider"))
	}
	j.view.Failovers++
	j.event("failover", lost.peer, "failover %d: looking for a provider for ranks %v among the runner-up bids", j.view.Failovers, lost.ranks)
	m.mu.Unlock()

	if mb, _ := m.takeReplacement(ctx, j, j, w, lost); mb != nil {
		return mb, nil
	}
	// Failover requests, retried while this node's other jobs hold the
	// providers that would do: each retry waits for one of them to end.
	// With none, waiting would only leave the job hanging.
	var why2 string
	rounds := 0
	for try := 0; try <= maxRebids; try++ {
		if try > 0 && !m.othersHold(j) {
			break
		}
		if try > 0 && !m.waitForFreed(ctx, j, fmt.Sprintf("no usable bid for ranks %v (%s); waiting for one of your other jobs to end, then asking again (%d of %d)", lost.ranks, why2, try, maxRebids)) {
			return nil, ctx.Err()
		}
		mb, why, err := m.failoverRound(ctx, j, w, lost)
		if err != nil || mb != nil {
			return mb, err
		}
		why2 = why
		rounds++
	}
	return nil, fmt.Errorf("no usable bid for ranks %v after %s: %s", lost.ranks, plural(rounds, "failover request"), why2)
}

// failoverRound publishes one failover request and takes the best of its
// bids; it returns the replacement, or nil and why no bid would do.
func (m *Market) failoverRound(ctx context.Context, j *job, w *work, lost *member) (*member, string, error) {
	sub, err := m.failoverRequest(ctx, j, lost)
	if err != nil {
		return nil, "", err
	}
	defer func() {
		m.mu.Lock()
		delete(m.jobs, sub.req.ID)
		m.mu.Unlock()
	}()
	mb, why := m.takeReplacement(ctx, j, sub, w, lost)
	if mb == nil {
		return nil, fmt.Sprintf("failover request %s had %s, none usable: %s", short8(sub.req.ID), plural(len(sub.bids), "bid"), why), nil
	}
	return mb, "", nil
}

// short8 is the first 8 characters of an ID.
func short8(id string) string { return id[:min(8, len(id))] }

// takeReplacement awards the best candidates among the bids of r (the job
// itself or a failover request), in order, until one accepts with pings
// within the bound; it returns that member, or nil and why none did.
func (m *Market) takeReplacement(ctx context.Context, j *job, r *job, w *work, lost *member) (*member, string) {
	m.mu.Lock()
	bids := slices.Clone(r.bids)
	from := slices.Clone(r.from)
	busy := m.busyElsewhere(j)
	others := w.others(lost)
	excluded := map[peer.ID]bool{m.self: true}
	for p := range w.lost {
		excluded[p] = true
	}
	for _, o := range others {
		excluded[o.peer] = true
	}
	m.mu.Unlock()
	type candidate struct {
		i     int
		score float64
	}
	var cands []candidate
	skipped := map[string]int{}
	now := time.Now()
	minRep := *j.view.Spec.MinReputation
	for i, b := range bids {
		rep := m.d.Book.Score(from[i])
		switch {
		case excluded[from[i]]:
			skipped["in the cluster or lost"]++
		case b.Workers-busy[from[i]] < len(lost.ranks):
			skipped["too few workers free"]++
		case !b.Expires.After(now.Add(time.Duration(m.cfg.AwardTimeout))):
			skipped["expired"]++
		case b.Price > j.req.MaxPrice:
			skipped["over the price"]++
		case rep < minRep:
			skipped["reputation"]++
		case !withinBound(j.req.MaxRTT, b.Coord, others):
			skipped["too far"]++
		default:
			cands = append(cands, candidate{i, b.Price / max(rep, 0.01)})
		}
	}
	slices.SortStableFunc(cands, func(a, b candidate) int { return cmp.Compare(a.score, b.score) })
	for _, c := range cands[:min(len(cands), maxReplacementTries)] {
		// A replacement proves its class as a first member does.
		if why, challenged, v := m.verifyClass(ctx, from[c.i], bids[c.i].Class); why != "" {
			m.mu.Lock()
			j.event("challenge_failed", from[c.i], "%s %s; not a replacement", short(from[c.i]), why)
			m.mu.Unlock()
			skipped["failed proof-of-compute"]++
			continue
		} else if challenged {
			m.mu.Lock()
			verifiedEvent(j, from[c.i], bids[c.i].Class, v)
			m.mu.Unlock()
		}
		mb, err := m.awardReplacement(ctx, j, r, w, lost, c.i, others)
		if mb != nil {
			return mb, ""
		}
		skipped[trim(err.Error())]++
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

// awardReplacement awards the ranks of lost to bid i of r and waits for
// the answer; a winner whose pings to the remaining workers are over the
// bound is released.
func (m *Market) awardReplacement(ctx context.Context, j *job, r *job, w *work, lost *member, i int, others []*member) (*member, error) {
	cand := newMember(r, i)
	cand.ranks, cand.attempt, cand.replaces = slices.Clone(lost.ranks), lost.attempt+1, lost.peer
	m.mu.Lock()
	peers := slices.Clone(w.peers)
	m.mu.Unlock()
	for _, rk := range cand.ranks {
		peers[rk] = cand.peer.String()
	}
	addrs := map[string][]string{}
	if j.req.MaxRTT > 0 {
		for _, o := range others {
			addrs[o.peer.String()] = o.addrs
		}
	}
	now := time.Now()
	a := &gossip.Award{Job: cand.req, Provider: cand.peer.String(), Seq: m.nextSeq(), Sent: now,
		AcceptBy: now.Add(time.Duration(m.cfg.AwardTimeout)), Price: cand.price,
		Ranks: cand.ranks, WorldSize: len(peers), Peers: peers, Addrs: addrs}
	cand.awardSeq = a.Seq
	m.mu.Lock()
	j.event("award", cand.peer, "failover award to %s: ranks %v at $%.4f per device-hour", short(cand.peer), a.Ranks, a.Price)
	m.hold(j, cand.peer, len(cand.ranks))
	m.mu.Unlock()
	unhold := func() {
		m.mu.Lock()
		m.hold(j, cand.peer, -len(cand.ranks))
		m.mu.Unlock()
	}
	actx, cancel := context.WithDeadline(ctx, a.AcceptBy)
	msg, err := m.exchange(actx, cand.peer, cand.addrs, a)
	cancel()
	switch msg := msg.(type) {
	case *gossip.Accept:
		m.d.Book.Record(cand.peer, reputation.AwardAccepted, j.req.ID)
		cand.accepted = true
		var over []string
		for _, x := range msg.RTTs {
			if j.req.MaxRTT > 0 && (x.Err != "" || x.RTT > j.req.MaxRTT) && slices.ContainsFunc(others, func(o *member) bool { return o.peer.String() == x.Peer }) {
				over = append(over, x.Peer)
			}
		}
		if len(over) > 0 {
			m.releaseOne(ctx, j, cand, "over the RTT bound to the remaining workers")
			return nil, fmt.Errorf("pings over the %s bound", bound(j.req.MaxRTT))
		}
		m.mu.Lock()
		m.hold(j, lost.peer, -len(lost.ranks))
		j.event("replaced", cand.peer, "%s accepted ranks %v in place of %s", short(cand.peer), cand.ranks, short(lost.peer))
		for k, c := range j.view.Cluster {
			if c.Peer == lost.peer.String() && slices.Equal(c.Ranks, lost.ranks) {
				j.view.Cluster[k] = Member{Peer: cand.peer.String(), Ranks: cand.ranks, Class: cand.class, Price: cand.price, Devices: c.Devices}
			}
		}
		m.mu.Unlock()
		return cand, nil
	case *gossip.Decline:
		unhold()
		m.d.Book.Record(cand.peer, reputation.AwardDeclined, msg.Reason)
		return nil, fmt.Errorf("declined: %s", msg.Reason)
	default:
		unhold()
		m.d.Book.Record(cand.peer, reputation.AwardTimeout, fmt.Sprint(err))
		return nil, errors.New("no answer")
	}
}

// failoverRequest publishes a request for the ranks of lost alone, with
// the job's terms, and gathers its bids; the request lives in m.jobs (not
// in the job list) so that bids reach it.
func (m *Market) failoverRequest(ctx context.Context, j *job, lost *member) (*job, error) {
	now := time.Now()
	spec := j.view.Spec
	spec.Workers = len(lost.ranks)
	req := spec.request(newJobID(), m.nextSeq(), now)
	if c, ok := m.d.Coordinate(); ok {
		req.Coord = &c
	}
	req.Addrs = m.d.Addrs()
	if err := req.Validate(now, time.Minute); err != nil {
		return nil, err
	}
	sub := &job{req: req, newBid: make(chan struct{}, 1), changed: make(chan struct{}), done: make(chan struct{}), invited: make(chan struct{}),
		view: JobView{ID: req.ID, Role: "failover", State: StateBidding, Spec: spec, Created: now, Updated: now}}
	m.mu.Lock()
	m.jobs[req.ID] = sub
	j.event("failover", "", "no runner-up bid usable; asked the network for %s (failover request %s)", plural(spec.Workers, "worker"), short8(req.ID))
	m.mu.Unlock()
	if err := m.d.Gossip.Publish(ctx, gossip.TopicJobs, req); err != nil {
		m.mu.Lock()
		delete(m.jobs, req.ID)
		m.mu.Unlock()
		return nil, fmt.Errorf("publish the failover request: %w", err)
	}
	if !m.invites() || !m.goBackground(func(ctx context.Context) { m.invite(ctx, sub) }) {
		close(sub.invited)
	}
	if !m.collect(ctx, sub) {
		m.mu.Lock()
		delete(m.jobs, req.ID)
		m.mu.Unlock()
		return nil, errors.New("the job stopped")
	}
	m.mu.Lock()
	j.event("failover", "", "failover request %s closed with %s", short8(req.ID), plural(len(sub.bids), "bid"))
	m.mu.Unlock()
	return sub, nil
}
