package market

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// job is one request this node made, and everything that happened to it.
// Its driver (driver.go) runs it; what the API and the bid handler read or
// write while it runs is guarded by mu, the job's own lock, which is never
// held while taking requester.mu, nor across file or network I/O.
type job struct {
	mu       sync.Mutex
	view     JobView
	req      *gossip.JobRequest // replaced when bidding reopens (rebid)
	received []received         // the bids, one per provider
	closed   bool               // bidding is over
	changed  chan struct{}      // closed and replaced at every event
	cancel   context.CancelFunc // ends everything the job does; nil until it runs
	log      *jobLog            // the work's log lines, on disk; nil until the work starts

	// stakes are the payout wallets' eligibility read for a staked job,
	// and refused its refused bids by label (stake.go).
	stakes  map[common.Address]bool
	refused map[string]map[peer.ID]bool

	// nets are each run's last job-network counters (netfailover.go).
	nets map[*member]run.NetCounters

	// Set once at creation, safe to read without mu.
	newBid  chan struct{} // a bid arrived (buffered, one pending)
	done    chan struct{} // closed when the job reaches a final state
	invited chan struct{} // closed once invitations, if any, have answered
	// unmeshed is set when a jobs topic had no subscriber at publish.
	unmeshed atomic.Bool
	settles  sync.WaitGroup

	// holding is the workers awarded to each provider and not yet given
	// back; guarded by requester.mu, since the requester's other jobs read
	// it (busyElsewhere).
	holding map[peer.ID]int
}

// received is one provider's bid on a job, and when it came.
type received struct {
	bid  *gossip.Bid
	from peer.ID
	at   time.Time
	// wallet is the payout wallet the bid named with a valid proof; its
	// receipts' vouchers pay no other.
	wallet common.Address
}

// newJob is a job for req, as published, not yet in the index.
func newJob(req *gossip.JobRequest, spec Spec, role string, now time.Time) *job {
	return &job{req: req, newBid: make(chan struct{}, 1), changed: make(chan struct{}), done: make(chan struct{}), invited: make(chan struct{}),
		view: JobView{ID: req.ID, Role: role, State: StateBidding, Spec: spec, Created: now, Updated: now}}
}

// event appends an event; j.mu must be held.
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

// note appends an event under j.mu.
func (j *job) note(kind string, p peer.ID, format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.event(kind, p, format, args...)
}

// setState moves the job to state.
func (j *job) setState(state string) {
	j.mu.Lock()
	j.view.State = state
	j.mu.Unlock()
}

// request is the job's request now.
func (j *job) request() *gossip.JobRequest {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.req
}

// bids is a copy of the bids received so far.
func (j *job) bids() []received {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.received)
}

// bidCount is how many bids were received.
func (j *job) bidCount() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.received)
}

// bidder is the index of p's bid, -1 if p did not bid; j.mu must be held.
func (j *job) bidder(p peer.ID) int {
	return slices.IndexFunc(j.received, func(r received) bool { return r.from == p })
}

// isDone reports whether the job reached a final state.
func (j *job) isDone() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

// viewNow is j's view now.
func (j *job) viewNow() JobView {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := j.view.clone()
	v.Bids = len(j.received)
	v.Logs = logCounts(j.log)
	return v
}

// logCounts is a job log's counts for its view, nil before its work started.
func logCounts(g *jobLog) *LogCounts {
	if g == nil {
		return nil
	}
	c := g.counts()
	return &c
}

// seed is placement's tie-breaking seed for the job, from its ID: the
// same job breaks ties the same way every round, different jobs
// differently, and no provider can pick its peer ID to win them.
func (j *job) seed() uint64 {
	sum := sha256.Sum256([]byte(j.request().ID))
	return binary.BigEndian.Uint64(sum[:8])
}
