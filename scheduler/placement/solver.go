package placement

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gpumesh/gpumesh/internal/human"
	"github.com/gpumesh/gpumesh/p2p/coord"
)

// group is a set of eligible positions with the workers each takes.
type group struct {
	members []int // positions, ascending
	workers int
	score   float64
}

// solver holds one decision's state. Positions index the eligible bids in
// order of effective price.
type solver struct {
	req   Request
	bids  []Bid
	o     options
	stats Stats

	reject []Rejection // by bid index; Reason "" while eligible
	pos    []int       // bid index by position
	at     []int       // position by bid index, -1 if not eligible
	eff    []float64   // unit score by position: effective price, plus the requester's RTT term

	toRequester []time.Duration // RTT to the requester by bid index (0 without one)
	work        []int           // workers usable by position, at most K
	total       int             // sum of work

	found      bool
	best       group
	cheap      group
	largest    int
	inGroup    []float64 // by position: score of the cheapest complete group found with it, +Inf if none
	largestAt  []int     // by position: most workers of a group found with it
	anchorUpTo int       // positions before it were tried as anchors
}

func newSolver(req Request, bids []Bid, opts []Option) (*solver, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	s := &solver{req: req, bids: bids}
	for _, opt := range opts {
		if err := opt(&s.o); err != nil {
			return nil, err
		}
	}
	if s.o.anchors == 0 {
		s.o.anchors = AnchorsPerWorker * req.K
	}
	if s.o.scan == 0 {
		s.o.scan = ScanPerWorker * req.K
	}
	if s.o.exactBids == 0 {
		s.o.exactBids = ExactBids
	}
	if s.o.exactNodes == 0 {
		s.o.exactNodes = ExactNodes
	}
	checkCoords := s.o.rtt == nil
	if checkCoords {
		s.o.rtt = func(i, j int) time.Duration { return coord.EstimateRTT(bids[i].Coord, bids[j].Coord) }
	}
	if measured, estimate := s.o.measured, s.o.rtt; measured != nil {
		s.o.rtt = func(i, j int) time.Duration {
			if d, ok := measured(i, j); ok {
				return d
			}
			return estimate(i, j)
		}
	}
	s.filter(checkCoords)
	s.rank()
	s.fillCheapest()
	return s, nil
}

// filter records the first failed check of every bid.
func (s *solver) filter(checkCoords bool) {
	r := s.req
	s.reject = make([]Rejection, len(s.bids))
	seen := make(map[string]int, len(s.bids))
	for i, b := range s.bids {
		var reason Reason
		var detail string
		switch {
		case b.ID == "":
			reason, detail = ReasonInvalid, "empty ID"
		case seen[b.ID] > 0:
			reason, detail = ReasonInvalid, fmt.Sprintf("repeats the ID of bid %d", seen[b.ID]-1)
		case math.IsNaN(b.Price) || math.IsInf(b.Price, 0) || b.Price <= 0:
			reason, detail = ReasonInvalid, fmt.Sprintf("price %v is not positive", b.Price)
		case b.Workers < 1:
			reason, detail = ReasonInvalid, fmt.Sprintf("%d workers", b.Workers)
		case math.IsNaN(b.Reputation) || b.Reputation < 0 || b.Reputation > 1:
			reason, detail = ReasonInvalid, fmt.Sprintf("reputation %v outside 0..1", b.Reputation)
		case checkCoords && b.Coord.Validate() != nil:
			reason, detail = ReasonInvalid, b.Coord.Validate().Error()
		case r.Requester != nil && s.noRequesterRTT(i) != "":
			reason, detail = ReasonInvalid, s.noRequesterRTT(i)
		case r.Class != "" && !strings.EqualFold(b.Class, r.Class):
			reason, detail = ReasonClass, fmt.Sprintf("class %q, the request asks for %q", b.Class, r.Class)
		case r.MaxPrice > 0 && b.Price > r.MaxPrice:
			reason, detail = ReasonOverPrice, fmt.Sprintf("price %s over the maximum %s", money(b.Price), money(r.MaxPrice))
		case b.Reputation < r.MinReputation:
			reason, detail = ReasonReputation, fmt.Sprintf("reputation %.2f below the minimum %.2f", b.Reputation, r.MinReputation)
		}
		if b.ID != "" && seen[b.ID] == 0 {
			seen[b.ID] = i + 1
		}
		if reason != "" {
			s.reject[i] = Rejection{Index: i, ID: b.ID, Reason: reason, Detail: detail}
		}
	}
}

// noRequesterRTT is why bid i has no RTT to the requester, or "".
func (s *solver) noRequesterRTT(i int) string {
	_, why := s.req.requesterRTT(s.bids[i])
	return why
}

// rank orders the eligible bids by unit score (effective price, plus the
// requester's RTT term if any); ties go to the lower price, then the better
// reputation, then the order of tieKey under the seed (WithSeed), then the
// input order, so the decision does not depend on the order of the bids
// and ties do not always go to the same provider.
func (s *solver) rank() {
	s.at = make([]int, len(s.bids))
	unit := make([]float64, len(s.bids))
	key := make([]uint64, len(s.bids))
	s.toRequester = make([]time.Duration, len(s.bids))
	for i, b := range s.bids {
		s.at[i] = -1
		if s.reject[i].Reason == "" {
			s.pos = append(s.pos, i)
			s.toRequester[i], _ = s.req.requesterRTT(b)
			unit[i] = s.req.unitScore(b, s.toRequester[i])
			key[i] = tieKey(s.o.seed, b.ID)
		}
	}
	slices.SortFunc(s.pos, func(i, j int) int {
		a, b := &s.bids[i], &s.bids[j]
		return cmp.Or(cmp.Compare(unit[i], unit[j]), cmp.Compare(a.Price, b.Price),
			cmp.Compare(b.Reputation, a.Reputation), cmp.Compare(key[i], key[j]), cmp.Compare(i, j))
	})
	m := len(s.pos)
	s.eff, s.work = make([]float64, m), make([]int, m)
	s.inGroup, s.largestAt = make([]float64, m), make([]int, m)
	for p, i := range s.pos {
		s.at[i] = p
		s.eff[p] = unit[i]
		s.work[p] = min(s.bids[i].Workers, s.req.K)
		s.total += s.work[p]
		s.inGroup[p] = math.Inf(1)
	}
}

// rtt is the RTT between the bids at positions p and q, counted.
func (s *solver) rtt(p, q int) time.Duration {
	s.stats.RTTEstimates++
	return s.o.rtt(s.pos[p], s.pos[q])
}

// fillCheapest computes the cheapest K workers without a bound; with no
// bound that is the answer.
func (s *solver) fillCheapest() {
	if s.total < s.req.K {
		return
	}
	w, score := 0, 0.0
	for p := 0; w < s.req.K; p++ {
		take := min(s.work[p], s.req.K-w)
		s.cheap.members = append(s.cheap.members, p)
		w += take
		score += float64(take) * s.eff[p]
	}
	s.cheap.workers, s.cheap.score = w, score
	if s.req.MaxRTT == 0 {
		s.record(s.cheap.members, w, score)
	}
}

// lowerBound is the score of the cheapest K workers at positions from on,
// ignoring RTT: no group whose members all sit there costs less.
func (s *solver) lowerBound(from int) float64 {
	w, score := 0, 0.0
	for p := from; p < len(s.pos) && w < s.req.K; p++ {
		take := min(s.work[p], s.req.K-w)
		w += take
		score += float64(take) * s.eff[p]
	}
	if w < s.req.K {
		return math.Inf(1)
	}
	return score
}

// fill assigns workers to members (ascending positions) cheapest first
// and drops the members left without one.
func (s *solver) fill(members []int) (kept []int, workers int, score float64) {
	for x, p := range members {
		if workers == s.req.K {
			return members[:x], workers, score
		}
		take := min(s.work[p], s.req.K-workers)
		workers += take
		score += float64(take) * s.eff[p]
	}
	return members, workers, score
}

// fits is whether the bid at position j is within the bound of every
// member.
func (s *solver) fits(members []int, j int) bool {
	for _, q := range members {
		if s.rtt(q, j) > s.req.MaxRTT {
			return false
		}
	}
	return true
}

// record notes a group found within the bound, complete or not.
func (s *solver) record(members []int, workers int, score float64) {
	s.largest = max(s.largest, workers)
	for _, p := range members {
		s.largestAt[p] = max(s.largestAt[p], workers)
	}
	if workers < s.req.K {
		return
	}
	for _, p := range members {
		s.inGroup[p] = min(s.inGroup[p], score)
	}
	if !s.found || score < s.best.score {
		s.found = true
		s.best = group{members: slices.Clone(members), workers: workers, score: score}
	}
}

// assign fills the group's members cheapest first.
func (s *solver) assign(g group) (out []Assignment, cost, score float64) {
	left := s.req.K
	for _, p := range g.members {
		take := min(s.work[p], left)
		left -= take
		b := s.bids[s.pos[p]]
		out = append(out, Assignment{Index: s.pos[p], ID: b.ID, Workers: take, Price: b.Price, RequesterRTT: s.toRequester[s.pos[p]]})
		cost += float64(take) * b.Price
		score += float64(take) * s.eff[p]
	}
	return out, cost, score
}

// maxRTT is the largest RTT between two members.
func (s *solver) maxRTT(members []int) time.Duration {
	var d time.Duration
	for x, p := range members {
		for _, q := range members[x+1:] {
			d = max(d, s.rtt(p, q))
		}
	}
	return d
}

// result assembles the decision and the reason for every bid not chosen.
func (s *solver) result() Result {
	res := Result{Feasible: s.found}
	sum := Summary{Request: s.req, Bids: len(s.bids), Reasons: map[Reason]int{}, Eligible: len(s.pos),
		EligibleWorkers: s.total, LargestGroup: s.largest}
	if s.cheap.workers == s.req.K {
		c := Cheapest{OK: true}
		c.Chosen, c.Cost, c.Score = s.assign(s.cheap)
		c.MaxRTT = s.maxRTT(s.cheap.members)
		sum.Cheapest = c
	}
	chosen := make([]bool, len(s.pos))
	if s.found {
		res.Chosen, res.Cost, res.Score = s.assign(s.best)
		res.MaxRTT = s.maxRTT(s.best.members)
		for _, p := range s.best.members {
			chosen[p] = true
		}
	}
	bound := s.req.MaxRTT
	for i := range s.bids {
		rej := s.reject[i]
		if p := s.at[i]; p >= 0 {
			if chosen[p] {
				continue
			}
			rej = Rejection{Index: i, ID: s.bids[i].ID}
			switch {
			case s.total < s.req.K:
				rej.Reason = ReasonTooFew
				rej.Detail = fmt.Sprintf("the %d eligible bids host %d workers, %d asked", len(s.pos), s.total, s.req.K)
			case !s.found:
				rej.Reason = ReasonTooFar
				switch {
				case s.largestAt[p] > 0:
					rej.Detail = fmt.Sprintf("the largest group found with it within %s holds %d of %d workers", human.Millis(bound), s.largestAt[p], s.req.K)
				case p >= s.anchorUpTo:
					rej.Detail = fmt.Sprintf("no group found with it within %s (the search tried the %d cheapest bids as anchors)", human.Millis(bound), s.stats.Anchors)
				default:
					rej.Detail = fmt.Sprintf("no group found with it within %s", human.Millis(bound))
				}
			default:
				rej.Reason, rej.Detail = s.explainUnchosen(p)
			}
		}
		sum.Reasons[rej.Reason]++
		res.Rejected = append(res.Rejected, rej)
	}
	res.Summary, res.Stats = sum, s.stats
	return res
}

// explainUnchosen is the reason an eligible bid is not in the chosen,
// feasible group.
func (s *solver) explainUnchosen(p int) (Reason, string) {
	best := s.best.score
	if s.req.MaxRTT > 0 {
		for _, q := range s.best.members {
			if d := s.rtt(p, q); d > s.req.MaxRTT {
				if !math.IsInf(s.inGroup[p], 1) {
					return ReasonNotNeeded, fmt.Sprintf("in a feasible group scoring %s, the chosen one scores %s", money(s.inGroup[p]), money(best))
				}
				return ReasonTooFar, fmt.Sprintf("%s from chosen %s (bound %s)", human.Millis(d), s.bids[s.pos[q]].ID, human.Millis(s.req.MaxRTT))
			}
		}
		return ReasonNotNeeded, fmt.Sprintf("within %s of every chosen provider, but cheaper bids fill the %d workers", human.Millis(s.req.MaxRTT), s.req.K)
	}
	return ReasonNotNeeded, fmt.Sprintf("no RTT bound, and cheaper bids fill the %d workers", s.req.K)
}
