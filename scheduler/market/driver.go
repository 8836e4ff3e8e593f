package market

import (
	"context"
	"time"
)

// driver runs one job of this node's, from its request to its receipts,
// and owns what only that run touches (the award rounds' state, the
// work's progress); what others read of the job is under the job's lock.
// A job's life, stage by stage (each in the file named for it):
//
//	request  request.go  build and sign the request, publish it, invite providers
//	collect  collect.go  bids until the deadline, or until enough with a cluster among them
//	measure  rttround.go the measured round: candidates ping each other, signed rows judged
//	place    place.go    placement's choice over the bids, with what was measured
//	award    award.go    awards, the winners' pings, class checks (verify.go), round by round
//	execute  execute.go  the work over /gpumesh/run/1, failover (failover.go), audits (audit.go)
//	settle   settle.go   receipts of every run, then the job's final state
type driver struct {
	*requester
	j *job
	// rebids counts the times bidding reopened because this node's other
	// jobs took the bidders.
	rebids int
	// ownRTT is this node's own RTT to a bid's provider (by bid index),
	// measured in the measured round: placement weighs it when the job
	// asks (Spec.RequesterRTTCost).
	ownRTT map[int]time.Duration
	// early lets collect start the first measured round while bidding is
	// open (rttround_early.go); pending is that round, until measureRound
	// joins it.
	early   bool
	pending *earlyRound
	// unweighed is set once the job was told its requester_rtt_cost could
	// not be applied.
	unweighed bool
}

// run takes a published job to its end: a formed cluster, the work done
// and settled, or a failure.
func (d *driver) run(ctx context.Context) {
	d.startInvites()
	d.early = true
	if !d.collect(ctx) {
		return
	}
	cluster, ok := d.awardAndVerify(ctx)
	if !ok {
		return
	}
	if !d.j.view.Spec.runnable() {
		d.finish(d.j, StateFormed, nil)
		return
	}
	w, ok := d.prepare(ctx, cluster)
	if !ok {
		return
	}
	defer w.close()
	failures := d.execute(ctx, w)
	d.settle(w, failures)
}
