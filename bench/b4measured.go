package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p/coord"
	"github.com/gpumesh/gpumesh/p2p/coord/coordsim"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/placement"
)

// The measured method, as the market runs it (issue 22), with the
// market's own code: coordinates prune and measurements decide. The
// requester picks candidates on coordinates (placement.Candidates, as
// many as placement.RoundSize allows with market.rtt_round_candidates at
// its default), they ping each other in one parallel round whose deadline
// is the bound (a pair not answered by then is over it), and Place decides
// on the candidates with every pair measured (WithMeasured), where its
// exact stage runs. A second round (placement.Nearer) adds the bids
// nearest the best partial groups when they could beat the best group
// found: they ping each other and those groups' members. If no group is
// found within the bound, it falls back to today's method, starting from
// what was measured, as the market's award rounds do.
const (
	b4VerifyRounds = 10 // today's method: rounds of ping-and-replace at most
	b4Candidates   = 32 // first-round candidates for k < placement.CandidateWideK
	b4Wide         = 48 // and for k >= placement.CandidateWideK
)

// b4RoundSize is how many candidates B4's first round measures: more than
// the market's (placement.RoundSize with market.rtt_round_candidates at
// most gossip.MaxRTTCandidates = 32 per probe); see docs/benchmarks.md for
// the figures at the market's sizes (-b4-market).
func b4RoundSize(k int) int {
	if b4MarketSizes {
		return placement.RoundSize(k, market.DefaultRTTRoundCandidates)
	}
	if k >= placement.CandidateWideK {
		return b4Wide
	}
	return b4Candidates
}

// b4Data is one data set: the true RTTs between the hosts of a fleet,
// their learnt coordinates, and each host's region (prices correlate with
// it).
type b4Data struct {
	name   string
	hosts  int
	truth  func(i, j int) time.Duration
	coords []coord.Coordinate
	region []string
	params map[string]any
}

// b4DataSets builds the two data sets and returns the country world for
// the work row.
func b4DataSets(cfg b4Config) ([]b4Data, b4World, error) {
	start := time.Now()
	m := newTIVMatrix(cfg.routeFleet, 1)
	net, err := coordsim.Run(coordsim.Params{Nodes: cfg.routeFleet, Connections: b4Connections, RandomShare: 0.25,
		Checkpoints: []int{b4Rounds}, Seed: 1, Truth: m.RTT, TruthJitter: 0.05})
	if err != nil {
		return nil, b4World{}, err
	}
	share, excess := tivStats(m.RTT, cfg.routeFleet, 200000, 1)
	routes := b4Data{name: "routes", hosts: cfg.routeFleet, truth: m.RTT, coords: net.Coords, region: make([]string, cfg.routeFleet),
		params: map[string]any{"hosts": cfg.routeFleet, "cities": len(tivCities), "triples_violating_share": b4Round3(share),
			"violation_median_excess_ms": b4Round3(excess), "detoured_pair_share": tivParams.detourShare,
			"coord_median_rel_error": b4Round3(net.Errors.Estimator[0]), "coord_fit_s": b4Round3(time.Since(start).Seconds())}}
	for i, c := range m.city {
		routes.region[i] = tivCities[c].name
	}
	start = time.Now()
	w, err := newB4World(cfg.fleet, 1)
	if err != nil {
		return nil, b4World{}, err
	}
	countryRTT := func(i, j int) time.Duration {
		d, _ := w.MeanRTT(i, j) // every pair of the pool is measured (newB4World)
		return d
	}
	share, excess = tivStats(countryRTT, cfg.fleet, 200000, 1)
	countries := b4Data{name: "countries", hosts: cfg.fleet, truth: countryRTT, coords: w.Coords, region: w.Place,
		params: map[string]any{"hosts": cfg.fleet, "countries": b4Countries, "triples_violating_share": b4Round3(share),
			"violation_median_excess_ms": b4Round3(excess), "coord_median_rel_error": b4Round3(w.Errors.Estimator[0]),
			"coord_fit_s": b4Round3(time.Since(start).Seconds())}}
	return []b4Data{routes, countries}, w, nil
}

// market draws n hosts with bids whose prices correlate with the region:
// each region has a base price (uniform 0.6-2.6 per worker-hour, fixed
// per data set), each bid asks its region's base x 0.85-1.15.
func (d b4Data) market(rng *rand.Rand, base map[string]float64, n int) (bids []placement.Bid, hosts []int) {
	hosts = rng.Perm(d.hosts)[:n]
	bids = make([]placement.Bid, n)
	for x, i := range hosts {
		bids[x] = placement.Bid{ID: "p" + strconv.Itoa(i), Price: base[d.region[i]] * (0.85 + 0.3*rng.Float64()),
			Coord: d.coords[i], Reputation: 0.5 + 0.5*rng.Float64(), Class: "A100-80GB", Workers: 1 + rng.IntN(4)}
	}
	return bids, hosts
}

// b4Outcome is what one method did for one request.
type b4Outcome struct {
	first    placement.Result // its first proposal
	final    placement.Result
	ok       bool    // a group verified within the bound by measurement
	pings    int     // pairs measured
	netMS    float64 // time of its measurement rounds: each round lasts its slowest ping, at most the bound
	cpuUS    float64 // time placing (and choosing candidates)
	rounds   int
	fellBack bool // the measured method found no group among candidates and fell back
	second   bool // the measured method ran a second round (placement.Nearer)
}

// pinger measures pairs of a market's bids by their true RTT, once each.
type pinger struct {
	truth    func(i, j int) time.Duration
	hosts    []int
	measured map[[2]int]time.Duration
}

func (p *pinger) known(i, j int) (time.Duration, bool) {
	d, ok := p.measured[[2]int{min(i, j), max(i, j)}]
	return d, ok
}

// ping measures the pair (i, j) if not yet measured; new says whether it
// was.
func (p *pinger) ping(i, j int) (d time.Duration, new bool) {
	key := [2]int{min(i, j), max(i, j)}
	if d, ok := p.measured[key]; ok {
		return d, false
	}
	d = p.truth(p.hosts[i], p.hosts[j])
	p.measured[key] = d
	return d, true
}

// today is the baseline, the method before issue 22: Place on predicted
// RTTs, ping the proposed group's pairs not yet measured, and place again
// with what was measured until a group verifies, none is left, or
// b4VerifyRounds have passed.
func today(req placement.Request, bids []placement.Bid, p *pinger, seed uint64, out *b4Outcome) error {
	for r := 0; r < b4VerifyRounds; r++ {
		t0 := time.Now()
		got, err := placement.Place(req, bids, placement.WithMeasured(p.known), placement.WithSeed(seed))
		out.cpuUS += float64(time.Since(t0).Microseconds())
		if err != nil {
			return err
		}
		if out.rounds == 0 {
			out.first = got
		}
		out.rounds++
		out.final = got
		if !got.Feasible {
			return nil
		}
		ok, slowest := true, time.Duration(0)
		for x, a := range got.Chosen {
			for _, b := range got.Chosen[x+1:] {
				d, fresh := p.ping(a.Index, b.Index)
				if fresh {
					out.pings++
					slowest = max(slowest, min(d, req.MaxRTT))
				}
				ok = ok && d <= req.MaxRTT
			}
		}
		out.netMS += ms(slowest)
		if ok {
			out.ok = true
			return nil
		}
	}
	return nil
}

// measuredMethod is the new method (see b4VerifyRounds).
// b4OtherBalls are up to n candidates by the other kind of ball than
// placement.Candidates takes for the request, among the bids not in
// measured.
func b4OtherBalls(req placement.Request, bids []placement.Bid, measured []int, n int) []int {
	var rest []int
	var sub []placement.Bid
	for i, b := range bids {
		if !slices.Contains(measured, i) {
			rest = append(rest, i)
			sub = append(sub, b)
		}
	}
	out := placement.BallCandidates(req, sub, placement.CandidateSlack, n, nil, req.K < placement.CandidateWideK)
	for x, i := range out {
		out[x] = rest[i]
	}
	return out
}

// b4MarketSizes makes B4 measure as many candidates as the market does
// (the -b4-market flag).
var b4MarketSizes bool

func measuredMethod(req placement.Request, bids []placement.Bid, p *pinger, seed uint64, out *b4Outcome) error {
	var cands []int
	var best placement.Result
	// round measures fresh against each other and against with, then
	// places on every candidate so far.
	round := func(fresh, with []int) error {
		t0 := time.Now()
		slowest := time.Duration(0)
		for x, a := range fresh {
			for _, b := range append(with[:len(with):len(with)], fresh[x+1:]...) {
				d, _ := p.ping(a, b)
				out.pings++
				slowest = max(slowest, min(d, req.MaxRTT))
			}
		}
		cands = append(cands, fresh...)
		out.netMS += ms(slowest)
		sub := make([]placement.Bid, len(cands))
		for x, i := range cands {
			sub[x] = bids[i]
		}
		// A pair of candidates not measured (an added bid and a first
		// candidate outside its partial groups) counts as over the bound:
		// the market would check it with the winners' pings.
		known := func(x, y int) (time.Duration, bool) {
			if d, ok := p.known(cands[x], cands[y]); ok {
				return d, true
			}
			return time.Hour, true
		}
		got, err := placement.Place(req, sub, placement.WithMeasured(known), placement.WithSeed(seed), placement.WithExact(len(sub), 0))
		out.cpuUS += float64(time.Since(t0).Microseconds())
		if err != nil {
			return err
		}
		out.rounds++
		if got.Feasible && (!best.Feasible || got.Score < best.Score) {
			for x := range got.Chosen { // back to the market's indices
				got.Chosen[x].Index = cands[got.Chosen[x].Index]
			}
			best = got
		}
		return nil
	}
	t0 := time.Now()
	first := placement.Candidates(req, bids, placement.CandidateSlack, b4RoundSize(req.K), nil)
	out.cpuUS += float64(time.Since(t0).Microseconds())
	if len(first) > 0 {
		if err := round(first, nil); err != nil {
			return err
		}
		if !best.Feasible && !b4MarketSizes {
			// B4's own extra round, not the market's: when the first
			// candidates hold no group, candidates by the other kind of
			// ball among the bids not measured yet.
			if other := b4OtherBalls(req, bids, cands, b4RoundSize(req.K)); len(other) > 0 {
				if err := round(other, cands); err != nil {
					return err
				}
				first = cands
			}
		}
		t0 = time.Now()
		score := math.Inf(1)
		if best.Feasible {
			score = best.Score
		}
		more, partners := placement.Nearer(req, bids, cands, p.known, score, placement.NearerSize(req.K))
		out.cpuUS += float64(time.Since(t0).Microseconds())
		if len(more) > 0 {
			out.second = true
			most := len(first) + len(more)
			if b4MarketSizes {
				most = gossip.MaxRTTCandidates
			}
			if err := round(more, placement.Partners(partners, first, len(more), most)); err != nil {
				return err
			}
		}
	}
	if best.Feasible {
		out.first, out.final, out.ok = best, best, true
		return nil
	}
	out.fellBack = true
	var rest b4Outcome
	err := today(req, bids, p, seed, &rest)
	out.first, out.final, out.ok = rest.first, rest.final, rest.ok
	out.pings, out.netMS, out.cpuUS, out.rounds = out.pings+rest.pings, out.netMS+rest.netMS, out.cpuUS+rest.cpuUS, out.rounds+rest.rounds
	return err
}

// b4Tally gathers one method's figures over a row's requests.
type b4Tally struct {
	firstFeasible, firstOver, none, atOpt, fellBack, second int
	ratios, pings, netMS, cpuUS                             []float64
}

func (t *b4Tally) add(o b4Outcome, truth placement.Result, trueMax func([]placement.Assignment) time.Duration, bound time.Duration) {
	if o.first.Feasible {
		t.firstFeasible++
		if trueMax(o.first.Chosen) > bound {
			t.firstOver++
		}
	}
	if o.fellBack {
		t.fellBack++
	}
	if o.second {
		t.second++
	}
	t.pings = append(t.pings, float64(o.pings))
	t.netMS = append(t.netMS, o.netMS)
	t.cpuUS = append(t.cpuUS, o.cpuUS)
	if !truth.Feasible {
		return
	}
	if !o.ok {
		t.none++
		t.ratios = append(t.ratios, math.Inf(1))
		return
	}
	r := o.final.Score / truth.Score
	t.ratios = append(t.ratios, r)
	if r <= 1+1e-9 {
		t.atOpt++
	}
}

func (t *b4Tally) figures() map[string]float64 {
	share := func(a, b int) float64 { return float64(a) / float64(max(b, 1)) }
	capped := func(v float64) float64 { return math.Min(v, 99) } // JSON has no infinity: 99 means no group
	return map[string]float64{
		"first_over_bound_share": share(t.firstOver, t.firstFeasible),
		"ratio_p50":              capped(quantile(t.ratios, 0.5)),
		"ratio_p95":              capped(quantile(t.ratios, 0.95)),
		"ratio_max":              capped(b4Max(t.ratios, 1)),
		"at_optimum_share":       share(t.atOpt, len(t.ratios)),
		"within_1_05_share":      share(b4CountAtMost(t.ratios, 1.05), len(t.ratios)),
		"no_group_found":         float64(t.none),
		"pings_mean":             mean(t.pings),
		"pings_max":              b4Max(t.pings, 0),
		"measure_ms_mean":        mean(t.netMS),
		"measure_ms_max":         b4Max(t.netMS, 0),
		"place_us_p50":           quantile(t.cpuUS, 0.5),
		"fell_back":              float64(t.fellBack),
		"second_rounds":          float64(t.second),
	}
}

// judge is the row for one data set and k: requests over every bound,
// each placed by both methods on the same market and judged against the
// exact optimum on the true RTTs (Exhaustive with WithRTT).
func (d b4Data) judge(cfg b4Config, k int) Result {
	res := Result{ID: "B4", Name: fmt.Sprintf("cluster quality on %s, k = %d", d.name, k),
		Unit: "share, ratio to the true optimum's score, count, ms or us as named",
		Params: map[string]any{"data": d.name, "providers": cfg.market, "k": k, "bounds_ms": "20,40,80,150",
			"requests_per_bound": cfg.requests, "seed": cfg.seed, "max_price": b4MaxPrice, "min_reputation": b4MinReputation,
			"prices": "region base 0.6-2.6 x 0.85-1.15", "workers_per_provider": "1-4",
			"method": fmt.Sprintf("the market's: candidates on coordinates (placement.Candidates, %d), all their pairs pinged in one round, Place on the measured RTTs; a second round of up to %d bids nearest the best partial groups (placement.Nearer)",
				placement.RoundSize(k, market.DefaultRTTRoundCandidates), placement.NearerSize(k)),
			"baseline": fmt.Sprintf("today's: Place on coordinates, ping the proposed group, re-place, up to %d rounds", b4VerifyRounds)},
		Target: b4Target}
	for key, v := range d.params {
		res.Params[key] = v
	}
	rng := rand.New(rand.NewPCG(44+cfg.seed, uint64(k)))
	base := map[string]float64{}
	regions := slices.Clone(d.region)
	slices.Sort(regions)
	priceRNG := rand.New(rand.NewPCG(47, cfg.seed))
	for _, r := range slices.Compact(regions) {
		base[r] = 0.6 + 2*priceRNG.Float64()
	}
	var newT, oldT b4Tally
	feasible, requests := 0, 0
	perBound := map[string]float64{}
	for _, bound := range b4Bounds {
		var newB, oldB b4Tally
		req := b4Request(k, bound)
		for range cfg.requests {
			bids, hosts := d.market(rng, base, cfg.market)
			seed := rng.Uint64()
			truth, err := placement.Exhaustive(req, bids, placement.WithRTT(func(i, j int) time.Duration { return d.truth(hosts[i], hosts[j]) }))
			if err != nil {
				res.Skipped = err.Error()
				return res
			}
			trueMax := func(chosen []placement.Assignment) time.Duration {
				var m time.Duration
				for x, a := range chosen {
					for _, b := range chosen[x+1:] {
						m = max(m, d.truth(hosts[a.Index], hosts[b.Index]))
					}
				}
				return m
			}
			var o, n b4Outcome
			if err := today(req, bids, &pinger{truth: d.truth, hosts: hosts, measured: map[[2]int]time.Duration{}}, seed, &o); err != nil {
				res.Skipped = err.Error()
				return res
			}
			if err := measuredMethod(req, bids, &pinger{truth: d.truth, hosts: hosts, measured: map[[2]int]time.Duration{}}, seed, &n); err != nil {
				res.Skipped = err.Error()
				return res
			}
			for _, out := range []b4Outcome{o, n} {
				if out.ok && trueMax(out.final.Chosen) > bound {
					res.Skipped = fmt.Sprintf("a verified group breaks the bound %s", bound)
					return res
				}
			}
			requests++
			if truth.Feasible {
				feasible++
			}
			for _, t := range []*b4Tally{&newT, &newB} {
				t.add(n, truth, trueMax, bound)
			}
			for _, t := range []*b4Tally{&oldT, &oldB} {
				t.add(o, truth, trueMax, bound)
			}
		}
		b := fmt.Sprintf("_b%d", bound/time.Millisecond)
		nf, of := newB.figures(), oldB.figures()
		perBound["within_1_05_share"+b], perBound["ratio_max"+b] = nf["within_1_05_share"], nf["ratio_max"]
		perBound["base_within_1_05_share"+b], perBound["base_ratio_max"+b] = of["within_1_05_share"], of["ratio_max"]
	}
	res.Figures, res.Baseline = newT.figures(), oldT.figures()
	for key, v := range perBound {
		if base, ok := strings.CutPrefix(key, "base_"); ok {
			res.Baseline[base] = v
		} else {
			res.Figures[key] = v
		}
	}
	res.Figures["requests"], res.Figures["feasible_true_rtt"] = float64(requests), float64(feasible)
	met := res.Figures["within_1_05_share"] >= 0.95 && res.Figures["ratio_max"] <= 1.2
	res.Verdict = map[bool]string{true: "met", false: "missed"}[met]
	return res
}
