package market

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/scheduler/run"
)

// beginRun is Market.BeginRun.
func (p *provider) beginRun(job string, requester peer.ID, ranks []int) (run.Grant, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.checkRun(job, requester, ranks); err != nil {
		return run.Grant{}, err
	}
	r := p.reserved[job]
	r.running = true
	hold := time.Hour
	if o := p.open[job]; o != nil {
		hold = o.req.Duration
	}
	r.until = time.Now().Add(hold + time.Minute)
	if k := p.d.Knobs.RunBegan; k != nil {
		p.goBackground(func(ctx context.Context) { k(ctx, job, requester) })
	}
	return r.grant(ranks), nil
}

// checkRunNow is Market.CheckRun.
func (p *provider) checkRunNow(job string, requester peer.ID, ranks []int) (run.Grant, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.checkRun(job, requester, ranks); err != nil {
		return run.Grant{}, err
	}
	return p.reserved[job].grant(ranks), nil
}

// holdsAward is Market.HoldsAward.
func (p *provider) holdsAward(requester peer.ID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.reserved {
		if r.requester == requester && r.ended == "" && !r.running {
			return true
		}
	}
	return false
}

// checkRun is CheckRun with p.mu held.
func (p *provider) checkRun(job string, requester peer.ID, ranks []int) error {
	r := p.reserved[job]
	switch {
	case r == nil:
		return fmt.Errorf("no award of job %s accepted here", job)
	case r.requester != requester:
		return fmt.Errorf("job %s was awarded by another peer", job)
	case r.ended != "":
		return fmt.Errorf("the reservation of job %s ended: %s", job, r.ended)
	case r.running:
		return fmt.Errorf("job %s is already running", job)
	}
	for i, k := range ranks {
		if !slices.Contains(r.ranks, k) {
			return fmt.Errorf("rank %d of job %s was not awarded here (ranks %v)", k, job, r.ranks)
		}
		if slices.Contains(ranks[:i], k) {
			return fmt.Errorf("rank %d of job %s asked twice", k, job)
		}
	}
	return nil
}

// endRun is Market.EndRun.
func (p *provider) endRun(job string, requester peer.ID, end run.RunEnd) {
	p.mu.Lock()
	r := p.reserved[job]
	ended := r != nil && r.requester == requester && r.ended == ""
	if ended {
		r.running = false
		r.ended = "ran: " + end.Reason
		r.served = &end
		p.stats.add(func(s *Stats) { s.Released++ })
		if p.ended != nil { // receipt requests waiting for a run's end
			close(p.ended)
			p.ended = nil
		}
	}
	p.mu.Unlock()
	if ended {
		p.d.Changed()
	}
}
