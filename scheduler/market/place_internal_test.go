package market

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p/coord"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// placeDriver is a driver for one job of k workers with one-worker bids
// at prices from the given peers, none excluded or busy.
func placeDriver(t *testing.T, spec Spec, prices map[peer.ID]float64) *driver {
	t.Helper()
	_, self := roundPeer(t)
	c := &core{self: self, d: Deps{Book: &reputation.Book{}, Coordinate: func() (coord.Coordinate, bool) { return coord.Coordinate{}, false }}}
	r := &requester{core: c, jobs: map[string]*job{}}
	rep := 0.5
	spec.MinReputation = &rep
	req := &gossip.JobRequest{ID: gossip.NewJobID(), Workers: spec.Workers}
	j := newJob(req, spec, "requester", time.Now())
	for p, price := range prices {
		j.received = append(j.received, received{bid: &gossip.Bid{Price: price, Workers: 1}, from: p})
	}
	return &driver{requester: r, j: j}
}

// TestRequesterRTTCostWeighsOwnPings: with requester_rtt_cost a dearer
// provider near the requester wins over a cheaper far one, by the
// requester's own pings; without it the cheaper one wins.
func TestRequesterRTTCostWeighsOwnPings(t *testing.T) {
	_, near := roundPeer(t)
	_, far := roundPeer(t)
	prices := map[peer.ID]float64{near: 1.00, far: 0.80}
	pick := func(cost float64) peer.ID {
		d := placeDriver(t, Spec{Workers: 1, RequesterRTTCost: cost}, prices)
		d.ownRTT = map[int]time.Duration{}
		for i, b := range d.j.received {
			d.ownRTT[i] = map[peer.ID]time.Duration{near: 5 * ms, far: 120 * ms}[b.from]
		}
		res, idx := d.place(nil, nil)
		if !res.Feasible || len(res.Chosen) != 1 {
			t.Fatalf("cost %v: no single choice: %s", cost, res.Explain())
		}
		return d.j.received[idx[res.Chosen[0].Index]].from
	}
	if got := pick(0); got != far {
		t.Errorf("without requester_rtt_cost chose %s, want the cheaper far provider", short(got))
	}
	// 0.01 per ms: the far provider counts 1.15 dearer, the near one 0.05.
	if got := pick(0.01); got != near {
		t.Errorf("with requester_rtt_cost 0.01 chose %s, want the near provider", short(got))
	}
}

// TestRequesterRTTCostRefusedOutOfRange: a negative or absurd weight is a
// bad spec.
func TestRequesterRTTCostRefusedOutOfRange(t *testing.T) {
	for _, c := range []float64{-0.01, 1e6} {
		if _, err := (Spec{RequesterRTTCost: c}).Normalize(DefaultConfig()); err == nil {
			t.Errorf("requester_rtt_cost %v accepted", c)
		}
	}
	if _, err := (Spec{RequesterRTTCost: 0.02}).Normalize(DefaultConfig()); err != nil {
		t.Errorf("requester_rtt_cost 0.02 refused: %v", err)
	}
}

// TestTiesFollowTheJobSeed: two equal bids are split by the job's seed,
// not by peer ID: over many jobs each provider wins some ties.
func TestTiesFollowTheJobSeed(t *testing.T) {
	_, a := roundPeer(t)
	_, b := roundPeer(t)
	wins := map[peer.ID]int{}
	for range 40 {
		d := placeDriver(t, Spec{Workers: 1}, map[peer.ID]float64{a: 1, b: 1})
		res, idx := d.place(nil, nil)
		if !res.Feasible {
			t.Fatal(res.Explain())
		}
		wins[d.j.received[idx[res.Chosen[0].Index]].from]++
	}
	if wins[a] == 0 || wins[b] == 0 {
		t.Errorf("ties over 40 jobs: %d and %d wins, want both providers to win some", wins[a], wins[b])
	}
}

// TestRequesterRTTCostWithoutRTTs: with no coordinate of its own and no
// ping to every bidder, the weight is not applied (a job is never failed
// for it) and the job says so once.
func TestRequesterRTTCostWithoutRTTs(t *testing.T) {
	_, a := roundPeer(t)
	_, b := roundPeer(t)
	d := placeDriver(t, Spec{Workers: 1, RequesterRTTCost: 0.01}, map[peer.ID]float64{a: 1, b: 0.8})
	d.ownRTT = map[int]time.Duration{0: 5 * ms} // one bidder pinged, not the other
	for range 2 {
		if res, _ := d.place(nil, nil); !res.Feasible {
			t.Fatalf("not placed: %s", res.Explain())
		}
	}
	n := 0
	for _, e := range d.j.view.Events {
		if e.Kind == "requester_rtt" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d requester_rtt events, want 1", n)
	}
}
