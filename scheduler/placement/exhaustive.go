package placement

import "math"

// Exhaustive is the exact answer to what Place approximates, for tests and
// benchmarks on small inputs (tens of bids): a branch and bound over every
// group of pairwise compatible bids, taken in order of effective price. It
// estimates every pair's RTT once (n x (n-1) / 2 estimates) and takes time
// exponential in the worst case. The bound starts at Place's answer; a
// branch is cut when the cheapest possible completion cannot beat the best
// group, or when the compatible bids left cannot add enough workers to
// reach K or to beat the largest group seen (so Summary.LargestGroup is
// exact). Reasons are given as by Place.
func Exhaustive(req Request, bids []Bid, opts ...Option) (Result, error) {
	s, err := newSolver(req, bids, opts)
	if err != nil {
		return Result{}, err
	}
	s.greedy()
	s.exact()
	return s.result(), nil
}

// exact runs the branch and bound on top of greedy's best group.
func (s *solver) exact() {
	K, bound := s.req.K, s.req.MaxRTT
	if bound == 0 || s.total < K {
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
	var dfs func(cand []int, w int, score float64)
	dfs = func(cand []int, w int, score float64) {
		s.stats.Nodes++
		depth := len(members)
		for x, j := range cand {
			if s.found && score+float64(K-w)*s.eff[j] >= s.best.score {
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
			if reach := w + take + reach; reach >= K || reach > s.largest {
				dfs(next, w+take, score+float64(take)*s.eff[j])
			}
			members = members[:depth]
		}
	}
	dfs(all, 0, 0)
	s.anchorUpTo = m
}
