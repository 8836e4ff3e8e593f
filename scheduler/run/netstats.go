package run

import (
	"errors"
	"fmt"
	"maps"
	"regexp"

	"github.com/gpumesh/gpumesh/p2p/overlay"
)

// NetCounters are a provider's counters of a job's network for its run
// (overlay.Stats): heartbeats and the end event of a run on a job network
// carry them, so the requester shows the job's traffic. In counts packets
// delivered to the provider's ranks, Out packets its ranks sent.
type NetCounters struct {
	BytesIn    uint64 `json:"bytes_in"`
	PacketsIn  uint64 `json:"packets_in"`
	BytesOut   uint64 `json:"bytes_out"`
	PacketsOut uint64 `json:"packets_out"`
	// Drops are the packets (streams, for not_member) dropped, by reason
	// (overlay.Drop); reasons with none are left out.
	Drops map[string]uint64 `json:"drops,omitempty"`
}

// maxNetDrops bounds the reasons of a NetCounters from the network.
const maxNetDrops = 16

var dropPattern = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// validate returns every problem with counters from the network.
func (c *NetCounters) validate() error {
	if len(c.Drops) > maxNetDrops {
		return fmt.Errorf("net counters: %d drop reasons, at most %d", len(c.Drops), maxNetDrops)
	}
	var errs []error
	for k := range c.Drops {
		if !dropPattern.MatchString(k) {
			errs = append(errs, fmt.Errorf("net counters: drop reason %.40q is not 1 to 32 of a-z, 0-9 and _", k))
			break
		}
	}
	return errors.Join(errs...)
}

// Add returns the sum of c and o.
func (c NetCounters) Add(o NetCounters) NetCounters {
	sum := NetCounters{BytesIn: c.BytesIn + o.BytesIn, PacketsIn: c.PacketsIn + o.PacketsIn,
		BytesOut: c.BytesOut + o.BytesOut, PacketsOut: c.PacketsOut + o.PacketsOut}
	if len(c.Drops)+len(o.Drops) > 0 {
		sum.Drops = maps.Clone(c.Drops)
		if sum.Drops == nil {
			sum.Drops = map[string]uint64{}
		}
		for k, v := range o.Drops {
			sum.Drops[k] += v
		}
	}
	return sum
}

// Dropped is the sum of c's drops.
func (c NetCounters) Dropped() uint64 {
	var n uint64
	for _, v := range c.Drops {
		n += v
	}
	return n
}

// netCountersOf is st as the wire carries it.
func netCountersOf(st overlay.Stats) *NetCounters {
	c := &NetCounters{BytesIn: st.BytesIn, PacketsIn: st.PacketsIn, BytesOut: st.BytesOut, PacketsOut: st.PacketsOut}
	if len(st.Drops) > 0 {
		c.Drops = make(map[string]uint64, len(st.Drops))
		for d, v := range st.Drops {
			c.Drops[string(d)] = v
		}
	}
	return c
}

// netCounters returns what reads the counters of req's job network here,
// or nil for a run without one.
func (s *Server) netCounters(req *RunRequest) func() *NetCounters {
	s.mu.Lock()
	n := s.nets[req.Job]
	s.mu.Unlock()
	if n == nil {
		return nil
	}
	return func() *NetCounters { return netCountersOf(n.Stats()) }
}

// maxEndedNets bounds the job networks whose final counters a server
// keeps after their runs ended: past it the oldest go.
const maxEndedNets = 256

// endedNets are the final counters of job networks whose runs ended on a
// provider, by job (the runs of one job summed), at most maxEndedNets of
// them. The zero value is empty; the server's mu guards it.
type endedNets struct {
	by    map[string]NetCounters
	order []string // jobs, oldest first
}

// add adds c to job's counters.
func (e *endedNets) add(job string, c NetCounters) {
	if e.by == nil {
		e.by = map[string]NetCounters{}
	}
	if old, ok := e.by[job]; ok {
		e.by[job] = old.Add(c)
		return
	}
	if len(e.order) >= maxEndedNets {
		delete(e.by, e.order[0])
		e.order = e.order[1:]
	}
	e.by[job] = c
	e.order = append(e.order, job)
}

// JobNetwork returns the counters of job's network on this provider (the
// provider's own overlay: packets its ranks sent and were delivered, and
// what it dropped): those of the job's runs here that ended, plus, while
// one runs, its live ones. It is nil when no run of job here had a job
// network, or its record was one of more than maxEndedNets since.
func (s *Server) JobNetwork(job string) *NetCounters {
	s.mu.Lock()
	n := s.nets[job]
	ended, ok := s.ended.by[job]
	s.mu.Unlock()
	if n == nil && !ok {
		return nil
	}
	if n != nil {
		ended = ended.Add(*netCountersOf(n.Stats()))
	}
	return &ended
}
