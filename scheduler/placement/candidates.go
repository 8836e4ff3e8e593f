package placement

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gpumesh/gpumesh/p2p/coord"
)

// Candidates for a measured round (docs/market.md, "The measured round"):
// coordinates prune, measurements decide. Candidates picks the first
// round's bids on predictions; Nearer picks a second round's from what the
// first measured. Both are pure functions; the market and B4 run the same
// code.

// Sizes and shapes of the first round (Candidates).
const (
	// CandidateSlack is the default factor on the bound a ball holds bids
	// within (market.rtt_round_slack), plus CandidateSlackWide for K >=
	// CandidateWideK.
	CandidateSlack     = 1.35
	CandidateSlackWide = 20 * time.Millisecond
	// CandidatePad is the fewest bids a ball holds for K < CandidateWideK:
	// it is padded with the nearest by prediction, whatever their estimate.
	CandidatePad   = 16
	CandidateWideK = 16
	// candidateAnchors are the cheapest eligible bids tried as anchors;
	// candidatePerBall the fewest bids taken from a ball.
	candidateAnchors = 64
	candidatePerBall = 4
)

// RoundSize is how many candidates a first round for k workers measures:
// min(max(3k, k+8), most).
func RoundSize(k, most int) int { return min(max(3*k, k+8), most) }

// NearerSize is how many candidates a second round adds for k workers:
// max(k, 4).
func NearerSize(k int) int { return max(k, 4) }

// Partners are the first round's candidates a second round's added bids
// are measured against, at most most - added of them: Nearer's partners
// first, then the other first candidates in their order.
func Partners(partners, first []int, added, most int) []int {
	out := slices.Clone(partners)
	for _, c := range first {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out[:max(0, min(len(out), most-added))]
}

// Candidates picks up to n bids (positions in bids) for a first measured
// round, on predicted RTTs (slack: see CandidateSlack): est where it knows a pair (bids' reported
// RTTs; nil for none), coordinates elsewhere. Every group has a cheapest
// member, every other member within the bound of it; so each of the
// cheapest eligible bids is taken as a group's cheapest member, an anchor,
// with its ball (the dearer bids predicted near it), scored by the
// cheapest K workers of the anchor and its ball: a lower bound on any
// group it is the cheapest member of, if the predictions hold. Candidates
// are taken ball by ball, lowest score first: the anchor, then its ball's
// bids in price order until they host 2K workers (at least four bids),
// until n.
//
// Coordinates err most on short RTTs (pairs truly within 20 ms are
// predicted a median 14 to 40 ms too long, because of the heights; B4), so
// a ball is not simply the bids predicted within the bound:
//
//   - K < CandidateWideK: the bids within the bound x slack, padded to CandidatePad bids with the nearest by
//     prediction whatever their estimate (the padding counts in the score,
//     so an anchor whose neighbours are all predicted too far still
//     ranks);
//   - K >= CandidateWideK: the bids within the bound x slack +
//     CandidateSlackWide, no padding, which keeps far-off
//     cheap bids out of the score of a group that needs many members.
//
// Padding helps small groups and hurts large ones (B4 with either rule for
// every k: routes at k = 16 0.89 within 1.05x with padding, 0.99 without;
// countries at k = 4 and 8 1.00 with, 0.89 and 0.88 without). What the
// predictions get wrong the second round (Nearer) repairs from
// measurements.
func Candidates(req Request, bids []Bid, slack float64, n int, est func(i, j int) (time.Duration, bool)) []int {
	return BallCandidates(req, bids, slack, n, est, req.K >= CandidateWideK)
}

// BallCandidates is Candidates with the kind of ball chosen: wide (no
// padding, CandidateSlackWide more) or padded.
func BallCandidates(req Request, bids []Bid, slack float64, n int, est func(i, j int) (time.Duration, bool), wide bool) []int {
	var elig []int
	for i, b := range bids {
		if eligible(req, b) && b.Reputation <= 1 && b.Coord.Validate() == nil {
			elig = append(elig, i)
		}
	}
	slices.SortStableFunc(elig, func(a, b int) int { return cmp.Compare(bids[a].EffectivePrice(), bids[b].EffectivePrice()) })
	dist := func(i, j int) time.Duration {
		if est != nil {
			if d, ok := est(i, j); ok {
				return d
			}
		}
		return coord.EstimateRTT(bids[i].Coord, bids[j].Coord)
	}
	loose := time.Duration(float64(req.MaxRTT) * slack)
	if wide {
		return ballOrder(req, bids, elig, dist, loose+CandidateSlackWide, 0, n)
	}
	return ballOrder(req, bids, elig, dist, loose, CandidatePad, n)
}

// ballOrder is the order in which balls offer candidates (see
// Candidates): elig in price order, balls within loose padded to pad bids.
func ballOrder(req Request, bids []Bid, elig []int, dist func(i, j int) time.Duration, loose time.Duration, pad, limit int) []int {
	type anchor struct {
		ball  []int // the anchor first, then its ball in price order
		bound float64
	}
	type near struct {
		b int
		d time.Duration
	}
	var anchors []anchor
	var nearest []near
	for x, a := range elig[:min(len(elig), candidateAnchors)] {
		ball := []int{a}
		nearest = nearest[:0]
		for _, b := range elig[x+1:] {
			if d := dist(a, b); d <= loose {
				ball = append(ball, b)
			} else {
				nearest = append(nearest, near{b, d})
			}
		}
		slices.SortStableFunc(nearest, func(p, q near) int { return cmp.Compare(p.d, q.d) })
		for _, n := range nearest[:min(len(nearest), max(0, pad-len(ball)+1))] {
			ball = append(ball, n.b)
		}
		slices.SortStableFunc(ball[1:], func(p, q int) int { return cmp.Compare(bids[p].EffectivePrice(), bids[q].EffectivePrice()) })
		w, score := 0, 0.0
		for _, b := range ball {
			take := min(bids[b].Workers, req.K-w)
			w += take
			score += float64(take) * bids[b].EffectivePrice()
			if w == req.K {
				break
			}
		}
		if w < req.K {
			score = math.Inf(1) // a ball short of K workers comes last
		}
		anchors = append(anchors, anchor{ball: ball, bound: score})
	}
	slices.SortStableFunc(anchors, func(a, b anchor) int { return cmp.Compare(a.bound, b.bound) })
	in := map[int]bool{}
	var order []int
	for _, a := range anchors {
		w := 0
		for n, b := range a.ball {
			if w >= 2*req.K && n >= candidatePerBall {
				break
			}
			w += bids[b].Workers
			if !in[b] && len(order) < limit {
				in[b] = true
				order = append(order, b)
			}
		}
	}
	return order
}

// Nearer picks up to n more bids (positions in bids, none of measured) for
// a second measured round, from what the first one measured: the bids
// nearest the best partial groups, whatever their price.
//
// The first round takes its candidates cheapest first, so a group whose
// cheap members were measured but whose missing member is dear and near
// (three cheap bids in one country and a dearer one next door) is never
// completed: the dear bid is never measured, and no search can choose a
// bid it has no RTTs for. Nearer completes such groups. From each
// measured eligible bid, cheapest first, it grows a group greedily in
// price order among the measured bids whose RTTs (rtt, where known;
// coordinates elsewhere) to every member are within the bound. A group
// short of K workers is a partial group; its lower bound is its score plus
// the missing workers at the cheapest price not measured. Partial groups
// whose lower bound is under best (the score of the best complete group
// found, +Inf for none) are taken fewest missing workers first, then lowest bound; for each, the
// unmeasured eligible bids that could still complete it under best are
// taken nearest first (by their largest RTT to the group's members: rtt
// where known, such as bids' reported RTTs, coordinates elsewhere) and
// cheapest first by turns, until they host twice the missing workers and
// number at least nearerPerGroup. Every bid that, with cheaper bids, completes a
// partial group under best is thus offered in order of its distance, not
// only its price, which is what puts the near but dear bid in the round;
// the turns by price keep a cheap member whose coordinate is far off
// (coordinates err by hundreds of ms for some hosts) from being last. It returns the bids to add, and the
// partners: the measured members of the partial groups they were offered
// for, first group first (the second round measures the added bids
// against each other and these). It returns nothing when no partial group
// can beat best: the first round's answer stands.
func Nearer(req Request, bids []Bid, measured []int, rtt func(i, j int) (time.Duration, bool), best float64, n int) (add, partners []int) {
	if n <= 0 || req.K < 2 || req.MaxRTT <= 0 {
		return nil, nil
	}
	dist := func(i, j int) time.Duration {
		if d, ok := rtt(i, j); ok {
			return d
		}
		return coord.EstimateRTT(bids[i].Coord, bids[j].Coord)
	}
	in := make([]bool, len(bids))
	var known, rest []int
	for _, i := range measured {
		if i >= 0 && i < len(bids) && !in[i] {
			in[i] = true
			if eligible(req, bids[i]) {
				known = append(known, i)
			}
		}
	}
	cheapest := math.Inf(1)
	for i, b := range bids {
		if !in[i] && eligible(req, b) {
			rest = append(rest, i)
			cheapest = min(cheapest, b.EffectivePrice())
		}
	}
	if len(rest) == 0 {
		return nil, nil
	}
	byPrice := func(a, b int) int { return cmp.Compare(bids[a].EffectivePrice(), bids[b].EffectivePrice()) }
	slices.SortStableFunc(known, byPrice)
	parts, best := partialGroups(req, bids, known, dist, cheapest, best)
	picked := make([]bool, len(bids))
	for _, g := range parts {
		missing := req.K - g.workers
		type near struct {
			i int
			d time.Duration
		}
		var offer []near
		for _, i := range rest {
			take := min(bids[i].Workers, missing)
			if picked[i] || g.score+float64(take)*bids[i].EffectivePrice()+float64(missing-take)*cheapest >= best {
				continue
			}
			far := time.Duration(0)
			for _, m := range g.members {
				far = max(far, dist(i, m))
			}
			offer = append(offer, near{i, far})
		}
		byDist := slices.Clone(offer)
		slices.SortStableFunc(byDist, func(a, b near) int {
			return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(bids[a.i].EffectivePrice(), bids[b.i].EffectivePrice()))
		})
		slices.SortStableFunc(offer, func(a, b near) int {
			return cmp.Or(cmp.Compare(bids[a.i].EffectivePrice(), bids[b.i].EffectivePrice()), cmp.Compare(a.d, b.d))
		})
		w, x := 0, 0
		for _, o := range interleave(byDist, offer) {
			if len(add) == n || (w >= 2*missing && x >= nearerPerGroup) {
				break
			}
			if picked[o.i] {
				continue
			}
			picked[o.i] = true
			add = append(add, o.i)
			w += bids[o.i].Workers
			x++
		}
		if w > 0 {
			for _, m := range g.members {
				if !slices.Contains(partners, m) {
					partners = append(partners, m)
				}
			}
		}
		if len(add) == n {
			break
		}
	}
	return add, partners
}

// nearerPerGroup is the fewest bids Nearer offers for one partial group
// (when so many could complete it): a group missing one worker still gets
// its nearest two and cheapest two.
const nearerPerGroup = 4

// interleave is a's first, b's first, a's second, and so on.
func interleave[T any](a, b []T) []T {
	out := make([]T, 0, len(a)+len(b))
	for x := range max(len(a), len(b)) {
		if x < len(a) {
			out = append(out, a[x])
		}
		if x < len(b) {
			out = append(out, b[x])
		}
	}
	return out
}

// partial is a group of measured bids short of K workers.
type partial struct {
	members []int
	workers int
	score   float64 // its members' effective prices x the workers they host
	bound   float64 // score + the missing workers at the cheapest price not measured
}

// partialGroups grows a group greedily from each of known (eligible bids
// in price order), and returns the partial ones whose lower bound is under
// best, fewest missing workers first (the groups a few measurements can
// complete; a cheap single bid's bound, filled at the cheapest price, is
// the most optimistic), then lowest bound, and best lowered to the
// cheapest complete group found.
func partialGroups(req Request, bids []Bid, known []int, dist func(i, j int) time.Duration, cheapest, best float64) ([]partial, float64) {
	var parts []partial
	seen := map[string]bool{}
	for x, a := range known {
		g := partial{members: []int{a}}
		g.workers = min(bids[a].Workers, req.K)
		g.score = float64(g.workers) * bids[a].EffectivePrice()
		for _, c := range known[x+1:] {
			if g.workers == req.K {
				break
			}
			if !slices.ContainsFunc(g.members, func(m int) bool { return dist(c, m) > req.MaxRTT }) {
				take := min(bids[c].Workers, req.K-g.workers)
				g.members = append(g.members, c)
				g.workers += take
				g.score += float64(take) * bids[c].EffectivePrice()
			}
		}
		if g.workers == req.K {
			best = min(best, g.score)
			continue
		}
		key := groupKey(g.members)
		if seen[key] {
			continue
		}
		seen[key] = true
		g.bound = g.score + float64(req.K-g.workers)*cheapest
		parts = append(parts, g)
	}
	parts = slices.DeleteFunc(parts, func(g partial) bool { return g.bound >= best })
	slices.SortStableFunc(parts, func(a, b partial) int {
		return cmp.Or(cmp.Compare(b.workers, a.workers), cmp.Compare(a.bound, b.bound))
	})
	return parts, best
}

// groupKey names a set of bids whatever its order.
func groupKey(members []int) string {
	s := slices.Clone(members)
	slices.Sort(s)
	return fmt.Sprint(s)
}

// eligible is whether a bid passes the request's filters (Place's, bar
// the validity checks).
func eligible(req Request, b Bid) bool {
	return b.Workers > 0 && b.Price > 0 && (req.MaxPrice <= 0 || b.Price <= req.MaxPrice) &&
		b.Reputation >= req.MinReputation && (req.Class == "" || strings.EqualFold(b.Class, req.Class))
}
