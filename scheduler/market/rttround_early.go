package market

import (
	"context"
	"maps"
	"time"

	"github.com/gpumesh/gpumesh/scheduler/placement"
)

// With market.rtt_round_bound set, the measured round's first round
// starts while bidding is still open (issue 22, B3): once a cluster first fits, bidding waits a grace period
// for better bids (collect.go), and most of a round's time is QUIC
// handshakes between candidates not yet connected to each other, so the
// round runs behind that wait. Its candidates are those bids in when it
// starts; a bid that comes later is measured only when the second round
// (placement.Nearer) offers it, and otherwise keeps its estimate, checked
// by the winners' pings, as a candidate that does not answer in time.

// earlyRound is a first measured round started before bidding closed.
type earlyRound struct {
	done  chan struct{} // closed when the round ended
	start time.Time
	cands []int // bid indices, as in the job's bids
	// st, own and view are written by the round's goroutine only, until
	// done closes.
	st   *rounds
	own  map[int]time.Duration
	view RoundView
}

// startEarly starts the first measured round in the background, on the
// bids in now, unless one is started already, this driver does not run
// them early (a failover request's), the job has no round, or rounds are
// not cut at a fraction of the bound (market.rtt_round_bound 0): without
// that deadline, the bids that come later make a second round of a whole
// round's length in most jobs (B3: 155 / 291 / 408 ms p50 at k = 2 / 4 / 8
// against 144 / 208 / 376 without the early start).
func (d *driver) startEarly(ctx context.Context) {
	req := d.j.request()
	if !d.early || d.pending != nil || d.cfg.RTTRoundBound <= 0 || req.MaxRTT <= 0 || d.cfg.RTTRoundCandidates < 2 || req.Workers < 2 {
		return
	}
	cands := d.roundCandidates(nil, placement.RoundSize(req.Workers, d.cfg.RTTRoundCandidates))
	if len(cands) < 2 {
		return
	}
	e := &earlyRound{done: make(chan struct{}), start: time.Now(), cands: cands, st: newRounds(), own: map[int]time.Duration{}}
	started := d.goBackground(func(context.Context) {
		defer close(e.done)
		d.measure(ctx, e.st, e.own, cands, 0, &e.view)
	})
	if started {
		d.pending = e
	}
}

// joinEarly waits for the round startEarly started, if any, and puts what
// it measured in st and d.ownRTT; it returns the round's candidates, view
// and start (nil when none ran). Bidding closed since, so the job's bids
// have only grown and the round's indices still name them.
func (d *driver) joinEarly(ctx context.Context, st *rounds) ([]int, *RoundView, time.Time) {
	e := d.pending
	if e == nil {
		return nil, nil, time.Time{}
	}
	d.pending = nil
	select {
	case <-e.done:
	case <-ctx.Done():
		return nil, nil, time.Time{}
	}
	for key, rtt := range e.st.measured {
		st.measured[key] = max(st.measured[key], rtt)
	}
	maps.Copy(st.verified, e.st.verified)
	if d.ownRTT == nil {
		d.ownRTT = map[int]time.Duration{}
	}
	maps.Copy(d.ownRTT, e.own)
	e.view.Early = true
	return e.cands, &e.view, e.start
}
