package market

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/internal/human"
	"github.com/gpumesh/gpumesh/p2p/coord"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// maxJobs is how many jobs a node remembers as requester.
const maxJobs = 1000

// maxBidsPerJob bounds the bids one job keeps: a Sybil flood of bidders
// cannot grow a job without bound.
const maxBidsPerJob = 4096

// ErrTooManyJobs is returned by Submit when the node remembers as many
// jobs as it may (maxJobs) and none of them has finished: a job is
// forgotten only once it finished, never while it holds providers.
var ErrTooManyJobs = errors.New("too many unfinished jobs")

// requester is the market's requester side: the jobs this node asked
// for, each run by its own driver (driver.go). Its lock, mu, guards only
// what the jobs share: the job index, each job's holdings of providers
// (so that concurrent jobs do not award one provider's device twice) and
// freed. Each job's own state is under the job's lock; class-check
// verdicts are under checks' own lock. No lock is held across file or
// network I/O, and mu is never taken while a job's lock is held.
type requester struct {
	*core

	mu     sync.Mutex
	jobs   map[string]*job // by request ID: the jobs and their failover requests
	order  []string        // job IDs, oldest first (failover requests are not listed)
	jobCap int             // jobs remembered at most (maxJobs)
	freed  chan struct{}   // closed and replaced each time a job of ours ends

	checks classChecks // proof-of-compute verdicts, under their own lock
}

// newRequester is the requester side of a market whose shared part is c.
func newRequester(c *core) *requester {
	r := &requester{core: c, jobs: map[string]*job{}, freed: make(chan struct{}), jobCap: maxJobs}
	if c.d.ResultsDir != "" {
		r.clearLogs()
	}
	return r
}

// lookup is the job or failover request with id, nil if unknown.
func (r *requester) lookup(id string) *job {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.jobs[id]
}

// add indexes j as a listed job, forgetting the oldest finished job when
// the index is full; it returns the forgotten job, whose log file the
// caller removes (no lock is held for that), or ErrTooManyJobs.
func (r *requester) add(j *job) (*job, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var forgotten *job
	if len(r.order) >= r.jobCap {
		if forgotten = r.forgetFinished(); forgotten == nil {
			return nil, fmt.Errorf("%w: %d jobs, none of them finished", ErrTooManyJobs, len(r.order))
		}
	}
	r.jobs[j.view.ID] = j
	r.order = append(r.order, j.view.ID)
	return forgotten, nil
}

// forgetFinished forgets the oldest finished job and returns it, or nil
// if none has finished; r.mu must be held.
func (r *requester) forgetFinished() *job {
	for i, id := range r.order {
		j := r.jobs[id]
		if j != nil && !j.isDone() {
			continue
		}
		r.order = slices.Delete(r.order, i, i+1)
		delete(r.jobs, id)
		if j == nil {
			j = &job{}
		}
		return j
	}
	return nil
}

// hold counts n more workers of j on provider p (n < 0 gives them back).
// A requester's concurrent jobs see each other's holdings, so they do not
// award one provider's single device twice.
func (r *requester) hold(j *job, p peer.ID, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.holdLocked(j, p, n)
}

// holdLocked is hold with r.mu held.
func (r *requester) holdLocked(j *job, p peer.ID, n int) {
	if j.holding == nil {
		j.holding = map[peer.ID]int{}
	}
	if j.holding[p] += n; j.holding[p] <= 0 {
		delete(j.holding, p)
	}
}

// holdIfFree holds n workers of j on p unless this node's other jobs
// hold so many of p's workers that fewer than n of its offered are left;
// it reports whether it held them.
func (r *requester) holdIfFree(j *job, p peer.ID, offered, n int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if offered-r.busyElsewhere(j)[p] < n {
		return false
	}
	r.holdLocked(j, p, n)
	return true
}

// busyElsewhere is how many workers of each provider this node's other
// unfinished jobs hold; r.mu must be held.
func (r *requester) busyElsewhere(j *job) map[peer.ID]int {
	busy := map[peer.ID]int{}
	for _, o := range r.jobs {
		if o == j || o.holding == nil || o.isDone() {
			continue
		}
		for p, n := range o.holding {
			busy[p] += n
		}
	}
	return busy
}

// busy is busyElsewhere under r.mu.
func (r *requester) busy(j *job) map[peer.ID]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.busyElsewhere(j)
}

// othersHold reports whether this node's other unfinished jobs hold
// workers on any provider: they may be what j's bidders, or the providers
// that did not bid, are busy with.
func (r *requester) othersHold(j *job) bool {
	return len(r.busy(j)) > 0
}

// freedChan is closed the next time one of this node's jobs ends.
func (r *requester) freedChan() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.freed
}

// Submit publishes a request for spec and forms its cluster in the
// background; the returned view is the job as published. Watch or Wait
// follow it.
func (r *requester) Submit(ctx context.Context, spec Spec) (JobView, error) {
	spec, err := spec.Normalize(r.cfg)
	if err != nil {
		return JobView{}, err
	}
	now := time.Now()
	req, widened, err := r.newRequest(spec, now)
	if err != nil {
		return JobView{}, fmt.Errorf("%w: %w", ErrBadSpec, err)
	}
	if err := r.checkStakeable(spec); err != nil {
		return JobView{}, err
	}
	if err := r.coverJob(ctx, req); err != nil {
		return JobView{}, err
	}
	j := newJob(req, spec, "requester", now)
	j.note("request", "", "asked for %s of %s, %s, up to $%.2f per device-hour; bids close by %s%s",
		human.Plural(spec.Workers, "worker"), describe(req.PerWorker), bound(req.MaxRTT), req.MaxPrice, req.BidDeadline.Format("15:04:05.000"), paren(widened))
	v := j.viewNow()
	forgotten, err := r.add(j)
	if err != nil {
		return JobView{}, err
	}
	if forgotten != nil {
		forgotten.log.remove() // its file, outside every lock
	}
	d := &driver{requester: r, j: j}
	if err := d.publish(ctx, req); err != nil {
		r.finish(j, StateFailed, fmt.Errorf("%w: %w", errNotPublished, err))
		return j.viewNow(), err
	}
	jctx, cancel := r.life.Context(context.Background())
	j.mu.Lock()
	j.cancel = cancel
	j.mu.Unlock()
	if !r.goBackground(func(context.Context) {
		defer cancel()
		d.run(jctx)
	}) {
		cancel()
		r.finish(j, StateFailed, errMarketClosed)
		return j.viewNow(), ErrClosed
	}
	return v, nil
}

// Cancel stops a job this node requested: bidding ends, held awards are
// released, running work is cancelled on every provider.
func (r *requester) Cancel(id string) error {
	j := r.lookup(id)
	if j == nil {
		return ErrUnknownJob
	}
	j.mu.Lock()
	cancel := j.cancel
	j.closed = true
	j.mu.Unlock()
	r.finish(j, StateFailed, errCancelled)
	if cancel != nil {
		cancel() // awards held are released, running work is cancelled
	}
	return nil
}

// finish puts the job in a final state; why says why a failed job failed.
func (r *requester) finish(j *job, state string, why error) {
	j.mu.Lock()
	if j.isDone() {
		j.mu.Unlock()
		return
	}
	j.closed = true
	j.view.State = state
	if state == StateFailed {
		j.view.Error = failureText(why)
		j.event("failed", "", "%s", j.view.Error)
	}
	g := j.log
	close(j.done)
	// Watchers that read the last event before the job was final wait on
	// changed: tell them it is.
	close(j.changed)
	j.changed = make(chan struct{})
	j.mu.Unlock()
	g.close() // lines after the end are dropped; its readers see the end

	r.mu.Lock()
	j.holding = nil // the work is over: every award ended with it
	close(r.freed)  // our jobs waiting for providers look again
	r.freed = make(chan struct{})
	r.mu.Unlock()
}

// handleBid takes a provider's bid for one of this node's open jobs.
func (r *requester) handleBid(s network.Stream) {
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	remote := s.Conn().RemotePeer()
	msg, err := r.receive(s, maxBidBytes, gossip.BidType)
	if err != nil {
		if errors.Is(err, gossip.ErrExpired) {
			r.stats.refused("expired")
		} else {
			r.violation(remote, "bid", err)
		}
		reply(s, false, err.Error())
		return
	}
	b := msg.(*gossip.Bid)
	ok, reason := r.takeBid(remote, b)
	if !ok {
		r.stats.refused(reason)
	}
	reply(s, ok, reason)
}

// takeBid files b from p under its job, or says why not.
func (r *requester) takeBid(p peer.ID, b *gossip.Bid) (bool, string) {
	j := r.lookup(b.Job)
	if j == nil {
		return false, "unknown_job"
	}
	if !j.open() {
		return false, "bidding_closed"
	}
	if reason := r.screenStake(j, p, b); reason != "" {
		return false, reason
	}
	wallet, _ := bidWallet(p, b) // a bad proof names no wallet: its vouchers go where the receipts say
	ok, reason := j.file(p, b, wallet)
	if reason == "replayed" {
		r.d.Book.Record(p, reputation.Violation, "replayed bid")
	}
	return ok, reason
}

// open reports whether j still takes bids.
func (j *job) open() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return !j.closed && time.Now().Before(j.req.BidDeadline)
}

// file keeps b from p, replacing p's older bid, or says why not.
func (j *job) file(p peer.ID, b *gossip.Bid, wallet common.Address) (bool, string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case j.closed || !time.Now().Before(j.req.BidDeadline):
		return false, "bidding_closed"
	case len(j.received) >= maxBidsPerJob:
		return false, "too_many_bids"
	}
	if k := j.bidder(p); k >= 0 {
		if b.Seq <= j.received[k].bid.Seq {
			return false, "replayed"
		}
		j.received[k] = received{bid: b, from: p, at: time.Now(), wallet: wallet} // a newer bid replaces the old one
	} else {
		j.received = append(j.received, received{bid: b, from: p, at: time.Now(), wallet: wallet})
	}
	est := ""
	if b.Coord != nil && j.req.Coord != nil {
		est = ", ~" + human.Millis(coord.EstimateRTT(*b.Coord, *j.req.Coord)) + " from you"
	}
	j.event("bid", p, "bid from %s: $%.4f per device-hour, %s, %s%s", short(p), b.Price, human.Plural(b.Workers, "worker"), b.Class, est)
	select {
	case j.newBid <- struct{}{}:
	default:
	}
	return true, ""
}
