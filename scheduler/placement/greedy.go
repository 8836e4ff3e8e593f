package placement

import (
	"cmp"
	"slices"
	"time"
)

// walk is one greedy group grown around an anchor: its members (the
// anchor first, then in the order added), their workers and score.
type walk struct {
	members []int
	workers int
	score   float64
}

// seeds is how many walks per anchor start from the anchor and one of the
// first bids of its ball other than the one the plain walk adds first.
const seeds = 3

// ball is the bids within MaxRTT of the current anchor, in price order,
// found lazily: each walk reads as far as it needs.
type ball struct {
	s      *solver
	anchor int
	next   int // next position to estimate
	pos    []int
	dist   []time.Duration
}

func (b *ball) reset(anchor int) {
	b.anchor, b.next, b.pos, b.dist = anchor, 0, b.pos[:0], b.dist[:0]
}

// grow estimates RTTs to the anchor until one more bid is in the ball; false
// when none is left.
func (b *ball) grow() bool {
	for ; b.next < len(b.s.pos); b.next++ {
		if b.next == b.anchor {
			continue
		}
		if d := b.s.rtt(b.anchor, b.next); d <= b.s.req.MaxRTT {
			b.pos, b.dist = append(b.pos, b.next), append(b.dist, d)
			b.next++
			return true
		}
	}
	return false
}

// greedy is Place's search (see the package doc). For each anchor, walks
// read the anchor's ball in price order and add a bid when it fits every
// member so far: bids after the anchor (the anchor as the group's cheapest
// member); the same seeded with one of the next seeds bids of the ball (in
// case the plain walk's first pick shuts out a cheaper group); any bid of
// the ball (the anchor as a member); and any bid within MaxRTT/2 (the
// anchor as the centre of a ball whose members are within MaxRTT of each
// other when RTTs obey the triangle inequality, the walk least likely to be
// shut out by a member at the edge). While no group has been found, a last
// walk adds the ball's bids nearest first, the order most likely to
// complete a group. The best group found is then improved (improve).
func (s *solver) greedy() {
	K, bound := s.req.K, s.req.MaxRTT
	if bound == 0 || s.total < K {
		return
	}
	m := len(s.pos)
	b := &ball{s: s}
	w := &walk{members: make([]int, 0, K)}
	a := 0
	for ; a < m && s.stats.Anchors < s.o.anchors; a++ {
		if s.found && s.lowerBound(a) >= s.best.score {
			a = m // no group whose cheapest member comes later can win
			break
		}
		s.stats.Anchors++
		b.reset(a)
		s.walk(b, w, bound, true, -1)
		// Seeds: the bids of the ball after the anchor, but the first.
		n := 0
		for t := 0; n <= seeds; t++ {
			if t == len(b.pos) && !b.grow() {
				break
			}
			if b.pos[t] < a {
				continue
			}
			if n > 0 {
				s.walk(b, w, bound, true, b.pos[t])
			}
			n++
		}
		s.walk(b, w, bound, false, -1)
		s.walk(b, w, bound/2, false, -1)
		if !s.found {
			s.nearest(b)
		}
	}
	s.anchorUpTo = a
	s.improve()
}

// walk grows one group from the anchor of b (and seed, if not -1) over
// the ball's bids within radius of the anchor (only those after it in price
// order if after), and records it.
func (s *solver) walk(b *ball, w *walk, radius time.Duration, after bool, seed int) {
	K := s.req.K
	a := b.anchor
	w.members = append(w.members[:0], a)
	w.workers = s.work[a]
	w.score = float64(w.workers) * s.eff[a]
	add := func(j int) {
		take := min(s.work[j], K-w.workers)
		w.members = append(w.members, j)
		w.workers += take
		w.score += float64(take) * s.eff[j]
	}
	if seed >= 0 && w.workers < K {
		add(seed)
	}
	scanned := 0
	for t := 0; w.workers < K; t++ {
		if t == len(b.pos) && !b.grow() {
			break
		}
		j, d := b.pos[t], b.dist[t]
		if s.found && w.score+float64(K-w.workers)*s.eff[j] >= s.best.score {
			break // cannot beat the best group any more
		}
		if j == seed || after && j < a || d > radius {
			continue
		}
		if scanned++; scanned > s.o.scan {
			break
		}
		if s.fits(w.members[1:], j) {
			add(j)
		}
	}
	// The walk filled the anchor first; its members, filled cheapest
	// first, may cost less and need fewer of them.
	slices.Sort(w.members)
	members, workers, score := s.fill(w.members)
	s.record(members, workers, score)
}

// nearest grows a group around the anchor of b from its whole ball,
// nearest first.
func (s *solver) nearest(b *ball) {
	for b.grow() {
	}
	order := make([]int, len(b.pos))
	for t := range order {
		order[t] = t
	}
	slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(b.dist[x], b.dist[y]) })
	members, w := []int{b.anchor}, s.work[b.anchor]
	for x, t := range order {
		if w >= s.req.K || x >= s.o.scan {
			break
		}
		if j := b.pos[t]; s.fits(members[1:], j) {
			members = append(members, j)
			w += s.work[j]
		}
	}
	slices.Sort(members)
	members, workers, score := s.fill(members)
	s.record(members, workers, score)
}

// improveRounds bounds how many times improve restarts from a better group.
const improveRounds = 4

// improve is a local search around the best group G. Its moves, tried in
// turn until one finds a better group:
//
//   - single: for each member g, drop g (or g and every member dearer than
//     g) and refill the group greedily, in price order, with bids that fit
//     every member kept, g excluded;
//   - pair: for each two members g and h, drop both and refill, both
//     excluded. A single swap cannot leave a group in which every cheaper
//     group differs by two members (two bids that only fit each other);
//     the pair move can (TestPairSwapInstances keeps such instances).
//
// It restarts from any better group found, at most improveRounds times.
// This repairs the greedy's typical miss, a cheap bid at the edge of an
// anchor's ball that shut out closer ones.
func (s *solver) improve() {
	if !s.found {
		return
	}
	for range improveRounds {
		if !s.singleMoves() && (s.o.noPairs || !s.pairMoves()) {
			return
		}
	}
}

// singleMoves tries the single moves on the best group; true when one
// found a better group.
func (s *solver) singleMoves() bool {
	g, score := slices.Clone(s.best.members), s.best.score
	for x := len(g) - 1; x >= 0 && s.best.score == score; x-- {
		without := append(slices.Clone(g[:x]), g[x+1:]...)
		s.refill(without, g[x], -1)
		if x > 0 && x < len(g)-1 && s.best.score == score {
			s.refill(slices.Clone(g[:x]), g[x], -1)
		}
	}
	return s.best.score < score
}

// pairMoves tries the pair moves on the best group; true when one found a
// better group.
func (s *solver) pairMoves() bool {
	g, score := slices.Clone(s.best.members), s.best.score
	for x := len(g) - 1; x >= 0; x-- {
		for y := x - 1; y >= 0 && s.best.score == score; y-- {
			kept := make([]int, 0, len(g))
			for z, p := range g {
				if z != x && z != y {
					kept = append(kept, p)
				}
			}
			s.refill(kept, g[x], g[y])
		}
	}
	return s.best.score < score
}

// refill completes kept (ascending positions, fewer than K workers) with
// the cheapest bids that fit every member, never excluded or also (-1 for
// none), checking at most the scan limit of bids, and records the group.
func (s *solver) refill(kept []int, excluded, also int) {
	K := s.req.K
	members, w, score := s.fill(kept)
	scanned := 0
	for j := 0; j < len(s.pos) && w < K; j++ {
		if score+float64(K-w)*s.eff[j] >= s.best.score {
			return // cannot beat the best group
		}
		if j == excluded || j == also || slices.Contains(members, j) {
			continue
		}
		if scanned++; scanned > s.o.scan {
			return
		}
		if !s.fits(members, j) {
			continue
		}
		take := min(s.work[j], K-w)
		members = append(members, j)
		w += take
		score += float64(take) * s.eff[j]
	}
	slices.Sort(members)
	members, w, score = s.fill(members)
	s.record(members, w, score)
}
