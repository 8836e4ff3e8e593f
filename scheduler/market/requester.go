package market

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p/coord"
	"github.com/gpumesh/gpumesh/scheduler/placement"
	"github.com/gpumesh/gpumesh/scheduler/pricing"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// maxJobs is how many jobs a node remembers as requester.
const maxJobs = 1000

// ErrTooManyJobs is returned by Submit when the node remembers as many
// jobs as it may (maxJobs) and none of them has finished: a job is
// forgotten only once it finished, never while it holds providers.
var ErrTooManyJobs = errors.New("too many unfinished jobs")

// forgetFinished forgets the oldest finished job and returns it, or nil
// if none has finished; m.mu must be held. The caller removes its log
// file once the lock is released.
func (m *Market) forgetFinished() *job {
	for i, id := range m.order {
		j := m.jobs[id]
		if j != nil {
			select {
			case <-j.done:
			default:
				continue
			}
		}
		m.order = slices.Delete(m.order, i, i+1)
		delete(m.jobs, id)
		if j == nil {
			j = &job{}
		}
		return j
	}
	return nil
}

// maxBidsPerJob bounds the bids one job keeps: a Sybil flood of bidders
// cannot grow a job without bound.
const maxBidsPerJob = 4096

// unreachable stands for the RTT of a pair whose ping failed.
const unreachable = time.Hour

// job is one request this node made, and everything that happened to it.
type job struct {
	view    JobView
	req     *gossip.JobRequest
	bids    []*gossip.Bid
	from    []peer.ID
	at      []time.Time
	closed  bool
	newBid  chan struct{}
	changed chan struct{}      // closed and replaced at every event
	done    chan struct{}      // closed when the job reaches a final state
	invited chan struct{}      // closed once invitations, if any, have answered
	cancel  context.CancelFunc // ends everything the job does
	log     *jobLog            // the work's log lines, on disk; nil until the work starts
	settles sync.WaitGroup     // receipt exchanges under way
	holding map[peer.ID]int    // workers awarded to each provider and not yet given back
	rebids  int                // times bidding reopened because our other jobs took the bidders
}

// hold counts n more workers of j on provider p (n < 0 gives them back);
// m.mu must be held. A requester's concurrent jobs see each other's
// holdings, so they do not award one provider's single device twice.
func (m *Market) hold(j *job, p peer.ID, n int) {
	if j.holding == nil {
		j.holding = map[peer.ID]int{}
	}
	if j.holding[p] += n; j.holding[p] <= 0 {
		delete(j.holding, p)
	}
}

// busyElsewhere is how many workers of each provider this node's other
// unfinished jobs hold; m.mu must be held.
func (m *Market) busyElsewhere(j *job) map[peer.ID]int {
	busy := map[peer.ID]int{}
	for _, o := range m.jobs {
		if o == j || o.holding == nil {
			continue
		}
		select {
		case <-o.done:
			continue
		default:
		}
		for p, n := range o.holding {
			busy[p] += n
		}
	}
	return busy
}

// event appends an event; m.mu must be held.
func (j *job) event(kind string, p peer.ID, format string, args ...any) {
	e := Event{At: time.Now(), Kind: kind, Text: fmt.Sprintf(format, args...)}
	if p != "" {
		e.Peer = p.String()
	}
	j.view.Events = append(j.view.Events, e)
	j.view.Updated = e.At
	close(j.changed)
	j.changed = make(chan struct{})
}

// Submit publishes a request for spec and forms its cluster in the
// background; the returned view is the job as published. Watch or Wait
// follow it.
func (m *Market) Submit(ctx context.Context, spec Spec) (JobView, error) {
	spec, err := spec.Normalize(m.cfg)
	if err != nil {
		return JobView{}, err
	}
	now := time.Now()
	req := spec.request(newJobID(), m.nextSeq(), now)
	if c, ok := m.d.Coordinate(); ok {
		req.Coord = &c
	}
	req.Addrs = m.d.Addrs()
	if err := req.Validate(now, time.Minute); err != nil {
		return JobView{}, fmt.Errorf("%w: %w", ErrBadSpec, err)
	}
	j := &job{req: req, newBid: make(chan struct{}, 1), changed: make(chan struct{}), done: make(chan struct{}), invited: make(chan struct{}),
		view: JobView{ID: req.ID, Role: "requester", State: StateBidding, Spec: spec, Created: now, Updated: now}}
	m.mu.Lock()
	var forgotten *job
	if len(m.order) >= m.jobCap {
		if forgotten = m.forgetFinished(); forgotten == nil {
			n := len(m.order)
			m.mu.Unlock()
			return JobView{}, fmt.Errorf("%w: %d jobs, none of them finished", ErrTooManyJobs, n)
		}
	}
	m.jobs[req.ID] = j
	m.order = append(m.order, req.ID)
	j.event("request", "", "asked for %s of %s, %s, up to $%.2f per device-hour; bids close by %s",
		plural(spec.Workers, "worker"), describe(req.PerWorker), bound(req.MaxRTT), req.MaxPrice, req.BidDeadline.Format("15:04:05.000"))
	v := j.view.clone()
	m.mu.Unlock()
	if forgotten != nil {
		forgotten.log.remove() // its file, outside the lock
	}
	if err := m.d.Gossip.Publish(ctx, gossip.TopicJobs, req); err != nil {
		m.finish(j, StateFailed, "could not publish the request: "+err.Error())
		return m.viewOf(j), err
	}
	jctx, cancel := m.life.Context(context.Background())
	m.mu.Lock()
	j.cancel = cancel
	m.mu.Unlock()
	if !m.goBackground(func(context.Context) {
		defer cancel()
		m.run(jctx, j)
	}) {
		cancel()
		m.finish(j, StateFailed, "the market closed")
		return m.viewOf(j), ErrClosed
	}
	return v, nil
}

// run takes a published job to a formed cluster or a failure.
func (m *Market) run(ctx context.Context, j *job) {
	if !m.invites() || !m.goBackground(func(ctx context.Context) { m.invite(ctx, j) }) {
		close(j.invited)
	}
	if !m.collect(ctx, j) {
		return
	}
	m.confirm(ctx, j)
}

// invites reports whether requests go to providers found through
// capability keys too.
func (m *Market) invites() bool {
	return m.cfg.Invite && m.d.Invitees != nil && (m.cfg.InviteAbove == 0 || m.d.RoutingTableSize != nil && m.d.RoutingTableSize() >= m.cfg.InviteAbove)
}

// invite asks providers found through capability keys directly.
func (m *Market) invite(ctx context.Context, j *job) {
	defer close(j.invited)
	ctx, cancel := context.WithDeadline(ctx, j.req.BidDeadline)
	defer cancel()
	found := m.d.Invitees(ctx, j.req, m.cfg.EnoughBidsPerWorker*j.req.Workers)
	sem := make(chan struct{}, 16)
	asked, had, declined, details := 0, 0, map[string]int{}, map[string]string{}
	results := make(chan [2]string, len(found))
	for _, p := range found {
		if p.ID == m.self {
			continue
		}
		m.mu.Lock()
		already := slices.Contains(j.from, p.ID)
		m.mu.Unlock()
		if already {
			had++
			continue
		}
		asked++
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			answer, err := m.send(ctx, p.ID, addrStrings(p), InviteProtocol, j.req, maxAckBytes)
			if err != nil {
				results <- [2]string{"unreachable", trim(err.Error())}
				return
			}
			ack, err := readAck(answer)
			switch {
			case err != nil:
				results <- [2]string{"unreadable answer", trim(err.Error())}
			case ack.OK:
				results <- [2]string{}
			default:
				check, detail, _ := strings.Cut(ack.Reason, ":")
				results <- [2]string{check, strings.TrimSpace(detail)}
			}
		}()
	}
	for range asked {
		if r := <-results; r[0] != "" {
			declined[r[0]]++
			if details[r[0]] == "" {
				details[r[0]] = r[1]
			}
		}
	}
	m.mu.Lock()
	j.view.Found, j.view.Invited, j.view.InviteRefusals, j.view.InviteReasons = len(found), asked, declined, details
	j.event("invited", "", "capability keys gave %s: %d had bid already; invited %d, of whom %d said they would not bid%s",
		plural(len(found), "provider"), had, asked, total(declined), reasonList(declined))
	m.mu.Unlock()
}

// collect gathers bids until the deadline, or until enough eligible bids
// with a feasible cluster among them arrived. It reports whether the job
// goes on.
func (m *Market) collect(ctx context.Context, j *job) bool {
	deadline := time.NewTimer(time.Until(j.req.BidDeadline))
	defer deadline.Stop()
	var grace <-chan time.Time // runs once a cluster fits
	enough := m.cfg.EnoughBidsPerWorker * j.req.Workers
	closeNow := func(why string) bool {
		m.mu.Lock()
		j.closed = true
		j.event("closed", "", "bidding closed %s with %s", why, plural(len(j.bids), "bid"))
		m.mu.Unlock()
		return true
	}
	for {
		select {
		case <-ctx.Done():
			m.finish(j, StateFailed, "the node stopped")
			return false
		case <-deadline.C:
			return closeNow("at the deadline")
		case <-grace:
			return closeNow("early, a cluster fitting and no better bid coming in time,")
		case <-j.newBid:
			if res, _ := m.place(j, nil, nil); !res.Feasible {
				continue
			}
			m.mu.Lock()
			n := len(j.bids)
			m.mu.Unlock()
			if n >= enough {
				return closeNow(fmt.Sprintf("early, a cluster fitting and %d bids per worker in,", m.cfg.EnoughBidsPerWorker))
			}
			if grace == nil {
				// Wait as long again as it took for a cluster to fit: bids
				// from up to about twice as far still count.
				wait := max(time.Since(j.view.Created), minGrace)
				grace = time.After(wait)
			}
		}
	}
}

// minGrace is the least time bidding stays open once a cluster fits.
const minGrace = 50 * time.Millisecond

// place runs placement over the bids not excluded, with the RTTs measured
// so far; it returns the result and the bid index of each placement bid.
func (m *Market) place(j *job, excluded map[int]string, measured map[[2]int]time.Duration) (placement.Result, []int) {
	m.mu.Lock()
	bids := slices.Clone(j.bids)
	from := slices.Clone(j.from)
	busy := m.busyElsewhere(j)
	m.mu.Unlock()
	per := devicesPerWorker(j.req)
	var pb []placement.Bid
	var idx []int
	for i, b := range bids {
		if _, out := excluded[i]; out {
			continue
		}
		workers := b.Workers - busy[from[i]]
		if workers <= 0 {
			continue // its devices went to another of our jobs
		}
		// A provider with no coordinate yet sits at the origin: placement
		// then trusts the winners' pings to check the bound.
		c := coord.Coordinate{Vec: make([]float64, coord.Dimensions)}
		if b.Coord != nil {
			c = *b.Coord
		}
		pb = append(pb, placement.Bid{ID: from[i].String(), Price: b.Price * float64(per), Coord: c,
			Reputation: m.d.Book.Score(from[i]), Class: b.Class, Workers: workers})
		idx = append(idx, i)
	}
	req := placement.Request{K: j.req.Workers, MaxRTT: j.req.MaxRTT, MaxPrice: j.req.MaxPrice * float64(per),
		MinReputation: *j.view.Spec.MinReputation, Class: j.req.PerWorker.Class}
	opts := []placement.Option{}
	if len(measured) > 0 {
		opts = append(opts, placement.WithMeasured(func(a, b int) (time.Duration, bool) {
			d, ok := measured[pair(idx[a], idx[b])]
			return d, ok
		}))
	}
	res, err := placement.Place(req, pb, opts...)
	if err != nil {
		return placement.Result{Summary: placement.Summary{Request: req}}, idx
	}
	return res, idx
}

// maxRebids bounds how often a job reopens bidding because this node's
// other jobs took its bidders; rebidWait bounds each wait for one of them
// to end.
const (
	maxRebids = 3
	rebidWait = 2 * time.Minute
)

// othersHold reports whether this node's other unfinished jobs hold
// workers on any provider: they may be what j's bidders, or the providers
// that did not bid, are busy with.
func (m *Market) othersHold(j *job) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.busyElsewhere(j)) > 0
}

// rebid waits until another of this node's jobs ends (they hold j's
// bidders), then publishes j's request again, with a new deadline, and
// gathers bids anew: a provider bids again on a newer request. It reports
// whether the job goes on.
func (m *Market) rebid(ctx context.Context, j *job) bool {
	m.mu.Lock()
	j.rebids++
	n := j.rebids
	m.mu.Unlock()
	if !m.waitForFreed(ctx, j, fmt.Sprintf("the providers that bid are running your other jobs; waiting for one of those to end, then asking again (%d of %d)", n, maxRebids)) {
		return false
	}
	now := time.Now()
	m.mu.Lock()
	req := *j.req
	req.Seq, req.Sent, req.BidDeadline = m.nextSeq(), now, now.Add(time.Duration(j.view.Spec.BidWindow))
	j.req, j.closed = &req, false
	j.bids, j.from, j.at = nil, nil, nil // old bids may have lapsed, or their bidders gone
	j.event("request", "", "asked again; bids close by %s", req.BidDeadline.Format("15:04:05.000"))
	m.mu.Unlock()
	if err := m.d.Gossip.Publish(ctx, gossip.TopicJobs, &req); err != nil {
		return false
	}
	return m.collect(ctx, j)
}

// waitForFreed records why j waits, then waits until another of this
// node's jobs ends, or rebidWait passes; false when ctx ended first.
func (m *Market) waitForFreed(ctx context.Context, j *job, why string) bool {
	m.mu.Lock()
	freed := m.freed
	j.event("waiting", "", "%s", why)
	m.mu.Unlock()
	t := time.NewTimer(rebidWait)
	defer t.Stop()
	select {
	case <-freed:
		return true
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// member is a provider of a proposed cluster.
type member struct {
	bid      int // index of its bid in the job's bids (or its failover request's)
	peer     peer.ID
	ranks    []int
	accepted bool
	awardSeq uint64
	// From its bid: the request it answered, where to reach it, its price,
	// class and coordinate.
	req   string
	addrs []string
	price float64
	class string
	coord *coord.Coordinate
	// attempt is 0 for a first member, n for the n-th replacement of its
	// ranks; replaces is the provider it replaced.
	attempt  int
	replaces peer.ID
}

// newMember is the member bid i of j (or of a failover request) makes.
func newMember(r *job, i int) *member {
	b := r.bids[i]
	return &member{bid: i, peer: r.from[i], req: r.req.ID, addrs: b.Addrs, price: b.Price, class: b.Class, coord: b.Coord}
}

// confirm awards the placement's choice, collects the winners' answers and
// pings, and replaces decliners and pairs over the bound, for up to
// market.verify_rounds rounds.
func (m *Market) confirm(ctx context.Context, j *job) {
	excluded := map[int]string{}
	measured := map[[2]int]time.Duration{}
	held := map[int]*member{} // accepted awards, by bid index
	m.setState(j, StateAwarding)
	for round := 1; round <= m.cfg.VerifyRounds; round++ {
		res, idx := m.place(j, excluded, measured)
		if !res.Feasible && j.rebids < maxRebids && m.othersHold(j) {
			// A fresh round of bids: what was held, declined or measured
			// belongs to the old one.
			m.releaseAll(ctx, j, held, "asking again")
			clear(held)
			if m.rebid(ctx, j) {
				clear(excluded)
				clear(measured)
				round = 0
				continue
			}
		}
		if !res.Feasible {
			m.recordRejections(j, res, idx, excluded)
			m.releaseAll(ctx, j, held, "no cluster")
			m.finish(j, StateFailed, m.explainFailure(j, res, excluded))
			return
		}
		// Ranks in the order placement chose, cheapest first; a winner that
		// already accepted keeps the ranks it accepted (its reservation is
		// for those), so the others fill the ranks left.
		var cluster []*member
		peers := make([]string, j.req.Workers)
		used := map[int]bool{}
		for _, a := range res.Chosen {
			if mb := held[idx[a.Index]]; mb != nil && len(mb.ranks) == a.Workers {
				for _, r := range mb.ranks {
					used[r] = true
				}
			}
		}
		next := 0
		for _, a := range res.Chosen {
			i := idx[a.Index]
			mb := held[i]
			if mb != nil && len(mb.ranks) != a.Workers {
				// Its accepted award is for another number of workers.
				m.releaseOne(ctx, j, mb, "chosen again for another number of workers")
				delete(held, i)
				mb = nil
			}
			if mb == nil {
				mb = newMember(j, i)
				for range a.Workers {
					for used[next] {
						next++
					}
					mb.ranks = append(mb.ranks, next)
					used[next] = true
				}
			}
			for _, r := range mb.ranks {
				peers[r] = mb.peer.String()
			}
			cluster = append(cluster, mb)
		}
		m.mu.Lock()
		j.event("proposed", "", "round %d: %s", round, res.Explain())
		m.mu.Unlock()
		// Release what the new choice dropped.
		for i, mb := range held {
			if !slices.Contains(cluster, mb) {
				m.releaseOne(ctx, j, mb, "another cluster was chosen")
				delete(held, i)
			}
		}
		// A provider claiming a class it cannot prove is dropped before it
		// is awarded; that costs no round, and ends: each failure excludes
		// one more bid.
		if m.verifyMembers(ctx, j, cluster, held, excluded) > 0 && ctx.Err() == nil {
			round--
			continue
		}
		m.awardRound(ctx, j, cluster, peers, held, excluded, measured)
		if ctx.Err() != nil {
			m.releaseAll(context.Background(), j, held, "the requester stopped")
			m.finish(j, StateFailed, "the node stopped")
			return
		}
		if over := m.check(j, cluster, measured); len(cluster) == len(held) && len(over) == 0 {
			m.formed(ctx, j, cluster, measured, res)
			if j.view.Spec.runnable() {
				m.execute(ctx, j, cluster)
				return
			}
			m.finish(j, StateFormed, "")
			return
		} else if len(over) > 0 {
			m.mu.Lock()
			j.event("rtt_over", "", "measured RTTs over the %s bound: %s; choosing again with what was measured", bound(j.req.MaxRTT), strings.Join(over, ", "))
			m.mu.Unlock()
		}
	}
	m.releaseAll(ctx, j, held, "no confirmed cluster")
	m.finish(j, StateFailed, fmt.Sprintf("no cluster confirmed in %s of award and ping (market.verify_rounds): %s", plural(m.cfg.VerifyRounds, "round"), exclusionSummary(excluded)))
}

// awardRound awards every member of cluster not yet holding an accepted
// award, in parallel, and records the answers.
func (m *Market) awardRound(ctx context.Context, j *job, cluster []*member, peers []string, held map[int]*member, excluded map[int]string, measured map[[2]int]time.Duration) {
	addrs := map[string][]string{}
	if j.req.MaxRTT > 0 {
		for _, mb := range cluster {
			addrs[mb.peer.String()] = j.bids[mb.bid].Addrs
		}
	}
	type answer struct {
		mb  *member
		msg gossip.Message
		err error
	}
	answers := make(chan answer, len(cluster))
	n := 0
	for _, mb := range cluster {
		if mb.accepted {
			continue
		}
		b := j.bids[mb.bid]
		m.mu.Lock()
		taken := b.Workers-m.busyElsewhere(j)[mb.peer] < len(mb.ranks)
		if !taken {
			m.hold(j, mb.peer, len(mb.ranks)) // at once: our other jobs see it
		}
		m.mu.Unlock()
		if taken {
			// Another of our jobs awarded it since placement: not its fault.
			excluded[mb.bid] = "taken by another of your jobs"
			continue
		}
		n++
		a := &gossip.Award{Job: j.req.ID, Provider: mb.peer.String(), Seq: m.nextSeq(), Sent: time.Now(),
			AcceptBy: time.Now().Add(time.Duration(m.cfg.AwardTimeout)), Price: b.Price,
			Ranks: mb.ranks, WorldSize: len(peers), Peers: peers, Addrs: without(addrs, mb.peer.String())}
		mb.awardSeq = a.Seq
		m.mu.Lock()
		j.event("award", mb.peer, "award to %s: ranks %v at $%.4f per device-hour", short(mb.peer), a.Ranks, a.Price)
		m.mu.Unlock()
		go func() {
			actx, cancel := context.WithDeadline(ctx, a.AcceptBy)
			defer cancel()
			msg, err := m.exchange(actx, mb.peer, b.Addrs, a)
			answers <- answer{mb, msg, err}
		}()
	}
	for range n {
		r := <-answers
		mb := r.mb
		m.mu.Lock()
		switch msg := r.msg.(type) {
		case *gossip.Accept:
			mb.accepted = true
			held[mb.bid] = mb
			var rtts []string
			for _, x := range msg.RTTs {
				other, err := peer.Decode(x.Peer)
				k := slices.Index(j.from, other)
				if err != nil || k < 0 {
					continue
				}
				d := x.RTT
				if x.Err != "" {
					d = unreachable
					rtts = append(rtts, fmt.Sprintf("%s unreachable", short(other)))
				} else {
					rtts = append(rtts, fmt.Sprintf("%s %s", short(other), ms(d)))
				}
				key := pair(mb.bid, k)
				if prev, ok := measured[key]; !ok || d < prev {
					measured[key] = d
				}
			}
			m.d.Book.Record(mb.peer, reputation.AwardAccepted, j.req.ID)
			j.event("accepted", mb.peer, "%s accepted, reserved until %s%s", short(mb.peer), msg.ReservedUntil.Format(time.TimeOnly), prefixed("; pings: ", strings.Join(rtts, ", ")))
		case *gossip.Decline:
			m.hold(j, mb.peer, -len(mb.ranks))
			excluded[mb.bid] = "declined: " + msg.Reason
			m.d.Book.Record(mb.peer, reputation.AwardDeclined, msg.Reason)
			j.event("declined", mb.peer, "%s declined: %s; taking the next bid", short(mb.peer), msg.Reason)
		default:
			m.hold(j, mb.peer, -len(mb.ranks))
			excluded[mb.bid] = "no answer"
			m.d.Book.Record(mb.peer, reputation.AwardTimeout, fmt.Sprint(r.err))
			j.event("timeout", mb.peer, "%s did not accept in time (%v); taking the next bid", short(mb.peer), r.err)
		}
		m.mu.Unlock()
	}
}

// exchange sends an award and reads the signed accept or decline.
func (m *Market) exchange(ctx context.Context, p peer.ID, addrs []string, a *gossip.Award) (gossip.Message, error) {
	data, err := m.send(ctx, p, addrs, AwardProtocol, a, maxAnswerBytes)
	if err != nil {
		return nil, err
	}
	msg, signer, err := gossip.Decode(data, []gossip.Type{gossip.AcceptType, gossip.DeclineType}, time.Now(), maxAnswerBytes, time.Minute)
	if err != nil {
		m.d.Book.Record(p, reputation.Violation, "answer to an award: "+err.Error())
		return nil, err
	}
	if signer != p {
		m.d.Book.Record(p, reputation.Violation, "answer to an award signed by someone else")
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
func (m *Market) check(j *job, cluster []*member, measured map[[2]int]time.Duration) []string {
	if j.req.MaxRTT <= 0 {
		return nil
	}
	var over []string
	for x, a := range cluster {
		for _, b := range cluster[x+1:] {
			if d, ok := measured[pair(a.bid, b.bid)]; ok && d > j.req.MaxRTT {
				over = append(over, fmt.Sprintf("%s-%s %s", short(a.peer), short(b.peer), ms(d)))
			}
		}
	}
	return over
}

// formed records the cluster, with the requester's own pings to it.
func (m *Market) formed(ctx context.Context, j *job, cluster []*member, measured map[[2]int]time.Duration, res placement.Result) {
	now := time.Now()
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	rtts := make([]time.Duration, len(cluster))
	done := make(chan struct{}, len(cluster))
	for i, mb := range cluster {
		go func() {
			defer func() { done <- struct{}{} }()
			select {
			case r := <-ping.Ping(pctx, m.d.Host, mb.peer):
				if r.Error == nil {
					rtts[i] = r.RTT
				}
			case <-pctx.Done():
			}
		}()
	}
	for range cluster {
		<-done
	}
	cancel()
	per := devicesPerWorker(j.req)
	m.mu.Lock()
	var maxPair time.Duration
	cost := Cost{}
	for x, mb := range cluster {
		b := j.bids[mb.bid]
		for _, o := range cluster[x+1:] {
			if d, ok := measured[pair(mb.bid, o.bid)]; ok {
				maxPair = max(maxPair, d)
			}
		}
		price, _ := pricing.FromFloat(b.Price)
		q, err := pricing.NewQuote(price, len(mb.ranks)*per, time.Duration(j.view.Spec.Duration))
		if err == nil {
			cost.add(q)
		}
		j.view.Cluster = append(j.view.Cluster, Member{Peer: mb.peer.String(), Ranks: mb.ranks, Class: b.Class,
			Price: b.Price, RTTFromYouMS: msf(rtts[x]), Devices: len(mb.ranks) * per})
	}
	j.view.MaxPairRTTMS = msf(maxPair)
	j.view.Cost = &cost
	j.view.Placement = res.Explain()
	j.view.FormedAt = &now
	pairs := "pairwise RTTs not measured (no RTT bound)"
	if j.req.MaxRTT > 0 {
		pairs = fmt.Sprintf("measured max pairwise RTT %s (%s)", ms(maxPair), bound(j.req.MaxRTT))
	}
	j.event("formed", "", "cluster formed in %s: %s on %s, %s; %s per hour, %s for %s with fees",
		ms(now.Sub(j.view.Created)), plural(j.req.Workers, "worker"), plural(len(cluster), "provider"), pairs,
		cost.PerHour, cost.RequesterPays, time.Duration(j.view.Spec.Duration))
	m.mu.Unlock()
}

// releaseAll releases every held award.
func (m *Market) releaseAll(ctx context.Context, j *job, held map[int]*member, reason string) {
	for _, mb := range held {
		m.releaseOne(ctx, j, mb, reason)
	}
}

// releaseOne tells a provider its accepted award no longer stands.
func (m *Market) releaseOne(ctx context.Context, j *job, mb *member, reason string) {
	rel := &gossip.Release{Job: mb.req, Provider: mb.peer.String(), Seq: m.nextSeq(), Sent: time.Now(), Reason: reason}
	rctx, cancel := context.WithTimeout(ctx, time.Duration(m.cfg.AwardTimeout))
	defer cancel()
	_, err := m.send(rctx, mb.peer, mb.addrs, AwardProtocol, rel, maxAckBytes)
	m.mu.Lock()
	m.hold(j, mb.peer, -len(mb.ranks))
	if err != nil {
		j.event("release", mb.peer, "release of %s failed (%v); its reservation lapses by itself", short(mb.peer), err)
	} else {
		j.event("release", mb.peer, "released %s: %s", short(mb.peer), reason)
	}
	m.mu.Unlock()
}

// handleBid takes a provider's bid for one of this node's open jobs.
func (m *Market) handleBid(s network.Stream) {
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	remote := s.Conn().RemotePeer()
	msg, err := m.receive(s, maxBidBytes, gossip.BidType)
	if err != nil {
		if errors.Is(err, gossip.ErrExpired) {
			m.stats.refused("expired")
		} else {
			m.violation(remote, "bid", err)
		}
		reply(s, false, err.Error())
		return
	}
	b := msg.(*gossip.Bid)
	ok, reason := m.takeBid(remote, b)
	if !ok {
		m.stats.refused(reason)
	}
	reply(s, ok, reason)
}

// takeBid files b from p under its job, or says why not.
func (m *Market) takeBid(p peer.ID, b *gossip.Bid) (bool, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j := m.jobs[b.Job]
	switch {
	case j == nil:
		return false, "unknown_job"
	case j.closed || !time.Now().Before(j.req.BidDeadline):
		return false, "bidding_closed"
	case len(j.bids) >= maxBidsPerJob:
		return false, "too_many_bids"
	}
	if k := slices.Index(j.from, p); k >= 0 {
		if b.Seq <= j.bids[k].Seq {
			m.d.Book.Record(p, reputation.Violation, "replayed bid")
			return false, "replayed"
		}
		j.bids[k], j.at[k] = b, time.Now() // a newer bid replaces the old one
	} else {
		j.bids = append(j.bids, b)
		j.from = append(j.from, p)
		j.at = append(j.at, time.Now())
	}
	est := ""
	if b.Coord != nil && j.req.Coord != nil {
		est = ", ~" + ms(coord.EstimateRTT(*b.Coord, *j.req.Coord)) + " from you"
	}
	j.event("bid", p, "bid from %s: $%.4f per device-hour, %s, %s%s", short(p), b.Price, plural(b.Workers, "worker"), b.Class, est)
	select {
	case j.newBid <- struct{}{}:
	default:
	}
	return true, ""
}

// recordRejections keeps placement's reasons on the job's bid list.
func (m *Market) recordRejections(j *job, res placement.Result, idx []int, excluded map[int]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j.view.Rejected = map[string]int{}
	for _, r := range res.Rejected {
		j.view.Rejected[string(r.Reason)]++
	}
	for _, why := range excluded {
		j.view.Rejected[strings.SplitN(why, ":", 2)[0]]++
	}
}

// explainFailure says why no cluster could be formed, in numbers: what
// placement made of the bids, and what the providers invited directly
// said about the request.
func (m *Market) explainFailure(j *job, res placement.Result, excluded map[int]string) string {
	<-j.invited // bounded by the bid deadline
	m.mu.Lock()
	n := len(j.bids)
	v := j.view
	m.mu.Unlock()
	var out string
	if n == 0 {
		out = "no provider bid before the deadline"
	} else {
		out = fmt.Sprintf("%s received; %s", plural(n, "bid"), res.Explain())
	}
	if len(excluded) > 0 {
		out += "; " + exclusionSummary(excluded)
	}
	switch {
	case v.InviteReasons == nil && v.Invited == 0 && v.Found == 0 && !m.invites():
	case v.Found == 0:
		out += "; the capability keys list no provider that matches the request (" + describe(j.req.PerWorker) + ", executor " + j.req.Executor + ")"
	case v.Invited > 0:
		out += fmt.Sprintf("; of %s invited directly, %d would not bid%s", plural(v.Invited, "provider"), total(v.InviteRefusals), detailList(v.InviteRefusals, v.InviteReasons))
	}
	return out
}

// finish puts the job in a final state.
func (m *Market) finish(j *job, state, why string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-j.done:
		return
	default:
	}
	j.closed = true
	j.holding = nil // the work is over: every award ended with it
	close(m.freed)  // our jobs waiting for providers look again
	m.freed = make(chan struct{})
	j.view.State = state
	if state == StateFailed {
		j.view.Error = why
		j.event("failed", "", "%s", why)
	}
	j.log.close() // lines after the end are dropped; its readers see the end
	close(j.done)
	// Watchers that read the last event before the job was final wait on
	// changed: tell them it is.
	close(j.changed)
	j.changed = make(chan struct{})
}

// setState moves the job to state.
func (m *Market) setState(j *job, state string) {
	m.mu.Lock()
	j.view.State = state
	m.mu.Unlock()
}

func pair(a, b int) [2]int { return [2]int{min(a, b), max(a, b)} }

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

func addrStrings(p peer.AddrInfo) []string {
	out := make([]string, 0, len(p.Addrs))
	for _, a := range p.Addrs {
		out = append(out, a.String())
	}
	return out
}

func exclusionSummary(excluded map[int]string) string {
	counts := map[string]int{}
	for _, why := range excluded {
		counts[strings.SplitN(why, ":", 2)[0]]++
	}
	return fmt.Sprintf("%d winners replaced%s", len(excluded), reasonList(counts))
}

// detailList is ": 2 free (detail), 1 price (detail)", by reason, with
// one example of each reason when details has one.
func detailList(counts map[string]int, details map[string]string) string {
	if len(counts) == 0 {
		return ""
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", counts[k], k)
		if d := details[k]; d != "" {
			parts[i] += " (" + d + ")"
		}
	}
	return ": " + strings.Join(parts, ", ")
}

// reasonList is " (2 free, 1 price)", by reason.
func reasonList(counts map[string]int) string {
	if len(counts) == 0 {
		return ""
	}
	return " (" + strings.TrimPrefix(detailList(counts, nil), ": ") + ")"
}

func total(counts map[string]int) int {
	n := 0
	for _, v := range counts {
		n += v
	}
	return n
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func bound(d time.Duration) string {
	if d <= 0 {
		return "no RTT bound"
	}
	return "RTT bound " + ms(d)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", msf(d)) }

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}
