package market

import (
	"context"
	"fmt"
	"time"

	"github.com/gpumesh/gpumesh/internal/human"
)

// minGrace is the least time bidding stays open once a cluster fits.
const minGrace = 50 * time.Millisecond

// collect gathers bids until the deadline, or until enough eligible bids
// with a feasible cluster among them arrived. It reports whether the job
// goes on.
func (d *driver) collect(ctx context.Context) bool {
	j := d.j
	req := j.request()
	deadline := time.NewTimer(time.Until(req.BidDeadline))
	defer deadline.Stop()
	var grace <-chan time.Time  // runs once a cluster fits
	var invited <-chan struct{} // set while grace waits for invitations
	enough := d.cfg.EnoughBidsPerWorker * req.Workers
	closeNow := func(why string) bool {
		j.mu.Lock()
		j.closed = true
		j.event("closed", "", "bidding closed %s with %s%s", why, human.Plural(len(j.received), "bid"), prefixed("; ", j.refusalSummary()))
		j.mu.Unlock()
		return true
	}
	for {
		select {
		case <-ctx.Done():
			d.finish(j, StateFailed, errStopped)
			return false
		case <-deadline.C:
			return closeNow("at the deadline")
		case <-grace:
			select {
			case <-j.invited:
			default:
				// Providers invited directly may still answer, and those
				// that will bid bid right after: a cheaper one may be
				// among them. Wait for the invitations (bounded by the
				// deadline), then a little for their bids.
				grace, invited = nil, j.invited
				continue
			}
			return closeNow("early, a cluster fitting and no better bid coming in time,")
		case <-invited:
			invited, grace = nil, time.After(minGrace)
		case <-j.newBid:
			if res, _ := d.place(nil, nil); !res.Feasible {
				continue
			}
			if j.bidCount() >= enough {
				return closeNow(fmt.Sprintf("early, a cluster fitting and %d bids per worker in,", d.cfg.EnoughBidsPerWorker))
			}
			if grace == nil {
				// Wait as long again as it took for a cluster to fit: bids
				// from up to about twice as far still count.
				wait := max(time.Since(j.view.Created), minGrace)
				grace = time.After(wait)
				d.startEarly(ctx)
			}
		}
	}
}
