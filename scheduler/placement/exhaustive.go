package placement

import "math"

// Exhaustive is the exact answer to what Place approximates, for tests and
// benchmarks on small inputs (tens of bids): a branch and bound over every
// group of pairwise compatible bids, taken in order of effective price. It
// estimates every pair's RTT once (n x (n-1) / 2 estimates) and takes time
// exponential in the worst case: unlike Place's exact stage it has no node
// budget. The bound starts at Place's answer; a branch is cut when the
// cheapest possible completion from the compatible bids left cannot beat
// the best group, or when those bids cannot add enough workers to reach K
// or to beat the largest group seen (so Summary.LargestGroup is exact).
// Reasons are given as by Place.
func Exhaustive(req Request, bids []Bid, opts ...Option) (Result, error) {
	s, err := newSolver(req, bids, opts)
	if err != nil {
		return Result{}, err
	}
	s.greedy()
	s.exact(math.MaxInt)
	return s.result(), nil
}

// exact runs the branch and bound on top of the best group found so far,
// visiting at most limit search nodes. It sets Stats.Optimal when it
// finished within the limit: the best group is then the optimum on the RTTs
// given (and LargestGroup exact). Stopped early, it keeps the best group
// found, which is never worse than the one it started from.
func (s *solver) exact(limit int) {
	K, bound := s.req.K, s.req.MaxRTT
	if bound == 0 || s.total < K {
		s.stats.Optimal = true // fillCheapest's answer, or none exists
		return
	}
	m := len(s.pos)
	compat := make([]bool, m*m)
	for p := range m {
		for q := p + 1; q < m; q++ {
			ok := s.rtt(p, q) <= bound
			compat[p*m+q], compat[q*m+p] = ok, ok
		}
	}
	all := make([]int, m)
	for p := range all {
		all[p] = p
	}
	bufs := make([][]int, K+1) // candidates by depth, reused
	members := make([]int, 0, K)
	stopped := false
	var dfs func(cand []int, w int, score float64)
	dfs = func(cand []int, w int, score float64) {
		if s.stats.Nodes >= limit {
			stopped = true
			return
		}
		s.stats.Nodes++
		depth := len(members)
		for x, j := range cand {
			if stopped {
				return
			}
			if s.found && score+s.completion(cand[x:], K-w) >= s.best.score {
				return // later candidates cost at least as much
			}
			take := min(s.work[j], K-w)
			members = append(members, j)
			if w+take == K {
				s.record(members, K, score+float64(take)*s.eff[j])
				members = members[:depth]
				return // any later candidate completes at a higher score
			}
			next, reach := bufs[depth][:0], 0
			for _, c := range cand[x+1:] {
				if compat[j*m+c] {
					next = append(next, c)
					reach += s.work[c]
				}
			}
			bufs[depth] = next
			s.record(members, w+take, math.Inf(1))
			sc := score + float64(take)*s.eff[j]
			if reach := w + take + reach; reach >= K && (!s.found || sc+s.completion(next, K-w-take) < s.best.score) || reach < K && reach > s.largest {
				dfs(next, w+take, sc)
			}
			members = members[:depth]
		}
	}
	dfs(all, 0, 0)
	if !stopped {
		s.stats.Optimal = true
		s.anchorUpTo = m
	}
}

// completion is the least score of need more workers taken from cand
// (positions in price order) ignoring RTT: a lower bound on any completion
// of a group from them; +Inf when they host fewer.
func (s *solver) completion(cand []int, need int) float64 {
	score := 0.0
	for _, p := range cand {
		if need <= 0 {
			break
		}
		take := min(s.work[p], need)
		need -= take
		score += float64(take) * s.eff[p]
	}
	if need > 0 {
		return math.Inf(1)
	}
	return score
}
