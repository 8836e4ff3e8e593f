// Package placement chooses where a job's workers run: given a request for
// K workers whose pairwise round-trip time must stay under a bound, and the
// signed bids of many providers, it picks the cheapest group of bids that
// can host K workers with every pair of chosen providers within the bound.
// It is a pure function of plain data: no I/O, no goroutines, no clock, and
// the same input always gives the same answer.
//
// # Pipeline
//
// Place runs the stages of a scheduler (see Nomad's scheduler/feasible):
//
//  1. Filter, cheapest checks first: invalid bids (bad coordinate,
//     non-positive price or workers, reputation outside 0..1, empty or
//     duplicate ID), then class, price cap and minimum reputation. Each
//     rejected bid records the first check it failed.
//
//  2. Rank the rest by unit score, the effective price
//     (Bid.EffectivePrice)
//
//     effective = price x (1 + ReputationWeight x (1 - reputation))
//
//     with ReputationWeight = 0.1: a bid of reputation 0 ranks as if it
//     asked 10 % more, so between equal prices the better reputation wins,
//     and between equal reputations the lower price always wins (the
//     effective price is then the price times one common factor). When
//     the request has a Requester (Endpoint), each worker also costs
//     PerMs x its provider's RTT to the requester in ms. The score Place
//     minimises is the sum of this unit score x workers over the chosen
//     bids; Result.Cost is the sum of the real prices. Bids equal in
//     score, price and reputation are ordered by a hash of their ID keyed
//     with a seed (WithSeed, derived by the scheduler from the job ID), so
//     ties do not all go to one provider and no ID wins them by design.
//
//  3. Search for a group (below), then give every bid not chosen its reason.
//
// A provider may host several workers; workers on one provider are 0 ms
// apart, so the bound applies between distinct chosen providers only. For a
// given group of providers the cheapest assignment fills the cheapest
// provider first, so a search only has to choose the group.
//
// # Search and its cost
//
// Place tries anchors in order of effective price. For each anchor it
// finds, lazily and in price order, the bids within MaxRTT of it (its
// ball), and grows groups from it greedily: a walk reads the ball and adds
// each bid within MaxRTT of every member so far, until K workers are
// placed (a greedy clique). The walks per anchor are:
//
//   - bids after the anchor in price order (the anchor as the group's
//     cheapest member);
//   - the same, seeded with each of the 2nd to 4th such bids (the plain
//     walk's first pick may sit at the edge and shut out a cheaper group);
//   - any bid of the ball (the anchor as a member);
//   - any bid within MaxRTT/2 (the anchor as the centre of a ball whose
//     members are within MaxRTT of each other when RTTs obey the triangle
//     inequality);
//   - while no group has been found at all, the ball's bids nearest first,
//     the order most likely to complete a group.
//
// The cheapest complete group is then improved by a local search: drop one
// member (or one member and all dearer ones) and refill greedily without
// it; failing that, drop two members and refill without both (a group
// whose cheaper neighbours all differ in two members, two bids that only
// fit each other, is beyond single swaps); restart from any better group,
// at most 4 times. Work is bounded:
//
//   - At most AnchorsPerWorker x K anchors are tried (WithLimits changes
//     it), and the search stops once the cheapest K workers at or after the
//     next anchor cost at least the best group found: no group whose
//     cheapest member comes later can win. A walk stops as soon as its
//     cheapest possible completion cannot beat the best group.
//   - A walk or refill checks at most ScanPerWorker x K bids against its
//     members.
//
// With A anchors, a scan limit S and 7 walks, a request costs at most
// A x (n + 7 x S x K) + 4 x (2K + K(K-1)/2) x S x K RTT estimates to
// search (the pair refills usually stop at once: their cheapest possible
// completion cannot beat the group), plus n x K
// to give the reasons: O(K x n) for fixed limits, never the n x n of all
// pairs. Stats counts them; B4 measures, at n = 1000 (about 640 eligible
// bids), about 1,200 estimates per request on average for k = 4 and 7,500
// for k = 16, against 205,000 pairs.
//
// The greedy can miss the optimum: a cheap bid near an anchor may shut out
// a cheaper combination of bids closer to each other, and the seeds and the
// local search repair only misses one or two members away; a group whose
// members are all beyond the tried anchors is never built. The tests
// measure the misses against Exhaustive, an exact branch and bound for
// small inputs, and keep instances that single swaps miss.
//
// # Exact stage
//
// When at most ExactBids (32) bids are eligible, as in the candidate sets a
// scheduler has measured, Place then runs Exhaustive's branch and bound,
// starting from the greedy's group as its bound: bids in price order, each
// branch cut when the cheapest workers left among the bids compatible with
// every member cannot beat the best group. It reads every pair's RTT once
// (at most 496) and visits at most ExactNodes (20,000) nodes; Stats.Nodes
// counts them, and Stats.Optimal says whether it finished, in which case
// the answer is the optimum on the RTTs given. Stopped by the budget it
// keeps the best group found, never worse than the greedy's. WithExact
// changes both limits.
//
// # Predicted and measured RTTs
//
// Coordinates predict RTTs with an error (B5: a median of about 10 %, far
// more on short RTTs, which the heights overestimate), and real routes
// break the triangle inequality, which no coordinate system represents. A
// search that minimises cost picks groups close to the bound, so a group
// predicted within the bound is often over it in truth, and a group
// predicted over it may be the true optimum. Coordinates should prune and
// measurements decide: a scheduler picks a candidate set larger than K on
// coordinates with slack on the bound, has the candidates ping each other,
// and places on the candidates with what was measured (WithMeasured, or
// WithRTT when every pair is measured), where the exact stage runs. B4
// (bench/b4measured.go) simulates it on a matrix with 10 % of triples
// violating: within 1.05x of the true optimum in 97.5-100 % of feasible
// requests for k = 2-16 and bounds 20-150 ms, against 49-100 % for
// proposing on coordinates, pinging the proposed group and placing again
// (WithMeasured only overrides pairs of groups already proposed, so that
// loop never measures a true optimum the coordinates put over the bound).
package placement
