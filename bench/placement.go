package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/gpumesh/gpumesh/p2p/coord"
	"github.com/gpumesh/gpumesh/p2p/coord/coordsim"
	"github.com/gpumesh/gpumesh/p2p/coord/countryrtt"
	"github.com/gpumesh/gpumesh/scheduler/placement"
)

// B4's world is B5's (p2p/coord/coordsim): providers in the b4Countries
// best-measured countries of the RIPE Atlas table, the true RTT between two
// of them their countries' mean (the mean of their own 5-20 ms metro delays
// inside one country), coordinates learnt in b4Rounds rounds of noisy
// samples to b4Connections stable peers and, one sample in four, a random
// provider. Serf gives two coincident coordinates a random direction from
// math/rand's global source, so the learnt coordinates, and B4's figures,
// vary a little from run to run although every seed here is fixed.
const (
	b4Countries   = 60
	b4Connections = 32
	b4Rounds      = 50
	b4Fleet       = 2000 // providers with coordinates; markets are drawn from them
	b4OptimumN    = 60   // market size for the comparison with Exhaustive
)

// b4 request grid and market.
var (
	b4Ks     = []int{4, 8, 16}
	b4Bounds = []time.Duration{40 * time.Millisecond, 80 * time.Millisecond, 150 * time.Millisecond}
	b4Sizes  = []int{250, 500, 1000, 2000}
)

const (
	b4MaxPrice      = 2.5 // per worker-hour; prices are uniform in 0.5-3.0
	b4MinReputation = 0.6 // reputations are uniform in 0.5-1.0
	b4Target        = "satisfied >= 95 % of feasible requests; cost within 1.05x of the optimum at N = 60; RTT estimates per request O(k x candidates), never all pairs"
)

// b4World is the fleet: countries, metro delays and learnt coordinates.
type b4World struct {
	*coordsim.Network
}

// trueRTT is the mean RTT between providers i and j.
func (w b4World) trueRTT(i, j int) time.Duration {
	d, _ := w.MeanRTT(i, j) // every pair of the pool is measured (newB4World)
	return d
}

func newB4World(fleet int, seed uint64) (b4World, error) {
	tab, err := countryrtt.Load()
	if err != nil {
		return b4World{}, err
	}
	pool := tab.Countries()[:b4Countries]
	for x, a := range pool {
		for _, b := range pool[x+1:] {
			if _, ok := tab.Between(a, b); !ok {
				return b4World{}, fmt.Errorf("country pair %s-%s not measured", a, b)
			}
		}
	}
	net, err := coordsim.Run(coordsim.Params{Nodes: fleet, Countries: b4Countries, Connections: b4Connections,
		RandomShare: 0.25, Checkpoints: []int{b4Rounds}, Seed: seed})
	return b4World{net}, err
}

// market draws n providers of the fleet with random bids.
func (w b4World) market(rng *rand.Rand, n int) (bids []placement.Bid, nodes []int) {
	nodes = rng.Perm(len(w.Place))[:n]
	bids = make([]placement.Bid, n)
	for x, i := range nodes {
		bids[x] = placement.Bid{ID: "p" + strconv.Itoa(i), Price: 0.5 + 2.5*rng.Float64(), Coord: w.Coords[i],
			Reputation: 0.5 + 0.5*rng.Float64(), Class: "A100-80GB", Workers: 1 + rng.IntN(4)}
	}
	return bids, nodes
}

// trueMax is the largest true RTT between the chosen providers.
func (w b4World) trueMax(chosen []placement.Assignment, nodes []int) time.Duration {
	var d time.Duration
	for x, a := range chosen {
		for _, b := range chosen[x+1:] {
			d = max(d, w.trueRTT(nodes[a.Index], nodes[b.Index]))
		}
	}
	return d
}

func b4Request(k int, bound time.Duration) placement.Request {
	return placement.Request{K: k, MaxRTT: bound, MaxPrice: b4MaxPrice, MinReputation: b4MinReputation}
}

// benchPlacement is B4: cluster quality of placement.Place on a market of
// n providers (one row per k, requests over every bound), the comparison
// with the exact optimum at N = 60, and the RTT estimates per request as the
// market grows. Figures are over `requests` random markets per k and bound.
func benchPlacement(n, requests int) []Result {
	fail := func(err error) []Result {
		return []Result{{ID: "B4", Name: "cluster quality (latency-aware selection)", Target: b4Target, Skipped: err.Error()}}
	}
	if n > b4Fleet {
		return fail(fmt.Errorf("-b4-providers %d is more than the fleet of %d", n, b4Fleet))
	}
	start := time.Now()
	w, err := newB4World(b4Fleet, 1)
	if err != nil {
		return fail(err)
	}
	fitTime := time.Since(start)
	medErr := w.Errors.Estimator[0] // over all measured pairs
	var out []Result
	for _, k := range b4Ks {
		out = append(out, w.quality(n, k, requests, medErr, fitTime))
	}
	out = append(out, w.optimum(requests), w.work(requests))
	return out
}

// b4VerifyRounds bounds how often a request is re-placed after pings
// showed the proposed group over the bound.
const b4VerifyRounds = 10

// verified is one request placed the way a scheduler would run it:
// Place on predicted RTTs, ping the proposed group's pairs not yet
// measured (a ping is taken as the pair's mean RTT, several pings
// averaged), and place again with what was measured (WithMeasured) until a
// group verifies, none is left, or b4VerifyRounds have passed.
type verified struct {
	first       placement.Result // the first proposal, on predictions alone
	final       placement.Result
	ok          bool // a group within the bound by measurement
	rounds      int
	probes      int
	estimates   int // RTT estimates over all rounds
	firstMicros float64
}

func (w b4World) placeVerified(req placement.Request, bids []placement.Bid, nodes []int) (verified, error) {
	var v verified
	measured := map[[2]int]time.Duration{}
	known := func(i, j int) (time.Duration, bool) {
		d, ok := measured[[2]int{min(i, j), max(i, j)}]
		return d, ok
	}
	for v.rounds < b4VerifyRounds {
		t0 := time.Now()
		got, err := placement.Place(req, bids, placement.WithMeasured(known))
		if err != nil {
			return v, err
		}
		if v.rounds == 0 {
			v.first, v.firstMicros = got, float64(time.Since(t0).Microseconds())
		}
		v.rounds++
		v.final = got
		v.estimates += got.Stats.RTTEstimates
		if !got.Feasible {
			return v, nil
		}
		ok := true
		for x, a := range got.Chosen {
			for _, b := range got.Chosen[x+1:] {
				key := [2]int{min(a.Index, b.Index), max(a.Index, b.Index)}
				d, seen := measured[key]
				if !seen {
					d = w.trueRTT(nodes[a.Index], nodes[b.Index])
					measured[key] = d
					v.probes++
				}
				ok = ok && d <= req.MaxRTT
			}
		}
		if ok {
			v.ok = true
			return v, nil
		}
	}
	return v, nil
}

// quality is the row for one k at market size n.
func (w b4World) quality(n, k, requests int, medErr float64, fitTime time.Duration) Result {
	res := Result{ID: "B4", Name: fmt.Sprintf("cluster quality, k = %d", k),
		Unit: "share, ratio, ms or count as named",
		Params: map[string]any{"providers": n, "k": k, "bounds_ms": "40,80,150", "requests_per_bound": requests,
			"countries": b4Countries, "max_price": b4MaxPrice, "min_reputation": b4MinReputation,
			"workers_per_provider": "1-4", "coord_median_rel_error": b4Round3(medErr),
			"coord_samples_per_provider": b4Rounds, "coord_fit_s": b4Round3(fitTime.Seconds()),
			"verify": fmt.Sprintf("ping the proposed group, re-place with what was measured, up to %d rounds", b4VerifyRounds)},
		Target: b4Target}
	rng := rand.New(rand.NewPCG(44, uint64(k)))
	var feasible, satisfied, firstSatisfied, firstOver, firstFeasible, cheapViolates, cheapOK, requestsRun int
	var firstOverBy, cheapMax, costVsCheap, costVsTrueOpt, estimates, perKN, placeUS, probes, rounds []float64
	for _, bound := range b4Bounds {
		req := b4Request(k, bound)
		for range requests {
			bids, nodes := w.market(rng, n)
			v, err := w.placeVerified(req, bids, nodes)
			if err != nil {
				res.Skipped = err.Error()
				return res
			}
			truth, err := placement.Exhaustive(req, bids, placement.WithRTT(func(i, j int) time.Duration { return w.trueRTT(nodes[i], nodes[j]) }))
			if err != nil {
				res.Skipped = err.Error()
				return res
			}
			requestsRun++
			first := v.first
			placeUS = append(placeUS, v.firstMicros)
			estimates = append(estimates, float64(first.Stats.RTTEstimates))
			perKN = append(perKN, float64(first.Stats.RTTEstimates)/float64(k*max(1, first.Summary.Eligible)))
			probes = append(probes, float64(v.probes))
			rounds = append(rounds, float64(v.rounds))
			if first.Feasible {
				firstFeasible++
				if tm := w.trueMax(first.Chosen, nodes); tm > bound {
					firstOver++
					firstOverBy = append(firstOverBy, float64(tm)/float64(bound))
				}
			}
			if c := first.Summary.Cheapest; c.OK {
				cheapOK++
				tm := w.trueMax(c.Chosen, nodes)
				cheapMax = append(cheapMax, float64(tm)/float64(time.Millisecond))
				if tm > bound {
					cheapViolates++
				}
				if v.ok {
					costVsCheap = append(costVsCheap, v.final.Cost/c.Cost)
				}
			}
			if !truth.Feasible {
				continue
			}
			feasible++
			if first.Feasible && w.trueMax(first.Chosen, nodes) <= bound {
				firstSatisfied++
			}
			if v.ok {
				satisfied++
				costVsTrueOpt = append(costVsTrueOpt, v.final.Score/truth.Score)
			}
		}
	}
	share := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	res.Figures = map[string]float64{
		"requests":                         float64(requestsRun),
		"feasible_true_rtt":                float64(feasible),
		"satisfied_share":                  share(satisfied, feasible),
		"satisfied_share_unverified":       share(firstSatisfied, feasible),
		"unverified_over_bound_share":      share(firstOver, firstFeasible),
		"unverified_true_max_vs_bound_max": b4Max(firstOverBy, 1),
		"verify_rounds_mean":               mean(rounds),
		"verify_rounds_max":                b4Max(rounds, 0),
		"probes_per_request_mean":          mean(probes),
		"probes_per_request_max":           b4Max(probes, 0),
		"score_vs_true_optimum_mean":       mean(costVsTrueOpt),
		"score_vs_true_optimum_max":        b4Max(costVsTrueOpt, 0),
		"cost_vs_cheapest_only_mean":       mean(costVsCheap),
		"cheapest_only_violates_share":     share(cheapViolates, cheapOK),
		"cheapest_only_true_max_ms_p50":    quantile(cheapMax, 0.5),
		"estimates_per_request_mean":       mean(estimates),
		"estimates_per_request_max":        b4Max(estimates, 0),
		"estimates_per_k_x_eligible_max":   b4Max(perKN, 0),
		"place_us_p50":                     quantile(placeUS, 0.5),
	}
	res.Verdict = map[bool]string{true: "met", false: "missed"}[share(satisfied, feasible) >= 0.95]
	return res
}

// optimum compares Place with Exhaustive on markets of b4OptimumN.
func (w b4World) optimum(requests int) Result {
	res := Result{ID: "B4", Name: "cluster cost vs the exact optimum", Unit: "ratio or count as named",
		Params: map[string]any{"providers": b4OptimumN, "k": "4,8,16", "bounds_ms": "40,80,150", "requests_per_k_and_bound": requests,
			"optimum": "placement.Exhaustive (branch and bound) on the same predicted RTTs"},
		Target: b4Target}
	rng := rand.New(rand.NewPCG(45, 0))
	var feasible, exact, missed int
	var ratios, costRatios []float64
	var exhaustiveMS []float64
	for _, k := range b4Ks {
		for _, bound := range b4Bounds {
			req := b4Request(k, bound)
			for range requests {
				bids, _ := w.market(rng, b4OptimumN)
				got, err := placement.Place(req, bids)
				if err != nil {
					res.Skipped = err.Error()
					return res
				}
				t0 := time.Now()
				opt, err := placement.Exhaustive(req, bids)
				exhaustiveMS = append(exhaustiveMS, float64(time.Since(t0).Microseconds())/1000)
				if err != nil {
					res.Skipped = err.Error()
					return res
				}
				if !opt.Feasible {
					continue
				}
				feasible++
				if !got.Feasible {
					missed++
					continue
				}
				r := got.Score / opt.Score
				ratios = append(ratios, r)
				costRatios = append(costRatios, got.Cost/opt.Cost)
				if r <= 1+1e-9 {
					exact++
				}
			}
		}
	}
	res.Figures = map[string]float64{
		"feasible":           float64(feasible),
		"place_found_none":   float64(missed),
		"at_optimum_share":   float64(exact) / float64(max(1, feasible)),
		"score_vs_opt_mean":  mean(ratios),
		"score_vs_opt_max":   b4Max(ratios, 0),
		"cost_vs_opt_max":    b4Max(costRatios, 0),
		"exhaustive_ms_p50":  quantile(exhaustiveMS, 0.5),
		"exhaustive_ms_max":  b4Max(exhaustiveMS, 0),
		"requests_at_n_60":   float64(len(b4Ks) * len(b4Bounds) * requests),
		"score_within_1_05x": float64(b4CountAtMost(ratios, 1.05)) / float64(max(1, len(ratios))),
	}
	res.Verdict = map[bool]string{true: "met", false: "missed"}[missed == 0 && b4Max(ratios, 0) <= 1.05]
	return res
}

// work counts Place's RTT estimates per request as the market grows and
// times them, against all-pairs placement run for real on the same
// markets and requests (allPairs): its estimates counted and its time
// measured, not computed from the number of eligible bids.
func (w b4World) work(requests int) Result {
	res := Result{ID: "B4", Name: "RTT estimates per request vs market size", Unit: "estimates per request, or us as named (means over k and bounds)",
		Params: map[string]any{"k": "4,8,16", "bounds_ms": "40,80,150", "requests_per_size": len(b4Ks) * len(b4Bounds) * requests,
			"baseline": "all-pairs placement, run on the same markets: every pair of eligible bids estimated (coord.EstimateRTT), then Place on that matrix"},
		Target: b4Target}
	rng := rand.New(rand.NewPCG(46, 0))
	res.Figures, res.Baseline = map[string]float64{}, map[string]float64{}
	perKN := 0.0
	for _, n := range b4Sizes {
		var est, us, pairs, pairsUS []float64
		for _, k := range b4Ks {
			for _, bound := range b4Bounds {
				for range requests {
					bids, _ := w.market(rng, n)
					req := b4Request(k, bound)
					t0 := time.Now()
					got, err := placement.Place(req, bids)
					took := time.Since(t0)
					if err != nil {
						res.Skipped = err.Error()
						return res
					}
					base, err := allPairs(req, bids, got)
					if err != nil {
						res.Skipped = err.Error()
						return res
					}
					e := got.Summary.Eligible
					est = append(est, float64(got.Stats.RTTEstimates))
					us = append(us, float64(took.Nanoseconds())/1e3)
					pairs = append(pairs, float64(base.estimates))
					pairsUS = append(pairsUS, float64(base.took.Nanoseconds())/1e3)
					perKN = max(perKN, float64(got.Stats.RTTEstimates)/float64(k*max(1, e)))
				}
			}
		}
		key := fmt.Sprintf("n_%d", n)
		res.Figures[key] = mean(est)
		res.Figures[key+"_us"] = mean(us)
		res.Baseline[key] = mean(pairs)
		res.Baseline[key+"_us"] = mean(pairsUS)
	}
	growth := res.Figures["n_2000"] / res.Figures["n_1000"]
	res.Figures["growth_1000_to_2000"] = growth
	res.Figures["max_per_k_x_eligible"] = perKN
	res.Verdict = map[bool]string{true: "met", false: "missed"}[growth <= 2.5]
	return res
}

// allPairsRun is what all-pairs placement did for one request.
type allPairsRun struct {
	estimates int           // RTT estimates made
	took      time.Duration // estimating them and placing on them
}

// allPairs runs the all-pairs method on the request Place decided as got:
// the bids Place found eligible (not refused as invalid, of another class,
// over price or under reputation), the RTT of every pair of them estimated
// from their coordinates into a matrix, then Place on that matrix
// (WithRTT), so that every estimate is made up front, as probing all pairs
// would. It fails if its count of eligible bids differs from Place's.
func allPairs(req placement.Request, bids []placement.Bid, got placement.Result) (allPairsRun, error) {
	ineligible := map[int]bool{}
	for _, r := range got.Rejected {
		switch r.Reason {
		case placement.ReasonInvalid, placement.ReasonClass, placement.ReasonOverPrice, placement.ReasonReputation:
			ineligible[r.Index] = true
		}
	}
	start := time.Now()
	var run allPairsRun
	pos := make([]int, len(bids)) // index into the matrix, -1 if not eligible
	var eligible []int
	for i := range bids {
		pos[i] = -1
		if !ineligible[i] {
			pos[i] = len(eligible)
			eligible = append(eligible, i)
		}
	}
	if len(eligible) != got.Summary.Eligible {
		return run, fmt.Errorf("all pairs: %d eligible bids, Place found %d", len(eligible), got.Summary.Eligible)
	}
	e := len(eligible)
	matrix := make([]time.Duration, e*e)
	for x, i := range eligible {
		for y := x + 1; y < e; y++ {
			d := coord.EstimateRTT(bids[i].Coord, bids[eligible[y]].Coord)
			matrix[x*e+y], matrix[y*e+x] = d, d
			run.estimates++
		}
	}
	rtt := func(i, j int) time.Duration { return matrix[pos[i]*e+pos[j]] }
	if _, err := placement.Place(req, bids, placement.WithRTT(rtt)); err != nil {
		return run, fmt.Errorf("all pairs: %w", err)
	}
	run.took = time.Since(start)
	return run, nil
}

func b4Max(v []float64, none float64) float64 {
	if len(v) == 0 {
		return none
	}
	return slices.Max(v)
}

func b4CountAtMost(v []float64, limit float64) int {
	n := 0
	for _, x := range v {
		if x <= limit+1e-12 {
			n++
		}
	}
	return n
}

func b4Round3(v float64) float64 { return math.Round(v*1000) / 1000 }
