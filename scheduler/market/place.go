package market

import (
	"context"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/p2p/coord"
	"github.com/gpumesh/gpumesh/scheduler/placement"
)

// The place stage: scheduler/placement chooses the cluster among the bids
// not excluded, with the RTTs the winners measured so far, and the choice
// becomes members with ranks (propose).

// unreachable stands for the RTT of a pair whose ping failed.
const unreachable = time.Hour

// place runs placement over the bids not excluded, with the RTTs measured
// so far; it returns the result and the bid index of each placement bid.
func (d *driver) place(excluded map[int]*exclusion, measured map[[2]int]time.Duration) (placement.Result, []int) {
	preq, pb, idx := d.placeInput(excluded)
	opts := []placement.Option{placement.WithSeed(d.j.seed())}
	if len(measured) > 0 {
		opts = append(opts, placement.WithMeasured(func(a, b int) (time.Duration, bool) {
			d, ok := measured[pair(idx[a], idx[b])]
			return d, ok
		}))
	}
	res, err := placement.Place(preq, pb, opts...)
	if err != nil {
		return placement.Result{Summary: placement.Summary{Request: preq}}, idx
	}
	return res, idx
}

// placeInput is placement's request and bids for the job's bids not
// excluded, with the bid index of each placement bid.
func (d *driver) placeInput(excluded map[int]*exclusion) (placement.Request, []placement.Bid, []int) {
	j := d.j
	bids := j.bids()
	busy := d.busy(j)
	req := j.request()
	per := devicesPerWorker(req)
	var pb []placement.Bid
	var idx []int
	for i, b := range bids {
		if _, out := excluded[i]; out {
			continue
		}
		workers := b.bid.Workers - busy[b.from]
		if workers <= 0 {
			continue // its devices went to another of our jobs
		}
		// A provider with no coordinate yet sits at the origin: placement
		// then trusts the winners' pings to check the bound.
		c := coord.Coordinate{Vec: make([]float64, coord.Dimensions)}
		if b.bid.Coord != nil {
			c = *b.bid.Coord
		}
		pb = append(pb, placement.Bid{ID: b.from.String(), Price: b.bid.Price * float64(per), Coord: c,
			Reputation: d.d.Book.Score(b.from), Class: b.bid.Class, Workers: workers, RequesterRTT: d.ownRTT[i]})
		idx = append(idx, i)
	}
	preq := placement.Request{K: req.Workers, MaxRTT: req.MaxRTT, MaxPrice: req.MaxPrice * float64(per),
		MinReputation: *j.view.Spec.MinReputation, Class: req.PerWorker.Class, Requester: d.requesterEndpoint(per)}
	return preq, pb, idx
}

// requesterEndpoint is this node as placement weighs it when the job asks
// (Spec.RequesterRTTCost, per device-hour, so per worker-hour times the
// devices of a worker): nil when it does not. Without a coordinate of its
// own, RTTs to this node come only from the measured round's pings, and
// the weight applies only when that round pinged every bidder.
func (d *driver) requesterEndpoint(devicesPerWorker int) *placement.Endpoint {
	w := d.j.view.Spec.RequesterRTTCost
	if w <= 0 {
		return nil
	}
	e := &placement.Endpoint{PerMs: w * float64(devicesPerWorker)}
	if c, ok := d.d.Coordinate(); ok {
		e.Coord = c
		return e
	}
	for i := range d.j.bids() {
		if d.ownRTT[i] <= 0 {
			d.noteUnweighed()
			return nil // weighing only some bids would drop the others
		}
	}
	return e
}

// noteUnweighed says once, on the job, that its requester_rtt_cost was
// not applied.
func (d *driver) noteUnweighed() {
	if d.unweighed {
		return
	}
	d.unweighed = true
	d.j.note("requester_rtt", "", "requester_rtt_cost not applied: this node has no network coordinate yet and did not ping every bidder")
}

// member is a provider of a proposed cluster.
type member struct {
	bid      int // index of its bid in the job's bids (or its failover request's)
	peer     peer.ID
	ranks    []int
	accepted bool
	awardSeq uint64
	// From its bid: the request it answered, where to reach it, its price,
	// class, coordinate and how many workers it offered.
	req     string
	addrs   []string
	price   float64
	class   string
	coord   *coord.Coordinate
	workers int
	// attempt is 0 for a first member, n for the n-th replacement of its
	// ranks; replaces is the provider it replaced.
	attempt  int
	replaces peer.ID
	// wallet is the payout wallet its bid named (with a valid proof), the
	// zero address if none: its receipts' vouchers pay no other.
	wallet common.Address
}

// newMember is the member the i-th bid of bids (a job's or a failover
// request's, req) makes.
func newMember(req string, bids []received, i int) *member {
	b := bids[i]
	return &member{bid: i, peer: b.from, req: req, addrs: b.bid.Addrs, price: b.bid.Price, class: b.bid.Class, coord: b.bid.Coord,
		workers: b.bid.Workers, wallet: b.wallet}
}

// propose turns placement's choice into the cluster's members, ranks in
// the order placement chose, cheapest first: a winner that already
// accepted keeps the ranks it accepted (its reservation is for those), so
// the others fill the ranks left; one chosen for another number of
// workers than it accepted is released first. It returns the members and
// the peer of each rank.
func (d *driver) propose(ctx context.Context, st *rounds, res placement.Result, idx []int) ([]*member, []string) {
	req := d.j.request()
	bids := d.j.bids()
	var cluster []*member
	peers := make([]string, req.Workers)
	used := map[int]bool{}
	for _, a := range res.Chosen {
		if mb := st.held[idx[a.Index]]; mb != nil && len(mb.ranks) == a.Workers {
			for _, r := range mb.ranks {
				used[r] = true
			}
		}
	}
	next := 0
	for _, a := range res.Chosen {
		i := idx[a.Index]
		mb := st.held[i]
		if mb != nil && len(mb.ranks) != a.Workers {
			// Its accepted award is for another number of workers.
			d.releaseOne(ctx, mb, "chosen again for another number of workers")
			delete(st.held, i)
			mb = nil
		}
		if mb == nil {
			mb = newMember(req.ID, bids, i)
			for range a.Workers {
				for used[next] {
					next++
				}
				mb.ranks = append(mb.ranks, next)
				used[next] = true
			}
		}
		for _, r := range mb.ranks {
			peers[r] = mb.peer.String()
		}
		cluster = append(cluster, mb)
	}
	return cluster, peers
}

// pair is the key of the pair of bids a and b, in either order.
func pair(a, b int) [2]int { return [2]int{min(a, b), max(a, b)} }
