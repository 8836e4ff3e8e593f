package placement

import "fmt"

// ExactBids is the default largest number of eligible bids on which Place
// runs its exact stage: the candidate sets that a scheduler measures (the
// bids coordinates put near each other, whose pairs it then pings) are of
// this size, and there the greedy's misses matter most.
const ExactBids = 32

// ExactNodes is the default node budget of Place's exact stage. Each node
// scans at most ExactBids candidates, so the stage costs at most about
// ExactNodes x ExactBids steps (a few milliseconds) beyond the n x (n-1) / 2
// RTTs it reads; most requests need a few hundred nodes (B4).
const ExactNodes = 20000

// WithExact sets when Place runs its exact stage, the branch and bound of
// Exhaustive over all eligible bids, after the greedy search and starting
// from its answer: when at most bids bids are eligible, visiting at most
// nodes search nodes. Stats.Optimal says whether it finished; stopped by
// the budget, it keeps the best group found, never worse than the
// greedy's. 0 keeps a default (ExactBids, ExactNodes); a negative bids
// turns the stage off.
func WithExact(bids, nodes int) Option {
	return func(o *options) error {
		if nodes < 0 {
			return fmt.Errorf("placement: exact stage budget %d nodes: want 0 (default) or more", nodes)
		}
		o.exactBids, o.exactNodes = bids, nodes
		return nil
	}
}
