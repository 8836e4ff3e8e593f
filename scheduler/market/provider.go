package market

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/scheduler/pricing"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// Checks of the provider's decision chain, in order; each is the label a
// request not bid on is counted under.
const (
	CheckOffer    = "not_offering"
	CheckExecutor = "executor"
	CheckHours    = "hours"
	CheckRegion   = "region"
	CheckDevices  = "devices" // pool, class, memory or cores
	CheckHost     = "host"    // host cores or RAM
	CheckFree     = "free"
	CheckPrice    = "price"
	CheckLimit    = "open_bids"
)

// Refusal is why a provider does not bid: the check that failed and the
// numbers behind it.
type Refusal struct {
	Check  string
	Detail string
}

func (r *Refusal) Error() string { return r.Check + ": " + r.Detail }

// plan is what a provider can offer for one request.
type plan struct {
	class   string
	devices []int // free devices of class that match, by index in the record
	workers int   // workers they host, at most the request's
	price   pricing.Micros
	why     string
	vramGB  float64
}

// Decide runs the provider's checks on req against what it offers and the
// devices already reserved, at now; it returns the bid's terms or the
// first check that failed. It is pure: the same inputs give the same answer.
func Decide(req *gossip.JobRequest, o Offer, reserved map[int]bool, now time.Time) (plan, *Refusal) {
	r := &o.Record
	refuse := func(check, format string, args ...any) (plan, *Refusal) {
		return plan{}, &Refusal{Check: check, Detail: fmt.Sprintf(format, args...)}
	}
	if !slices.Contains(r.Executors, req.Executor) {
		return refuse(CheckExecutor, "executor %s not offered (offers %s)", req.Executor, strings.Join(r.Executors, ", "))
	}
	if !r.Available(now) {
		return refuse(CheckHours, "outside this provider's hours")
	}
	if len(req.Regions) > 0 && !slices.ContainsFunc(req.Regions, func(g string) bool {
		return strings.EqualFold(g, r.Region) || strings.EqualFold(g, r.Country)
	}) {
		return refuse(CheckRegion, "in %s/%s, not in %s", or(r.Region, "no region"), or(r.Country, "no country"), strings.Join(req.Regions, ", "))
	}
	w := req.PerWorker
	if w.CPUCores > 0 && o.HostCores < w.CPUCores {
		return refuse(CheckHost, "%d cores, the worker needs %d", o.HostCores, w.CPUCores)
	}
	if w.RAMGB > 0 && o.HostRAMGB < w.RAMGB {
		return refuse(CheckHost, "%.0f GB RAM, the worker needs %.0f", o.HostRAMGB, w.RAMGB)
	}
	per := devicesPerWorker(req)
	byClass := map[string][]int{} // free matching devices
	total := map[string]int{}     // all matching devices
	for i, d := range r.Devices {
		if !deviceMatches(d, w) {
			continue
		}
		total[d.Class]++
		if !reserved[i] {
			byClass[d.Class] = append(byClass[d.Class], i)
		}
	}
	if len(total) == 0 {
		return refuse(CheckDevices, "no device matches %s", describe(w))
	}
	// The class with the lowest floor that hosts a worker wins.
	var best plan
	var bestFloor pricing.Micros
	for class, free := range byClass {
		if len(free) < per {
			continue
		}
		floor, err := pricing.FromFloat(r.Prices[class])
		if err != nil || floor <= 0 {
			continue
		}
		if best.class == "" || floor < bestFloor || (floor == bestFloor && class < best.class) {
			best = plan{class: class, devices: free, workers: min(len(free)/per, req.Workers)}
			bestFloor = floor
		}
	}
	if best.class == "" {
		n := 0
		for _, f := range byClass {
			n = max(n, len(f))
		}
		return refuse(CheckFree, "%d matching devices free, a worker needs %d", n, per)
	}
	maxPrice, err := pricing.FromFloat(req.MaxPrice)
	if err != nil {
		return refuse(CheckPrice, "max price %v: %v", req.MaxPrice, err)
	}
	urgency, err := pricing.ParseUrgency(string(req.Urgency))
	if err != nil {
		return refuse(CheckPrice, "%v", err)
	}
	load := 1 - float64(len(best.devices))/float64(total[best.class])
	price, ok, why := pricing.Ask(bestFloor, load, urgency, maxPrice)
	if !ok {
		return refuse(CheckPrice, "%s", why)
	}
	best.price, best.why = price, why
	for _, i := range best.devices {
		best.vramGB = float64(r.Devices[i].MemoryMB) / 1024
		break
	}
	return best, nil
}

// deviceMatches reports whether device d can serve a worker needing w.
func deviceMatches(d capacity.Device, w gossip.Resources) bool {
	pool := w.Pool
	if w.GPUs == 0 {
		pool = "cpu"
	}
	if pool != "" && d.Pool != pool {
		return false
	}
	if w.Class != "" && !strings.EqualFold(w.Class, d.Class) {
		return false
	}
	if w.MinVRAMGB > 0 && float64(d.MemoryMB)/1024 < w.MinVRAMGB {
		return false
	}
	return true
}

// describe says what a worker asks for, for refusals.
func describe(w gossip.Resources) string {
	var parts []string
	if w.GPUs == 0 {
		parts = append(parts, "pool cpu")
	} else if w.Pool != "" {
		parts = append(parts, "pool "+w.Pool)
	}
	if w.Class != "" {
		parts = append(parts, "class "+w.Class)
	}
	if w.MinVRAMGB > 0 {
		parts = append(parts, fmt.Sprintf(">= %.0f GB", w.MinVRAMGB))
	}
	if len(parts) == 0 {
		return "any device"
	}
	return strings.Join(parts, ", ")
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// offered is a request this node bid on.
type offered struct {
	req       *gossip.JobRequest
	requester peer.ID
	bid       *gossip.Bid
	plan      plan
	pool      string // of the devices the bid offers
	lastAward uint64 // highest award or release seq seen
}

// reservation holds devices for an accepted award.
type reservation struct {
	job       string
	requester peer.ID
	devices   []int
	ranks     []int
	world     int
	price     float64
	accepted  time.Time
	until     time.Time
	running   bool   // the requester started the work (BeginRun)
	ended     string // why it ended; empty while it holds
	served    *run.RunEnd
	settled   bool // its receipts were exchanged
	// class, pool and executor describe the work, for its receipts.
	class, pool, executor string
}

// BeginRun lets requester start the work of ranks of job on the devices
// its accepted award reserved: the reservation then holds for the job's
// duration instead of market.reserve_hold. It refuses a requester without
// a live reservation, ranks it was not awarded, and a second start.
func (m *Market) BeginRun(job string, requester peer.ID, ranks []int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkRun(job, requester, ranks); err != nil {
		return err
	}
	r := m.reserved[job]
	r.running = true
	hold := time.Hour
	if o := m.open[job]; o != nil {
		hold = o.req.Duration
	}
	r.until = time.Now().Add(hold + time.Minute)
	if f := m.fault(); f.DisconnectAfter > 0 {
		m.goBackground(func(ctx context.Context) { m.disconnect(ctx, requester, f.DisconnectAfter, f.DisconnectFor) })
	}
	return nil
}

// CheckRun tells whether BeginRun would accept the run now, holding
// nothing (run.RunChecker): the run server asks before it reserves the
// run's memory.
func (m *Market) CheckRun(job string, requester peer.ID, ranks []int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.checkRun(job, requester, ranks)
}

// HoldsAward reports whether requester holds an award accepted here that
// has not started running (run.AwardHolder): the run server lets its
// streams past the bound shared by peers without one.
func (m *Market) HoldsAward(requester peer.ID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.reserved {
		if r.requester == requester && r.ended == "" && !r.running {
			return true
		}
	}
	return false
}

// checkRun is CheckRun with m.mu held.
func (m *Market) checkRun(job string, requester peer.ID, ranks []int) error {
	r := m.reserved[job]
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

var _ run.RunChecker = (*Market)(nil)

// RunFaults is the run server's view of this node's Faults
// (run.Faulty): how the run of job for requester misbehaves.
func (m *Market) RunFaults(job string, requester peer.ID) run.Faults {
	f := m.fault()
	return run.Faults{NeverAnswer: f.NeverAnswer, NeverRun: f.NeverRun, AlterOutputs: f.WrongOutputs, MalformedOutputs: f.MalformedOutputs,
		MisstatedOutputs: f.MisstatedOutputs}
}

var _ run.Faulty = (*Market)(nil)

// defaultDisconnectFor is how long Faults.DisconnectAfter refuses the
// requester when Faults.DisconnectFor is zero.
const defaultDisconnectFor = 3 * time.Second

// disconnect is Faults.DisconnectAfter: after wait it closes every
// connection to p and, for blackout, closes each new one as it opens.
func (m *Market) disconnect(ctx context.Context, p peer.ID, wait, blackout time.Duration) {
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
	net := m.d.Host.Network()
	until := time.Now().Add(blackout)
	refuse := &network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if c.RemotePeer() == p && time.Now().Before(until) {
			go c.Close() // not from the notification itself
		}
	}}
	net.Notify(refuse) // first, so no connection slips in between
	defer net.StopNotify(refuse)
	m.log.Warn("fault: disconnecting from the requester", "requester", short(p), "for", blackout)
	_ = net.ClosePeer(p)
	t.Reset(blackout)
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// EndRun ends job's reservation once its work is over, and keeps what it
// served for the receipt.
func (m *Market) EndRun(job string, requester peer.ID, end run.RunEnd) {
	m.mu.Lock()
	r := m.reserved[job]
	ended := r != nil && r.requester == requester && r.ended == ""
	if ended {
		r.running = false
		r.ended = "ran: " + end.Reason
		r.served = &end
		m.stats.add(func(s *Stats) { s.Released++ })
		if m.ended != nil { // receipt requests waiting for a run's end
			close(m.ended)
			m.ended = nil
		}
	}
	m.mu.Unlock()
	if ended {
		m.d.Changed()
	}
}

// OnRequest is the gossip handler of the jobs topic: it considers each
// request in the background (bounded), and never blocks the topic.
func (m *Market) OnRequest(r gossip.Received) {
	req, ok := r.Msg.(*gossip.JobRequest)
	if !ok || r.From == m.self {
		return
	}
	m.goConsider(r.From, req)
}

// consider decides on req from requester and bids if the checks pass; the
// refusal says why not.
func (m *Market) consider(ctx context.Context, requester peer.ID, req *gossip.JobRequest) *Refusal {
	if m.d.Offer == nil {
		return &Refusal{Check: CheckOffer, Detail: "this node offers nothing"}
	}
	o, ok := m.d.Offer()
	if !ok {
		return &Refusal{Check: CheckOffer, Detail: "this node offers nothing now"}
	}
	now := time.Now()
	m.mu.Lock()
	if o, dup := m.open[req.ID]; dup && (req.Seq <= o.req.Seq || m.reserved[req.ID] != nil) {
		m.mu.Unlock()
		return nil // bid already (gossip and invitation both reached us)
	}
	// A newer request for the same job (the requester asks again) gets a
	// new bid, replacing the old one.
	if len(m.open) >= m.cfg.MaxOpenBids {
		m.mu.Unlock()
		m.stats.declined(CheckLimit)
		return &Refusal{Check: CheckLimit, Detail: fmt.Sprintf("%d bids open", m.cfg.MaxOpenBids)}
	}
	p, refusal := Decide(req, o, m.reservedLocked(), now)
	if refusal != nil {
		m.mu.Unlock()
		m.stats.declined(refusal.Check)
		m.log.Debug("not bidding", "job", req.ID, "requester", short(requester), "check", refusal.Check, "detail", refusal.Detail)
		return refusal
	}
	bid := &gossip.Bid{Job: req.ID, Seq: m.nextSeq(), Sent: now,
		Expires: req.BidDeadline.Add(time.Duration(m.cfg.AwardTimeout) * time.Duration(m.cfg.VerifyRounds+1)),
		Price:   p.price.Float64(), Workers: p.workers, Class: p.class, VRAMGB: p.vramGB,
		CapacitySeq: o.Record.Seq, Addrs: m.d.Addrs()}
	if co, ok := m.d.Coordinate(); ok {
		bid.Coord = &co
	}
	if life := bid.Expires.Sub(bid.Sent); life > gossip.MaxMessageLife {
		bid.Expires = bid.Sent.Add(gossip.MaxMessageLife)
	}
	pool := ""
	if len(p.devices) > 0 && p.devices[0] < len(o.Record.Devices) {
		pool = o.Record.Devices[p.devices[0]].Pool
	}
	m.open[req.ID] = &offered{req: req, requester: requester, bid: bid, plan: p, pool: pool}
	m.mu.Unlock()

	ctx, cancel := context.WithDeadline(ctx, req.BidDeadline)
	defer cancel()
	answer, err := m.send(ctx, requester, req.Addrs, BidProtocol, bid, maxAckBytes)
	var ack Ack
	if err == nil {
		ack, err = readAck(answer)
	}
	refused := err != nil || !ack.OK
	m.stats.add(func(s *Stats) {
		s.BidsSent++
		if refused {
			s.BidsRefused++
		}
	})
	if refused {
		m.mu.Lock()
		delete(m.open, req.ID)
		m.mu.Unlock()
	}
	if err != nil {
		m.log.Debug("bid not delivered", "job", req.ID, "requester", short(requester), "err", err)
	} else if !ack.OK {
		m.log.Debug("bid refused", "job", req.ID, "requester", short(requester), "reason", ack.Reason)
	} else {
		m.log.Debug("bid", "job", req.ID, "requester", short(requester), "price", bid.Price, "workers", bid.Workers, "class", bid.Class, "why", p.why)
	}
	return nil
}

// handleInvite answers a direct invitation: the request is considered as
// if heard on gossip, and the answer says whether a bid will come.
func (m *Market) handleInvite(s network.Stream) {
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	remote := s.Conn().RemotePeer()
	msg, err := m.receive(s, gossip.DefaultConfig().MaxMessageBytes, gossip.JobRequestType)
	if err != nil {
		m.violation(remote, "invitation", err)
		reply(s, false, err.Error())
		return
	}
	req := msg.(*gossip.JobRequest)
	// The bid goes out on its own stream; the invitation is answered first.
	if m.d.Offer == nil {
		reply(s, false, CheckOffer+": this node offers nothing")
		return
	}
	o, ok := m.d.Offer()
	if !ok {
		reply(s, false, CheckOffer+": this node offers nothing now")
		return
	}
	m.mu.Lock()
	_, refusal := Decide(req, o, m.reservedLocked(), time.Now())
	m.mu.Unlock()
	if refusal != nil {
		m.stats.declined(refusal.Check)
		reply(s, false, refusal.Error())
		return
	}
	reply(s, true, "")
	m.goConsider(remote, req)
}

// handleAward answers an award with a signed accept or decline, or a
// release with an Ack. Nothing is reserved for an award that fails a check.
func (m *Market) handleAward(s network.Stream) {
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	remote := s.Conn().RemotePeer()
	msg, err := m.receive(s, maxAwardBytes, gossip.AwardType, gossip.ReleaseType)
	if err != nil {
		m.violation(remote, "award", err)
		reply(s, false, err.Error())
		return
	}
	if rel, ok := msg.(*gossip.Release); ok {
		ok, reason := m.release(remote, rel)
		reply(s, ok, reason)
		return
	}
	a := msg.(*gossip.Award)
	if m.fault().IgnoreAwards {
		_, _ = s.Read(make([]byte, 1)) // until the requester gives up or the deadline
		_ = s.Reset()
		return
	}
	res, answer, bounded := m.accept(remote, a)
	if res != nil && bounded {
		// Ping the other winners so the requester learns the cluster's real RTTs.
		if acc, ok := answer.(*gossip.Accept); ok {
			ctx, cancel := m.life.Context(context.Background())
			ctx, cancel2 := context.WithDeadline(ctx, a.AcceptBy.Add(-time.Duration(m.cfg.AwardTimeout)/4))
			acc.RTTs = m.pingPeers(ctx, a)
			cancel2()
			cancel()
		}
	}
	data, err := gossip.Encode(answer, m.d.Key)
	if err == nil {
		err = writeSigned(s, data)
	}
	if err != nil {
		m.log.Debug("answer award", "job", a.Job, "err", err)
	}
}

// accept checks an award from remote and reserves its devices; it returns
// the reservation (nil when declined), the answer to sign, and whether the
// request has an RTT bound (the winner then pings the other winners).
func (m *Market) accept(remote peer.ID, a *gossip.Award) (*reservation, gossip.Message, bool) {
	now := time.Now()
	decline := func(label, reason string) (*reservation, gossip.Message, bool) {
		m.stats.refused(label)
		m.log.Debug("declined an award", "job", a.Job, "requester", short(remote), "reason", reason)
		return nil, &gossip.Decline{Job: a.Job, Seq: m.nextSeq(), Sent: now, AwardSeq: a.Seq, Reason: reason}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.open[a.Job]
	switch {
	case m.fault().DeclineAwards != "":
		return decline("fault", m.fault().DeclineAwards)
	case a.Provider != m.self.String():
		m.d.Book.Record(remote, reputation.Violation, "award for another provider")
		return decline("wrong_provider", "award names another provider")
	case o == nil:
		return decline("unknown_job", "no bid of ours for this job")
	case o.requester != remote:
		m.d.Book.Record(remote, reputation.Violation, "award for a job it did not request")
		return decline("not_requester", "award from a peer that did not request the job")
	case a.Seq <= o.lastAward:
		m.d.Book.Record(remote, reputation.Violation, "replayed award")
		return decline("replayed", "replayed award")
	}
	o.lastAward = a.Seq
	switch {
	case !now.Before(o.bid.Expires):
		return decline("bid_expired", "our bid expired")
	case a.Price < o.bid.Price:
		return decline("price", fmt.Sprintf("award price %v below our bid %v", a.Price, o.bid.Price))
	case len(a.Ranks) > o.bid.Workers:
		return decline("too_many", fmt.Sprintf("%d workers awarded, we bid for %d", len(a.Ranks), o.bid.Workers))
	case m.reserved[a.Job] != nil && m.reserved[a.Job].ended == "":
		return decline("replayed", "award for a job already reserved")
	}
	// The devices may have gone to another job since the bid.
	need := len(a.Ranks) * devicesPerWorker(o.req)
	busy := m.reservedLocked()
	var devs []int
	for _, i := range o.plan.devices {
		if !busy[i] && len(devs) < need {
			devs = append(devs, i)
		}
	}
	if len(devs) < need {
		return decline("busy", fmt.Sprintf("%d devices free now, %d needed", len(devs), need))
	}
	res := &reservation{job: a.Job, requester: remote, devices: devs, ranks: slices.Clone(a.Ranks),
		class: o.bid.Class, pool: o.pool, executor: o.req.Executor,
		world: a.WorldSize, price: a.Price, accepted: now, until: now.Add(time.Duration(m.cfg.ReserveHold))}
	m.reserved[a.Job] = res
	m.stats.add(func(s *Stats) { s.Accepted++ })
	m.log.Info("accepted an award", "job", a.Job, "requester", short(remote), "ranks", fmt.Sprint(a.Ranks), "devices", len(devs), "price", a.Price, "until", res.until.Format(time.TimeOnly))
	go m.d.Changed()
	return res, &gossip.Accept{Job: a.Job, Seq: m.nextSeq(), Sent: now, ReservedUntil: res.until, AwardSeq: a.Seq}, o.req.MaxRTT > 0
}

// release ends a reservation at the requester's word.
func (m *Market) release(remote peer.ID, r *gossip.Release) (bool, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.open[r.Job]
	res := m.reserved[r.Job]
	switch {
	case r.Provider != m.self.String():
		m.stats.refused("wrong_provider")
		return false, "release names another provider"
	case o == nil || o.requester != remote:
		m.stats.refused("not_requester")
		return false, "no job of yours here"
	case r.Seq <= o.lastAward:
		m.stats.refused("replayed")
		return false, "replayed release"
	}
	o.lastAward = r.Seq
	if res != nil && res.ended == "" {
		res.ended = "released: " + r.Reason
		m.stats.add(func(s *Stats) { s.Released++ })
		go m.d.Changed()
	}
	return true, ""
}

// pingPeers pings every other provider of a's cluster once, in parallel.
func (m *Market) pingPeers(ctx context.Context, a *gossip.Award) []gossip.PeerRTT {
	var others []peer.ID
	for _, s := range a.Peers {
		p, err := peer.Decode(s)
		if err != nil || p == m.self || slices.Contains(others, p) {
			continue
		}
		others = append(others, p)
	}
	out := make([]gossip.PeerRTT, len(others))
	done := make(chan struct{}, len(others))
	for i, p := range others {
		go func() {
			defer func() { done <- struct{}{} }()
			out[i] = gossip.PeerRTT{Peer: p.String()}
			addAddrs(m.d.Host, p, a.Addrs[p.String()])
			if err := m.d.Host.Connect(ctx, m.d.Host.Peerstore().PeerInfo(p)); err != nil {
				out[i].Err = trim(err.Error())
				return
			}
			select {
			case r := <-ping.Ping(ctx, m.d.Host, p):
				if r.Error != nil {
					out[i].Err = trim(r.Error.Error())
				} else {
					out[i].RTT = r.RTT
				}
			case <-ctx.Done():
				out[i].Err = "no answer in time"
			}
		}()
	}
	for range others {
		<-done
	}
	return out
}

func trim(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

// reservedLocked is the set of devices held by live reservations.
func (m *Market) reservedLocked() map[int]bool {
	out := map[int]bool{}
	for _, r := range m.reserved {
		if r.ended == "" {
			for _, i := range r.devices {
				out[i] = true
			}
		}
	}
	return out
}

// Reserved is the set of this node's devices held by accepted awards, by
// index in its capacity record.
func (m *Market) Reserved() map[int]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reservedLocked()
}

// expire ends reservations past their hold and forgets bids past expiry.
func (m *Market) expire(now time.Time) {
	changed := false
	m.mu.Lock()
	for id, r := range m.reserved {
		if r.ended == "" && !now.Before(r.until) {
			r.ended = "lapsed: the job did not start in time"
			m.stats.add(func(s *Stats) { s.Released++ })
			changed = true
			m.log.Info("reservation lapsed", "job", id)
		}
		if r.ended != "" && now.Sub(r.until) > time.Hour {
			delete(m.reserved, id)
		}
	}
	for id, o := range m.open {
		if now.After(o.bid.Expires) && m.reserved[id] == nil {
			delete(m.open, id)
		}
	}
	m.mu.Unlock()
	if changed {
		m.d.Changed()
	}
}
