package market

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/scheduler/run"
)

// beginRun is Market.BeginRun.
func (p *provider) beginRun(job string, requester peer.ID, ranks []int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.checkRun(job, requester, ranks); err != nil {
		return err
	}
	r := p.reserved[job]
	r.running = true
	hold := time.Hour
	if o := p.open[job]; o != nil {
		hold = o.req.Duration
	}
	r.until = time.Now().Add(hold + time.Minute)
	if f := p.fault(); f.DisconnectAfter > 0 {
		p.goBackground(func(ctx context.Context) { p.disconnect(ctx, requester, f.DisconnectAfter, f.DisconnectFor) })
	}
	return nil
}

// checkRunNow is Market.CheckRun.
func (p *provider) checkRunNow(job string, requester peer.ID, ranks []int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.checkRun(job, requester, ranks)
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
	for _, k := range ranks {
		if !slices.Contains(r.ranks, k) {
			return fmt.Errorf("rank %d of job %s was not awarded here (ranks %v)", k, job, r.ranks)
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

// SetFaults makes this node misbehave on purpose from now on: tests of the
// market's defences use it. Users never do.
func (m *Market) SetFaults(f Faults) { m.prov.faults.Store(&f) }

// fault returns the faults set, the zero value if none.
func (p *provider) fault() Faults {
	if f := p.faults.Load(); f != nil {
		return *f
	}
	return Faults{}
}

// RunFaults is the run server's view of this node's Faults
// (run.Faulty): how the run of job for requester misbehaves.
func (m *Market) RunFaults(job string, requester peer.ID) run.Faults {
	f := m.prov.fault()
	return run.Faults{NeverAnswer: f.NeverAnswer, NeverRun: f.NeverRun, AlterOutputs: f.WrongOutputs, MalformedOutputs: f.MalformedOutputs,
		MisstatedOutputs: f.MisstatedOutputs}
}

var _ run.Faulty = (*Market)(nil)

// defaultDisconnectFor is how long Faults.DisconnectAfter refuses the
// requester when Faults.DisconnectFor is zero.
const defaultDisconnectFor = 3 * time.Second

// disconnect is Faults.DisconnectAfter: after wait it closes every
// connection to p and, for blackout, closes each new one as it opens.
func (p *provider) disconnect(ctx context.Context, requester peer.ID, wait, blackout time.Duration) {
	if blackout <= 0 {
		blackout = defaultDisconnectFor
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return
	}
	net := p.d.Host.Network()
	until := time.Now().Add(blackout)
	refuse := &network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if c.RemotePeer() == requester && time.Now().Before(until) {
			go c.Close() // not from the notification itself
		}
	}}
	net.Notify(refuse) // first, so no connection slips in between
	defer net.StopNotify(refuse)
	p.log.Warn("fault: disconnecting from the requester", "requester", short(requester), "for", blackout)
	_ = net.ClosePeer(requester)
	t.Reset(blackout)
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
