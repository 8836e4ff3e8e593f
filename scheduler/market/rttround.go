package market

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/internal/human"
	"github.com/gpumesh/gpumesh/scheduler/placement"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// The measured round (docs/placement.md, docs/protocol/rtt-round-1.md):
// coordinates prune, measurements decide. Before its first placement of a
// bidding round, a requester whose job has an RTT bound picks more
// candidates than it needs (placement's choice under a slackened bound,
// then the next-best eligible bids), asks each over RTTRoundProtocol to
// ping the others, in one parallel round with a deadline, and places on
// what they measured. A pair's RTT is the larger of its two ends' reports;
// a candidate whose reports the others or the requester's own pings
// contradict is charged and its reports dropped. The winners still ping
// each other before they accept (award.go), so a pair nobody measured, or
// measured by one end only, is checked before the cluster stands.

// RTTRoundProtocol carries a requester's signed RTTProbe to a candidate,
// answered by the candidate's signed RTTRow.
const RTTRoundProtocol = protocol.ID("/gpumesh/rtt-round/1")

// Size limits of the measured round's messages.
const (
	maxProbeBytes = 96 << 10 // 32 candidates with 8 addresses each
	maxRowBytes   = 24 << 10 // 32 entries with their errors
)

// Thresholds of the consistency checks (judge): a report is contradicted
// when it is under a contradictFactor-th of the RTT it is checked against
// and more than consistencySlack under it. Internet routes break the
// triangle inequality by tens of milliseconds, a busy host's ping runs
// long now and then (on loopback under load, by hundreds of times a
// sub-millisecond RTT), and a report below the truth gains its sender
// nothing where the other end reported too (a pair is the larger report):
// so the checks stay coarse, sparing honest candidates the charge. A
// candidate is distrusted only when at least minContradicted of its
// checked reports, and more than half of them, are contradicted: a liar
// understates them all, noise hits a few, and one peer reporting high
// cannot frame an honest one.
const (
	consistencySlack = 20 * time.Millisecond
	contradictFactor = 3
	minContradicted  = 2
)

// RoundView is what a job's measured round did, in JobView.
type RoundView struct {
	// Candidates were asked; Silent of them sent no row in time, and
	// Distrusted had their reports dropped (Charged of those also had
	// their reputation charged).
	Candidates int `json:"candidates"`
	Silent     int `json:"silent,omitempty"`
	Distrusted int `json:"distrusted,omitempty"`
	Charged    int `json:"charged,omitempty"`
	// Pairs is how many candidate pairs were measured, from Reports RTTs.
	Pairs   int `json:"pairs"`
	Reports int `json:"reports"`
	// TookMS is how long the round took.
	TookMS float64 `json:"took_ms"`
	// Early is set when the first round started while bidding was still
	// open, once a cluster first fitted (TookMS counts from then).
	Early bool `json:"early,omitempty"`
}

// allVerified reports whether the measured round measured every pair of
// cluster from both ends (a cluster of one provider has no pair).
func allVerified(cluster []*member, verified map[[2]int]bool) bool {
	for x, a := range cluster {
		for _, b := range cluster[x+1:] {
			if !verified[pair(a.bid, b.bid)] {
				return false
			}
		}
	}
	return true
}

// measureRound runs the measured round for the bids not excluded, and
// puts what it measured in st.measured: a first round on the candidates
// coordinates pick (roundCandidates), then, when the first one's
// measurements leave a partial group that nearer bids could complete more
// cheaply than the best group found, a second round in which those bids
// (nearerCandidates, placement.Nearer) ping each other and the partial
// groups' members; the members are named in the probe but not asked again. It does nothing when the job has
// no RTT bound, market.rtt_round_candidates is 0, or fewer than two
// candidates bid.
func (d *driver) measureRound(ctx context.Context, st *rounds) {
	req := d.j.request()
	most := d.cfg.RTTRoundCandidates
	if req.MaxRTT <= 0 || most < 2 || req.Workers < 2 {
		return
	}
	cands, view, start := d.joinEarly(ctx, st)
	if view == nil {
		cands = d.roundCandidates(st.excluded, placement.RoundSize(req.Workers, most))
		if len(cands) < 2 {
			return
		}
		start, view = time.Now(), &RoundView{}
		if d.ownRTT == nil {
			d.ownRTT = map[int]time.Duration{}
		}
		d.measure(ctx, st, d.ownRTT, cands, 0, view)
	}
	n := min(placement.NearerSize(req.Workers), gossip.MaxRTTCandidates/2)
	if more, partners := d.nearerCandidates(st, cands, n); len(more) > 0 {
		partners = placement.Partners(partners, cands, len(more), gossip.MaxRTTCandidates)
		d.measure(ctx, st, d.ownRTT, append(partners, more...), len(partners), view)
	}
	view.TookMS = msf(time.Since(start))
	d.j.mu.Lock()
	d.j.view.Measured = view
	d.j.mu.Unlock()
}

// measure runs one round: cands[from:] are asked to ping every candidate
// (those before from were measured in an earlier round, and are not asked
// again), and this node pings them itself. What it measured goes to st,
// its own RTTs to own (by bid index; read for those not asked), and the
// counts are added to view.
func (d *driver) measure(ctx context.Context, st *rounds, own map[int]time.Duration, cands []int, from int, view *RoundView) {
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, rttRoundDeadline(d.cfg, d.j.request().MaxRTT))
	defer cancel()
	bids := d.j.bids()
	peers := make([]peer.ID, len(cands))
	for i, b := range cands {
		peers[i] = bids[b].from
	}
	rows, mine := d.probeAll(rctx, d.j.request().ID, cands, from, bids, own)
	for i, rtt := range mine {
		if rtt > 0 {
			own[cands[i]] = rtt
		}
	}
	v := judge(peers, rows, mine)
	for i, why := range v.distrusted {
		if !v.charged[i] {
			d.j.note("rtt_distrusted", peers[i], "%s's RTT reports distrusted: %s", short(peers[i]), why)
			continue
		}
		d.d.Book.Record(peers[i], reputation.Violation, "measured round: "+why)
		d.j.note("rtt_distrusted", peers[i], "%s's RTT reports distrusted, its reputation charged: %s", short(peers[i]), why)
	}
	for pr, rtt := range v.pairs {
		key := pair(cands[pr[0]], cands[pr[1]])
		st.measured[key] = max(st.measured[key], rtt)
		if v.both[pr] {
			st.verified[key] = true
		}
	}
	asked := len(cands) - from
	view.Candidates += asked
	view.Silent += asked - v.answered
	view.Distrusted += len(v.distrusted)
	view.Pairs += len(v.pairs)
	view.Reports += v.reports
	for _, c := range v.charged {
		if c {
			view.Charged++
		}
	}
	text := v.summary(asked, time.Since(start))
	if from > 0 {
		text = fmt.Sprintf("second round, %d nearer the best partial groups: %s", asked, text)
	}
	d.j.mu.Lock()
	d.j.event("measured", "", "%s", text)
	d.j.mu.Unlock()
}

// minRoundDeadline is the least time a round waits for its rows.
const minRoundDeadline = 10 * time.Millisecond

// rttRoundDeadline is how long one measured round waits for its rows:
// market.rtt_round_timeout, or market.rtt_round_bound times the job's RTT
// bound when that is less (at least minRoundDeadline). Most of a round's
// time is QUIC handshakes between candidates not yet connected; a pair
// whose handshake and ping take longer than a fraction of the bound is
// near or over it, so waiting for it costs time to cluster and rarely
// changes the choice. Candidates answer with what they measured by then,
// the rest keep their estimates and the winners' pings check them.
func rttRoundDeadline(cfg Config, bound time.Duration) time.Duration {
	t := time.Duration(cfg.RTTRoundTimeout)
	if cfg.RTTRoundBound > 0 && bound > 0 {
		t = min(t, max(time.Duration(cfg.RTTRoundBound*float64(bound)), minRoundDeadline))
	}
	return t
}

// nearerCandidates picks up to n bids for the second round
// (placement.Nearer): the bids not measured yet nearest the partial
// groups the first round's measurements leave (on the bids' reported RTTs
// where two bids report each other, coordinates elsewhere), when they
// could complete one more cheaply than the best group among the measured
// candidates; and those groups' members, the partners. It returns nothing
// when none could. Both are indices in the job's bids.
func (d *driver) nearerCandidates(st *rounds, cands []int, n int) (more, partners []int) {
	if n <= 0 {
		return nil, nil
	}
	preq, pb, idx := d.placeInput(st.excluded)
	pos := make(map[int]int, len(idx)) // bid index -> position in pb
	for p, i := range idx {
		pos[i] = p
	}
	var measured []int
	for _, c := range cands {
		if p, ok := pos[c]; ok {
			measured = append(measured, p)
		}
	}
	reported := bidPairs(d.j.bids())
	rtt := func(a, b int) (time.Duration, bool) {
		key := pair(idx[a], idx[b])
		if rtt, ok := st.measured[key]; ok {
			return rtt, true
		}
		rtt, ok := reported[key]
		return rtt, ok
	}
	best := math.Inf(1)
	sub := make([]placement.Bid, len(measured))
	for x, p := range measured {
		sub[x] = pb[p]
	}
	got, err := placement.Place(preq, sub, placement.WithSeed(d.j.seed()), placement.WithMeasured(func(a, b int) (time.Duration, bool) {
		rtt, ok := st.measured[pair(idx[measured[a]], idx[measured[b]])]
		return rtt, ok
	}))
	if err == nil && got.Feasible {
		best = got.Score
	}
	more, partners = placement.Nearer(preq, pb, measured, rtt, best, n)
	for i, p := range more {
		more[i] = idx[p]
	}
	for i, p := range partners {
		partners[i] = idx[p]
	}
	return more, partners
}

// bidPairs are the pairs of bids (by index) whose two bids both carry
// their RTT to each other (gossip.Bid.RTTs), at the larger of the two. A
// pair one bid alone reports is left out, as one end's word. They are a
// moving average of past pings, a few milliseconds above a fresh one at
// times: good enough to pick the round's candidates by, better than
// coordinates, but not to decide on (a pair just under a tight bound would
// read as over it), so placement proper never sees them.
func bidPairs(bids []received) map[[2]int]time.Duration {
	index := make(map[string]int, len(bids))
	for i, b := range bids {
		index[b.from.String()] = i
	}
	said := map[[2]int]time.Duration{} // [from, to]
	for i, b := range bids {
		for _, r := range b.bid.RTTs {
			if k, ok := index[r.Peer]; ok && k != i && r.Err == "" {
				said[[2]int{i, k}] = r.RTT
			}
		}
	}
	out := map[[2]int]time.Duration{}
	for ft, rtt := range said {
		if back, ok := said[[2]int{ft[1], ft[0]}]; ok && ft[0] < ft[1] {
			out[pair(ft[0], ft[1])] = max(rtt, back)
		}
	}
	return out
}

// roundCandidates picks up to n bids (indices in the job's bids) for the
// first round: placement.Candidates, balls within the bound times
// market.rtt_round_slack, on the bids' recent RTTs where two bids report
// each other, coordinates elsewhere.
func (d *driver) roundCandidates(excluded map[int]*exclusion, n int) []int {
	preq, pb, idx := d.placeInput(excluded)
	reported := bidPairs(d.j.bids())
	out := placement.Candidates(preq, pb, d.cfg.RTTRoundSlack, n, func(a, b int) (time.Duration, bool) {
		rtt, ok := reported[pair(idx[a], idx[b])]
		return rtt, ok
	})
	for i, p := range out {
		out[i] = idx[p]
	}
	return out
}

// probeAll sends the round's probe, naming every candidate, to
// cands[first:] and pings each of those itself, all in parallel, until ctx
// ends. It returns each candidate's row, by position in cands (nil for
// one not asked, that did not answer in time or whose row was refused),
// and this node's own RTT to each (0 unknown; for those not asked,
// what known holds, an earlier round's pings).
func (d *driver) probeAll(ctx context.Context, job string, cands []int, first int, bids []received, known map[int]time.Duration) ([]map[int]time.Duration, []time.Duration) {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	deadline, _ := ctx.Deadline()
	probe := &gossip.RTTProbe{Job: job, Nonce: hex.EncodeToString(nonce[:]), Seq: d.nextSeq(), Sent: time.Now(), Deadline: deadline}
	pos := make(map[string]int, len(cands))
	for i, b := range cands {
		probe.Candidates = append(probe.Candidates, gossip.RTTCandidate{Peer: bids[b].from.String(), Addrs: firstAddrs(bids[b].bid.Addrs)})
		pos[bids[b].from.String()] = i
	}
	rows := make([]map[int]time.Duration, len(cands))
	own := make([]time.Duration, len(cands))
	for i, b := range cands[:first] {
		own[i] = known[b]
	}
	asked := cands[first:]
	done := make(chan struct{}, 2*len(asked))
	for x, b := range asked {
		i := first + x
		from := bids[b].from
		go func() {
			defer func() { done <- struct{}{} }()
			data, err := d.send(ctx, from, bids[b].bid.Addrs, RTTRoundProtocol, probe, maxRowBytes)
			if err != nil {
				d.log.Debug("no RTT row", "peer", short(from), "err", err)
				return
			}
			row, err := readRow(data, probe, from, pos, time.Now())
			if err != nil {
				d.violation(from, "rtt row", err)
				return
			}
			rows[i] = row
		}()
		go func() {
			defer func() { done <- struct{}{} }()
			own[i] = d.pingMin(ctx, from, ownPings)
		}()
	}
	for range 2 * len(asked) {
		<-done
	}
	return rows, own
}

// firstAddrs is at most the first eight of addrs, as a probe carries them.
func firstAddrs(addrs []string) []string { return addrs[:min(len(addrs), 8)] }

// ownPings is how many times the requester pings each candidate in a
// round; it keeps the least. A ping's noise (a busy host, a queue) only
// ever adds, and the requester's figures are the evidence a candidate's
// reputation is charged on, so they are worth a second sample; the
// second costs one more round trip to the candidate, while the row takes
// about two.
const ownPings = 2

// pingMin is the least of up to n pings to p, 0 when none answered before
// ctx ended.
func (d *driver) pingMin(ctx context.Context, p peer.ID, n int) time.Duration {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := ping.Ping(ctx, d.d.Host, p)
	var least time.Duration
	for range n {
		select {
		case res, ok := <-results:
			if !ok || res.Error != nil {
				return least
			}
			if least == 0 || res.RTT < least {
				least = res.RTT
			}
		case <-ctx.Done():
			return least
		}
	}
	return least
}

// readRow decodes the signed row from answering probe, and returns its
// RTTs by candidate position (pos maps a candidate's peer ID to it); a
// failed ping counts as unreachable. It refuses a row not signed by from,
// for another job or round, and drops entries about peers that are not
// candidates, and about from itself.
func readRow(data []byte, probe *gossip.RTTProbe, from peer.ID, pos map[string]int, now time.Time) (map[int]time.Duration, error) {
	msg, signer, err := gossip.Decode(data, []gossip.Type{gossip.RTTRowType}, now, maxRowBytes, time.Minute)
	if err != nil {
		return nil, err
	}
	if signer != from {
		return nil, fmt.Errorf("%w: row signed by %s, asked of %s", errForged, short(signer), short(from))
	}
	row := msg.(*gossip.RTTRow)
	if row.Job != probe.Job || row.Nonce != probe.Nonce {
		return nil, fmt.Errorf("%w: row for another job or round", gossip.ErrInvalid)
	}
	out := make(map[int]time.Duration, len(row.RTTs))
	for _, r := range row.RTTs {
		i, ok := pos[r.Peer]
		if !ok || r.Peer == from.String() {
			continue
		}
		if r.Err != "" {
			out[i] = unreachable
		} else {
			out[i] = r.RTT
		}
	}
	return out, nil
}

// roundVerdict is what a round's rows establish.
type roundVerdict struct {
	// pairs are the measured RTTs, by pair of candidate positions (lower first).
	pairs map[[2]int]time.Duration
	// distrusted are the candidates whose reports were dropped, and why;
	// charged those of them this node's own pings contradicted, whose
	// reputation is charged.
	distrusted map[int]string
	charged    map[int]bool
	// both are the pairs both of whose ends reported, both trusted.
	both map[[2]int]bool
	// answered, reports: rows taken, and RTTs reported in them.
	answered, reports int
}

// judge turns the candidates' rows (by position, nil for none) and this
// node's own RTTs to them (0 unknown) into measured pairs. Each report is
// checked against what the other end reported, when it did, and against
// the least RTT the triangle inequality allows from this node's own pings,
// |own[a] - own[b]|, when both are known; it is contradicted when it is
// below a contradictFactor-th of the other figure and more than
// consistencySlack under it. A
// candidate with at least minContradicted contradicted reports, more than
// half of those checked, is distrusted: its reports are dropped. It is
// charged too when at least minContradicted of them are contradicted by
// this node's own pings: first-hand evidence, where the other ends' word
// may be a busy host's noise (or a framer's). A pair's
// RTT is the larger of its trusted ends' reports; a pair with none stays
// unmeasured.
func judge(peers []peer.ID, rows []map[int]time.Duration, own []time.Duration) roundVerdict {
	v := roundVerdict{pairs: map[[2]int]time.Duration{}, distrusted: map[int]string{}, charged: map[int]bool{}, both: map[[2]int]bool{}}
	contradicts := func(report, floor time.Duration) bool {
		return report*contradictFactor < floor && floor-report > consistencySlack
	}
	for a, row := range rows {
		if row == nil {
			continue
		}
		v.answered++
		v.reports += len(row)
		checked, byOthers, byUs := 0, 0, 0
		var example string
		for b, r := range row {
			other, withOther := rows[b][a]
			withOwn := own[a] > 0 && own[b] > 0
			floor := max(own[a]-own[b], own[b]-own[a])
			if !withOther && !withOwn {
				continue
			}
			checked++
			if withOwn && contradicts(r, floor) {
				byUs++
				example = fmt.Sprintf("reported %s to %s, but this node's own pings (%s and %s) put that pair at least %s apart",
					human.Millis(r), short(peers[b]), human.Millis(own[a]), human.Millis(own[b]), human.Millis(floor))
			} else if withOther && contradicts(r, other) {
				byOthers++
				if example == "" {
					example = fmt.Sprintf("reported %s to %s, which measured %s", human.Millis(r), short(peers[b]), human.Millis(other))
				}
			}
		}
		if bad := byOthers + byUs; bad >= minContradicted && 2*bad > checked {
			v.distrusted[a] = fmt.Sprintf("%d of its %d checked reports contradicted, e.g. %s", bad, checked, example)
			v.charged[a] = byUs >= minContradicted
		}
	}
	for a, row := range rows {
		if _, out := v.distrusted[a]; out || row == nil {
			continue
		}
		for b, r := range row {
			key := [2]int{min(a, b), max(a, b)}
			if _, seen := v.pairs[key]; seen {
				v.both[key] = true // the other end's report came first
			}
			v.pairs[key] = max(v.pairs[key], r)
		}
	}
	return v
}

// summary is the round's event text: "measured 12 candidates: 66 pairs
// in 41 ms; 2 did not answer; 1 report distrusted".
func (v roundVerdict) summary(candidates int, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "measured %s: %s in %s (%s reported)", human.Plural(candidates, "candidate"), human.Plural(len(v.pairs), "pair"),
		human.Millis(took), human.Plural(v.reports, "RTT"))
	if n := candidates - v.answered; n > 0 {
		fmt.Fprintf(&b, "; %d did not answer", n)
	}
	if n := len(v.distrusted); n > 0 {
		fmt.Fprintf(&b, "; %s distrusted", human.Plural(n, "candidate"))
	}
	return b.String()
}
