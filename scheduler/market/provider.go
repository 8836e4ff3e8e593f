package market

import (
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// provider is the market's provider side: the bid engine (OnRequest,
// consider, Decide, invitations), the awards it accepts and the
// reservations they hold (accept, release, expire), run admission
// (CheckRun, BeginRun, EndRun, HoldsAward) and the receipts of the runs it
// served (handleSettle, issueReceipts). It shares only core with the
// requester side, and none of its locks.
//
// Lock map: mu guards open, reserved, ended and runEndWait, and nothing
// else. It is held only to read and change them: never across file or
// network I/O, a log line, or a call into Deps (Offer, Addrs, Changed,
// Book, Ledger). core.stats has its own lock, a leaf taken under mu.
// sem is a semaphore channel and considering has its own lock, never held
// together with mu. Goroutines are started through core.life only.
type provider struct {
	*core

	mu       sync.Mutex
	open     map[string]*offered     // requests we bid on, by job
	reserved map[string]*reservation // accepted awards, by job
	// ended is closed at the next end of a run served here (EndRun), for
	// receipt requests waiting for it (awaitRunEnd).
	ended      chan struct{}
	runEndWait time.Duration // how long they wait; defaultEndWait when zero

	sem         chan struct{} // bounds concurrent bid decisions beyond each requester's first
	considering considering   // requests being considered, by requester (goConsider)
}

// newProvider returns the provider side of a market sharing c.
func newProvider(c *core) *provider {
	return &provider{core: c, open: map[string]*offered{}, reserved: map[string]*reservation{},
		sem: make(chan struct{}, 32)}
}

// offered is a request this node bid on.
type offered struct {
	req       *gossip.JobRequest
	requester peer.ID
	bid       *gossip.Bid
	plan      plan
	pool      string // of the devices the bid offers
	lastAward uint64 // highest award or release seq seen
	rttRounds int    // measured rounds answered for it (maxRTTRoundsPerJob)
}

// reservation holds devices for an accepted award.
type reservation struct {
	job       string
	requester peer.ID
	devices   []int
	ranks     []int
	// rankDevices are devices split among ranks (byRank), and gpus the
	// executors' names of those that are GPUs, by index in the record.
	rankDevices map[int][]int
	gpus        map[int]executor.Device
	world       int
	price       float64
	accepted    time.Time
	until       time.Time
	running     bool   // the requester started the work (BeginRun)
	ended       string // why it ended; empty while it holds
	served      *run.RunEnd
	settled     bool // its receipts were exchanged
	// class, pool and executor describe the work, for its receipts.
	class, pool, executor string
	// network is the job network the award names (Award.Network).
	network string
	// payer is the wallet whose escrow was checked for the run
	// (CheckPayer); its vouchers must come from it.
	payer common.Address
}

// Reservation is an award this node accepted as provider.
type Reservation struct {
	Job       string `json:"job"`
	Requester string `json:"requester"`
	Ranks     []int  `json:"ranks"`
	WorldSize int    `json:"world_size"`
	Devices   []int  `json:"devices"`
	// GPUs are each rank's GPUs among Devices, as its work is handed them
	// (NVML index and UUID), by rank; none for devices that are not GPUs.
	GPUs     map[int][]executor.Device `json:"gpus,omitempty"`
	Price    float64                   `json:"price"`
	Accepted time.Time                 `json:"accepted"`
	Until    time.Time                 `json:"until"`
	// Running says the requester started the work.
	Running bool `json:"running,omitempty"`
	// Ended says why it no longer holds; empty while it does.
	Ended string `json:"ended,omitempty"`
	// Network is the counters of the job's network on this provider's
	// own overlay (run.Server.JobNetwork): live while the run lasts,
	// final after; nil for a run without a job network. The node fills
	// it in; the market leaves it nil.
	Network *run.NetCounters `json:"network,omitempty"`
}

// reservedLocked is the set of devices held by live reservations; p.mu
// must be held.
func (p *provider) reservedLocked() map[int]bool {
	out := map[int]bool{}
	for _, r := range p.reserved {
		if r.ended == "" {
			for _, i := range r.devices {
				out[i] = true
			}
		}
	}
	return out
}

// reservedDevices is the set of devices held by live reservations.
func (p *provider) reservedDevices() map[int]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reservedLocked()
}

// reservations lists the awards accepted here, newest first.
func (p *provider) reservations() []Reservation {
	p.mu.Lock()
	out := make([]Reservation, 0, len(p.reserved))
	for _, r := range p.reserved {
		out = append(out, Reservation{Job: r.job, Requester: r.requester.String(), Ranks: slices.Clone(r.ranks),
			WorldSize: r.world, Devices: slices.Clone(r.devices), GPUs: r.grant(r.ranks).Devices, Price: r.price, Accepted: r.accepted, Until: r.until, Running: r.running, Ended: r.ended})
	}
	p.mu.Unlock()
	slices.SortFunc(out, func(a, b Reservation) int { return b.Accepted.Compare(a.Accepted) })
	return out
}

// expire ends reservations past their hold and forgets bids past expiry.
func (p *provider) expire(now time.Time) {
	var lapsed []string
	p.mu.Lock()
	for id, r := range p.reserved {
		// A running job holds its devices until its run ends (EndRun, which
		// the run server always calls; executor.max_wall bounds the work):
		// freed earlier, they could go to a second job while it runs.
		if r.ended == "" && !r.running && !now.Before(r.until) {
			r.ended = "lapsed: the job did not start in time"
			p.stats.add(func(s *Stats) { s.Released++ })
			lapsed = append(lapsed, id)
		}
		if r.ended != "" && now.Sub(r.until) > time.Hour {
			delete(p.reserved, id)
		}
	}
	for id, o := range p.open {
		if now.After(o.bid.Expires) && p.reserved[id] == nil {
			delete(p.open, id)
		}
	}
	p.mu.Unlock()
	for _, id := range lapsed {
		p.log.Info("reservation lapsed", "job", id)
	}
	if len(lapsed) > 0 {
		p.d.Changed()
	}
}

// The provider side's part of Market's API: each delegates to m.prov.

// Reserved is the set of this node's devices held by accepted awards, by
// index in its capacity record.
func (m *Market) Reserved() map[int]bool { return m.prov.reservedDevices() }

// Reservations lists the awards this node accepted as provider, newest first.
func (m *Market) Reservations() []Reservation { return m.prov.reservations() }

// OnRequest is the gossip handler of the jobs topic: it considers each
// request in the background (bounded), and never blocks the topic.
func (m *Market) OnRequest(r gossip.Received) { m.prov.onRequest(r) }

// BeginRun lets requester start the work of ranks of job on the devices
// its accepted award reserved, and returns each rank's GPUs among them:
// the reservation then holds until the run ends (EndRun) instead of
// market.reserve_hold. It refuses a requester without a live reservation,
// ranks it was not awarded, and a second start.
func (m *Market) BeginRun(job string, requester peer.ID, ranks []int) (run.Grant, error) {
	return m.prov.beginRun(job, requester, ranks)
}

// CheckRun tells whether BeginRun would accept the run now, and what it
// would grant, holding nothing (run.RunChecker): the run server asks
// before it reserves the run's memory.
func (m *Market) CheckRun(job string, requester peer.ID, ranks []int) (run.Grant, error) {
	return m.prov.checkRunNow(job, requester, ranks)
}

// HoldsAward reports whether requester holds an award accepted here that
// has not started running (run.AwardHolder): the run server lets its
// streams past the bound shared by peers without one.
func (m *Market) HoldsAward(requester peer.ID) bool { return m.prov.holdsAward(requester) }

// EndRun ends job's reservation once its work is over, and keeps what it
// served for the receipt.
func (m *Market) EndRun(job string, requester peer.ID, end run.RunEnd) {
	m.prov.endRun(job, requester, end)
}

var (
	_ run.Authorizer  = (*Market)(nil)
	_ run.RunChecker  = (*Market)(nil)
	_ run.AwardHolder = (*Market)(nil)
)
