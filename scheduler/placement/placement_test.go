package placement

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/p2p/coord"
)

// at is a coordinate on a plane, in milliseconds: the predicted RTT between
// two of them is their Euclidean distance.
func at(x, y float64) coord.Coordinate {
	v := make([]float64, coord.Dimensions)
	v[0], v[1] = x/1000, y/1000
	return coord.Coordinate{Vec: v}
}

// bid is a fixture: one worker, reputation 1, class A100.
func bid(id string, price, x, y float64) Bid {
	return Bid{ID: id, Price: price, Coord: at(x, y), Reputation: 1, Class: "A100", Workers: 1}
}

func place(t *testing.T, req Request, bids []Bid, opts ...Option) Result {
	t.Helper()
	res, err := Place(req, bids, opts...)
	if err != nil {
		t.Fatalf("Place: %v", err)
	}
	return res
}

func chosenIDs(r Result) []string {
	var ids []string
	for _, a := range r.Chosen {
		ids = append(ids, fmt.Sprintf("%s:%d", a.ID, a.Workers))
	}
	slices.Sort(ids)
	return ids
}

func reasons(r Result) map[string]Reason {
	out := map[string]Reason{}
	for _, rej := range r.Rejected {
		out[rej.ID] = rej.Reason
	}
	return out
}

func TestReasons(t *testing.T) {
	bad := at(0, 0)
	bad.Vec = bad.Vec[:3]
	tests := []struct {
		name string
		req  Request
		bids []Bid
		want map[string]Reason
	}{{
		name: "over price",
		req:  Request{K: 1, MaxPrice: 2},
		bids: []Bid{bid("a", 1, 0, 0), bid("b", 2.5, 0, 0)},
		want: map[string]Reason{"b": ReasonOverPrice},
	}, {
		name: "class",
		req:  Request{K: 1, Class: "a100"},
		bids: []Bid{bid("a", 1, 0, 0), {ID: "b", Price: 0.5, Coord: at(0, 0), Reputation: 1, Class: "RTX-4090", Workers: 1}},
		want: map[string]Reason{"b": ReasonClass},
	}, {
		name: "reputation",
		req:  Request{K: 1, MinReputation: 0.8},
		bids: []Bid{bid("a", 1, 0, 0), {ID: "b", Price: 0.5, Coord: at(0, 0), Reputation: 0.7, Class: "A100", Workers: 1}},
		want: map[string]Reason{"b": ReasonReputation},
	}, {
		name: "invalid",
		req:  Request{K: 1},
		bids: []Bid{
			bid("a", 1, 0, 0),
			{ID: "coord", Price: 0.5, Coord: bad, Reputation: 1, Workers: 1},
			{ID: "price", Price: 0, Coord: at(0, 0), Reputation: 1, Workers: 1},
			{ID: "nan", Price: math.NaN(), Coord: at(0, 0), Reputation: 1, Workers: 1},
			{ID: "workers", Price: 0.5, Coord: at(0, 0), Reputation: 1, Workers: 0},
			{ID: "rep", Price: 0.5, Coord: at(0, 0), Reputation: 1.5, Workers: 1},
		},
		want: map[string]Reason{"coord": ReasonInvalid, "price": ReasonInvalid, "nan": ReasonInvalid, "workers": ReasonInvalid, "rep": ReasonInvalid},
	}, {
		name: "too far from the chosen group",
		req:  Request{K: 2, MaxRTT: 30 * time.Millisecond},
		bids: []Bid{bid("a", 1, 0, 0), bid("b", 1.1, 10, 0), bid("far", 1.05, 100, 0)},
		want: map[string]Reason{"far": ReasonTooFar},
	}, {
		name: "not needed",
		req:  Request{K: 2, MaxRTT: 30 * time.Millisecond},
		bids: []Bid{bid("a", 1, 0, 0), bid("b", 1.1, 10, 0), bid("c", 1.2, 5, 0)},
		want: map[string]Reason{"c": ReasonNotNeeded},
	}, {
		name: "not needed: in a costlier feasible group",
		req:  Request{K: 2, MaxRTT: 30 * time.Millisecond},
		bids: []Bid{bid("a", 1, 0, 0), bid("b", 1.5, 10, 0), bid("c", 1.05, 100, 0), bid("d", 1.1, 110, 0)},
		want: map[string]Reason{"a": ReasonNotNeeded, "b": ReasonNotNeeded},
	}, {
		name: "too few workers",
		req:  Request{K: 3, MaxRTT: 30 * time.Millisecond, MaxPrice: 2},
		bids: []Bid{bid("a", 1, 0, 0), bid("b", 1.1, 10, 0), bid("c", 3, 0, 0)},
		want: map[string]Reason{"a": ReasonTooFew, "b": ReasonTooFew, "c": ReasonOverPrice},
	}, {
		name: "no bound: everything eligible but unchosen is not needed",
		req:  Request{K: 1},
		bids: []Bid{bid("a", 1, 0, 0), bid("b", 1.1, 1000, 0)},
		want: map[string]Reason{"b": ReasonNotNeeded},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := place(t, tt.req, tt.bids)
			if got := reasons(res); !mapsEqual(got, tt.want) {
				t.Errorf("reasons: got %v, want %v", got, tt.want)
			}
			if got, want := len(res.Rejected)+len(res.Chosen), len(tt.bids); got != want {
				t.Errorf("rejected + chosen = %d, want one entry per bid (%d)", got, want)
			}
			for _, rej := range res.Rejected {
				if rej.Detail == "" || tt.bids[rej.Index].ID != rej.ID {
					t.Errorf("rejection %+v: want a detail and the bid's own index", rej)
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]Reason) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestDuplicateIDIsInvalid(t *testing.T) {
	res := place(t, Request{K: 1}, []Bid{bid("a", 2, 0, 0), bid("a", 1, 0, 0)})
	if got := chosenIDs(res); !slices.Equal(got, []string{"a:1"}) || res.Chosen[0].Index != 0 {
		t.Fatalf("chosen %v (index %d), want the first bid a", got, res.Chosen[0].Index)
	}
	if r := res.Rejected[0]; r.Index != 1 || r.Reason != ReasonInvalid {
		t.Errorf("rejected %+v, want bid 1 invalid", r)
	}
}

func TestCheapestFeasibleGroupWins(t *testing.T) {
	// x is the cheapest bid but alone; group a has the next cheapest bid
	// but costs 1+2+3+4 = 10; group b costs 2.4x3 + 2.5 = 9.7 and must win
	// although the greedy search reaches a first.
	bids := []Bid{
		bid("x", 0.5, 500, 500),
		bid("a1", 1, 0, 0), bid("a2", 2, 10, 0), bid("a3", 3, 0, 10), bid("a4", 4, 10, 10),
		bid("b1", 2.4, 200, 0), bid("b2", 2.4, 210, 0), bid("b3", 2.4, 200, 10), bid("b4", 2.5, 210, 10),
	}
	req := Request{K: 4, MaxRTT: 20 * time.Millisecond}
	res := place(t, req, bids)
	if !res.Feasible {
		t.Fatalf("not feasible: %s", res.Explain())
	}
	if got, want := chosenIDs(res), []string{"b1:1", "b2:1", "b3:1", "b4:1"}; !slices.Equal(got, want) {
		t.Errorf("chosen %v, want %v", got, want)
	}
	if math.Abs(res.Cost-9.7) > 1e-9 {
		t.Errorf("cost %v, want 9.7", res.Cost)
	}
	if res.MaxRTT > req.MaxRTT {
		t.Errorf("max RTT %s over the bound", res.MaxRTT)
	}
	if got := reasons(res); got["x"] != ReasonTooFar || got["a1"] != ReasonNotNeeded {
		t.Errorf("reasons %v: want x too far, a1 not needed (in a feasible group)", got)
	}
}

func TestSeveralWorkersPerProvider(t *testing.T) {
	// One provider with 3 workers and a far, cheaper one with 1: workers on
	// one provider are 0 ms apart.
	bids := []Bid{bid("cheap", 1, 0, 0), bid("far", 0.9, 500, 0), bid("near", 1.5, 5, 0)}
	bids[0].Workers = 3
	res := place(t, Request{K: 4, MaxRTT: 10 * time.Millisecond}, bids)
	if got, want := chosenIDs(res), []string{"cheap:3", "near:1"}; !slices.Equal(got, want) {
		t.Fatalf("chosen %v, want %v", got, want)
	}
	if res.Cost != 4.5 {
		t.Errorf("cost %v, want 4.5", res.Cost)
	}
	res = place(t, Request{K: 3, MaxRTT: 10 * time.Millisecond}, bids)
	if got, want := chosenIDs(res), []string{"cheap:3"}; !slices.Equal(got, want) || res.MaxRTT != 0 {
		t.Fatalf("chosen %v with max RTT %s, want %v at 0 ms", got, res.MaxRTT, want)
	}
}

func TestReputationBreaksTies(t *testing.T) {
	bids := []Bid{bid("low", 1, 0, 0), bid("high", 1, 0, 0), bid("cheaper", 0.99, 0, 0)}
	bids[0].Reputation, bids[1].Reputation, bids[2].Reputation = 0.5, 0.9, 0.9
	res := place(t, Request{K: 2, MaxRTT: 10 * time.Millisecond}, bids)
	if got, want := chosenIDs(res), []string{"cheaper:1", "high:1"}; !slices.Equal(got, want) {
		t.Errorf("chosen %v, want %v", got, want)
	}
	// The weight is small: a 10 % cheaper bid still beats a perfect one.
	bids = []Bid{bid("perfect", 1, 0, 0), bid("poor", 0.9, 0, 0)}
	bids[1].Reputation = 0.2
	res = place(t, Request{K: 1}, bids)
	if got := chosenIDs(res); !slices.Equal(got, []string{"poor:1"}) {
		t.Errorf("chosen %v, want poor (0.9 x 1.08 < 1)", got)
	}
	if math.Abs(res.Score-0.9*1.08) > 1e-12 || res.Cost != 0.9 {
		t.Errorf("score %v, cost %v: want 0.972 and 0.9", res.Score, res.Cost)
	}
}

func TestUnsatisfiableBoundExplains(t *testing.T) {
	// 12 bids over the price, 3 below the reputation, 1 of another class,
	// 1 invalid, and 4 eligible providers 100 ms apart from one another
	// except a and b (5 ms apart): at most 2 of 3 workers within 20 ms.
	var bids []Bid
	for i := range 12 {
		bids = append(bids, bid(fmt.Sprintf("pricey%d", i), 5, 0, 0))
	}
	for i := range 3 {
		b := bid(fmt.Sprintf("shady%d", i), 1, 0, 0)
		b.Reputation = 0.1
		bids = append(bids, b)
	}
	other := bid("cpu", 1, 0, 0)
	other.Class = "CPU-x86"
	bids = append(bids, other, bid("", 1, 0, 0))
	bids = append(bids, bid("a", 1, 0, 0), bid("b", 1.2, 5, 0), bid("c", 1.4, 100, 0), bid("d", 1.6, 0, 100))
	req := Request{K: 3, MaxRTT: 20 * time.Millisecond, MaxPrice: 2, MinReputation: 0.5, Class: "A100"}
	for _, solve := range []func(Request, []Bid, ...Option) (Result, error){Place, Exhaustive} {
		res, err := solve(req, bids)
		if err != nil {
			t.Fatal(err)
		}
		if res.Feasible || len(res.Chosen) != 0 {
			t.Fatalf("feasible with %v, want not", chosenIDs(res))
		}
		want := map[Reason]int{ReasonOverPrice: 12, ReasonReputation: 3, ReasonClass: 1, ReasonInvalid: 1, ReasonTooFar: 4}
		for r, n := range want {
			if got := res.Summary.Reasons[r]; got != n {
				t.Errorf("%s: got %d, want %d", r, got, n)
			}
		}
		sum := res.Summary
		if sum.Eligible != 4 || sum.EligibleWorkers != 4 || sum.LargestGroup != 2 {
			t.Errorf("summary %+v: want 4 eligible, 4 workers, largest group 2", sum)
		}
		c := sum.Cheapest
		if !c.OK || math.Abs(c.Cost-3.6) > 1e-9 || math.Abs(ms64(c.MaxRTT)-100) > 1e-6 {
			t.Errorf("cheapest without bound: %+v, want a, b, c for 3.60/h with max RTT 100 ms", c)
		}
		text := res.Explain()
		for _, part := range []string{"no group of 3 workers within 20.0 ms", "12 bids over your price", "3 bids below your reputation",
			"1 bid of another class", "1 bid invalid", "4 bids too far", "largest group found within 20.0 ms holds 2 workers",
			"cheapest 3 workers cost $3.60/h with estimated max RTT 100.0 ms"} {
			if !strings.Contains(text, part) {
				t.Errorf("Explain() = %q, want it to say %q", text, part)
			}
		}
	}
}

func ms64(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func TestExplainFeasible(t *testing.T) {
	res := place(t, Request{K: 2, MaxRTT: 30 * time.Millisecond, MaxPrice: 2},
		[]Bid{bid("a", 1, 0, 0), bid("b", 1.1, 10, 0), bid("c", 1.2, 5, 0), bid("far", 1.05, 100, 0), bid("x", 3, 0, 0)})
	want := "2 workers on 2 providers for $2.10/h, estimated max RTT 10.0 ms (bound 30.0 ms); 3 bids not chosen: 1 bid over your price, 1 bid too far from the rest, 1 bid not needed"
	if got := res.Explain(); got != want {
		t.Errorf("Explain() =\n%q, want\n%q", got, want)
	}
}

func TestNoBids(t *testing.T) {
	res := place(t, Request{K: 1}, nil)
	if res.Feasible || len(res.Rejected) != 0 {
		t.Fatalf("feasible %v with %d rejections, want neither", res.Feasible, len(res.Rejected))
	}
	if got, want := res.Explain(), "no group of 1 worker; the 0 bids eligible host only 0 workers"; got != want {
		t.Errorf("Explain() = %q, want %q", got, want)
	}
}

func TestInvalidRequest(t *testing.T) {
	_, err := Place(Request{K: 0, MaxRTT: -1, MaxPrice: math.NaN(), MinReputation: 2}, nil)
	if !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("err = %v, want ErrInvalidRequest", err)
	}
	if n := strings.Count(err.Error(), ErrInvalidRequest.Error()); n != 4 {
		t.Errorf("err = %q: %d problems, want all 4", err, n)
	}
	if _, err := Place(Request{K: 1}, nil, WithLimits(-1, 0)); err == nil {
		t.Error("negative limits accepted")
	}
	if _, err := Place(Request{K: 1}, nil, WithRTT(nil)); err == nil {
		t.Error("nil RTT function accepted")
	}
}

func TestWithRTT(t *testing.T) {
	// Coordinates say all are together; the given RTTs say b is far.
	bids := []Bid{bid("a", 1, 0, 0), bid("b", 1.1, 0, 0), bid("c", 1.2, 0, 0)}
	bids[2].Coord = coord.Coordinate{} // not checked with WithRTT
	rtt := func(i, j int) time.Duration {
		if i == 1 || j == 1 {
			return time.Second
		}
		return time.Millisecond
	}
	res := place(t, Request{K: 2, MaxRTT: 10 * time.Millisecond}, bids, WithRTT(rtt))
	if got, want := chosenIDs(res), []string{"a:1", "c:1"}; !slices.Equal(got, want) {
		t.Errorf("chosen %v, want %v", got, want)
	}
}

// market is a random set of bids clustered on a plane, as providers
// cluster in cities: centres 0..300 ms apart, members within spread of
// their centre.
func market(rng *rand.Rand, n, centres int, spread float64, maxWorkers int) []Bid {
	type pt struct{ x, y float64 }
	cs := make([]pt, centres)
	for i := range cs {
		cs[i] = pt{rng.Float64() * 300, rng.Float64() * 300}
	}
	bids := make([]Bid, n)
	for i := range bids {
		c := cs[rng.IntN(len(cs))]
		bids[i] = Bid{
			ID:         fmt.Sprintf("p%d", i),
			Price:      0.5 + 2.5*rng.Float64(),
			Coord:      at(c.x+(rng.Float64()*2-1)*spread, c.y+(rng.Float64()*2-1)*spread),
			Reputation: 0.5 + 0.5*rng.Float64(),
			Class:      "A100",
			Workers:    1 + rng.IntN(maxWorkers),
		}
	}
	return bids
}

// checkFeasible asserts everything a feasible result promises.
func checkFeasible(t *testing.T, req Request, bids []Bid, res Result) {
	t.Helper()
	if !res.Feasible {
		return
	}
	workers, cost := 0, 0.0
	for x, a := range res.Chosen {
		b := bids[a.Index]
		if a.ID != b.ID || a.Workers < 1 || a.Workers > b.Workers {
			t.Fatalf("assignment %+v for bid %+v", a, b)
		}
		if req.MaxPrice > 0 && b.Price > req.MaxPrice || b.Reputation < req.MinReputation {
			t.Fatalf("chose %+v against request %+v", b, req)
		}
		for _, o := range res.Chosen[x+1:] {
			if d := coord.EstimateRTT(b.Coord, bids[o.Index].Coord); req.MaxRTT > 0 && d > req.MaxRTT {
				t.Fatalf("%s and %s are %s apart, bound %s", a.ID, o.ID, d, req.MaxRTT)
			}
		}
		workers += a.Workers
		cost += a.Price * float64(a.Workers)
	}
	if workers != req.K || math.Abs(cost-res.Cost) > 1e-9 {
		t.Fatalf("%d workers costing %v, result says %d workers costing %v", workers, cost, req.K, res.Cost)
	}
	if len(res.Chosen)+len(res.Rejected) != len(bids) {
		t.Fatalf("%d chosen + %d rejected, want %d bids", len(res.Chosen), len(res.Rejected), len(bids))
	}
}

// randomFeasible builds a random feasible group, or reports none: random
// anchors, random compatible bids added until K workers. It returns its
// score with the cheapest assignment of its members.
func randomFeasible(rng *rand.Rand, req Request, bids []Bid) (float64, bool) {
	for range 20 {
		order := rng.Perm(len(bids))
		var members []int
		w := 0
		for _, i := range order {
			ok := true
			for _, j := range members {
				ok = ok && coord.EstimateRTT(bids[i].Coord, bids[j].Coord) <= req.MaxRTT
			}
			if ok {
				members = append(members, i)
				w += bids[i].Workers
			}
			if w >= req.K {
				break
			}
		}
		if w < req.K {
			continue
		}
		score, _ := groupScore(req, bids, members)
		return score, true
	}
	return 0, false
}

// groupScore fills req.K workers from members, cheapest effective price
// first, and returns the score and whether they hold K workers.
func groupScore(req Request, bids []Bid, members []int) (float64, bool) {
	members = slices.Clone(members)
	slices.SortFunc(members, func(a, b int) int { return cmp.Compare(bids[a].EffectivePrice(), bids[b].EffectivePrice()) })
	score, left := 0.0, req.K
	for _, i := range members {
		take := min(left, bids[i].Workers)
		score += float64(take) * bids[i].EffectivePrice()
		left -= take
	}
	return score, left == 0
}

// bruteForce is the optimum score by enumerating every subset of bids: the
// reference Exhaustive is checked against. Bids must all be eligible.
func bruteForce(req Request, bids []Bid) (float64, bool) {
	best, found := math.Inf(1), false
	n := len(bids)
	for mask := 1; mask < 1<<n; mask++ {
		var members []int
		for i := range n {
			if mask&(1<<i) != 0 {
				members = append(members, i)
			}
		}
		ok := true
		for x, i := range members {
			for _, j := range members[x+1:] {
				ok = ok && coord.EstimateRTT(bids[i].Coord, bids[j].Coord) <= req.MaxRTT
			}
		}
		if !ok {
			continue
		}
		score, full := groupScore(req, bids, members)
		if full && score < best {
			best, found = score, true
		}
	}
	return best, found
}

func TestExhaustiveMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for c := range 300 {
		n, k := 1+rng.IntN(10), 1+rng.IntN(4)
		bids := market(rng, n, 1+rng.IntN(4), 5+rng.Float64()*40, 1+rng.IntN(3))
		req := Request{K: k, MaxRTT: time.Duration((10 + rng.Float64()*80) * float64(time.Millisecond))}
		res, err := Exhaustive(req, bids)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := bruteForce(req, bids)
		if res.Feasible != ok || ok && math.Abs(res.Score-want) > 1e-9 {
			t.Fatalf("case %d: Exhaustive feasible %v score %v, brute force %v %v", c, res.Feasible, res.Score, ok, want)
		}
		checkFeasible(t, req, bids, res)
	}
}

// compareExhaustive runs Place and Exhaustive on random markets and returns
// how many were feasible, how many Place solved at the optimum, and the
// worst ratio of Place's score to the optimum. It fails the test if Place
// breaks a promise, beats the optimum, or finds a group where none exists.
func compareExhaustive(t *testing.T, rng *rand.Rand, cases, maxN, maxK int, maxSpread float64, opts ...Option) (feasible, none, exact int, worst float64) {
	t.Helper()
	worst = 1
	for c := range cases {
		n, k := 4+rng.IntN(maxN-3), 1+rng.IntN(maxK)
		bids := market(rng, n, 1+rng.IntN(4), 5+rng.Float64()*(maxSpread-5), 1+rng.IntN(3))
		req := Request{K: k, MaxRTT: time.Duration((10 + rng.Float64()*80) * float64(time.Millisecond)),
			MaxPrice: []float64{0, 2.5}[rng.IntN(2)], MinReputation: []float64{0, 0.6}[rng.IntN(2)]}
		got := place(t, req, bids, opts...)
		want, err := Exhaustive(req, bids)
		if err != nil {
			t.Fatal(err)
		}
		checkFeasible(t, req, bids, got)
		checkFeasible(t, req, bids, want)
		if got.Summary.LargestGroup > want.Summary.LargestGroup {
			t.Fatalf("case %d: Place found a group of %d workers, Exhaustive's largest is %d", c, got.Summary.LargestGroup, want.Summary.LargestGroup)
		}
		if !want.Feasible {
			if got.Feasible {
				t.Fatalf("case %d: Place found a group, Exhaustive none", c)
			}
			continue
		}
		feasible++
		if !got.Feasible {
			none++
			continue
		}
		ratio := got.Score / want.Score
		if ratio < 1-1e-9 {
			t.Fatalf("case %d: Place %v beats the optimum %v", c, got.Score, want.Score)
		}
		if ratio <= 1+1e-9 {
			exact++
		}
		worst = max(worst, ratio)
	}
	return feasible, none, exact, worst
}

// TestPlaceAgainstExhaustive compares Place with the optimum on small
// markets (n <= 14, k <= 4, providers in 1-4 clusters of 5-120 ms). The
// greedy can miss: a cheap bid at the edge of an anchor's ball can shut out
// a cheaper group of closer bids, and the seeded walks and the local search
// repair only misses one or two members away. On these seeds it found the
// optimum every time (before the seeded walks and the local search, a
// similar generator gave 99 % with misses up to 1.4x); the assertion
// leaves room for one miss in a hundred.
func TestPlaceAgainstExhaustive(t *testing.T) {
	cases := 800
	feasible, none, exact, worst := compareExhaustive(t, rand.New(rand.NewPCG(3, 4)), cases, 14, 4, 120)
	rate := float64(exact) / float64(feasible)
	t.Logf("%d cases, %d feasible: Place found none in %d, the optimum in %d (%.2f %%), worst %.4fx", cases, feasible, none, exact, 100*rate, worst)
	if feasible < cases/2 {
		t.Errorf("only %d of %d cases feasible: the generator tests too little", feasible, cases)
	}
	if none > 0 || rate < 0.99 || worst > 1.05 {
		t.Errorf("no group in %d feasible cases, optimum in %.2f %%, worst %.4fx: want 0, >= 99 %% and <= 1.05x", none, 100*rate, worst)
	}
}

// TestPlaceAgainstExhaustiveLarger does the same on markets of up to 40
// bids, k up to 8 and tighter clusters (5-60 ms), where the greedy's misses
// show: on these seeds, with single moves only, 4 of 2482 feasible cases
// missed the optimum, the worst by 1.10x, and a group was always found;
// pair moves repair none of those four (TestSearchBeyondSingleSwaps keeps
// instances they do repair); the exact stage, allowed up to 40 bids,
// finds the optimum in all. The assertions hold what was measured with a
// margin.
func TestPlaceAgainstExhaustiveLarger(t *testing.T) {
	cases := 3000
	for _, tc := range []struct {
		name string
		opts []Option
		rate float64 // least share at the optimum
	}{
		{"single swaps", []Option{WithExact(-1, 0), noPairs()}, 0.99},
		{"pair swaps", []Option{WithExact(-1, 0)}, 0.99},
		{"Place, exact stage up to 40 bids", []Option{WithExact(40, 0)}, 1},
	} {
		feasible, none, exact, worst := compareExhaustive(t, rand.New(rand.NewPCG(5, 4)), cases, 40, 8, 60, tc.opts...)
		rate := float64(exact) / float64(feasible)
		t.Logf("%s: %d cases, %d feasible: none found in %d, the optimum in %d (%.2f %%), worst %.4fx", tc.name, cases, feasible, none, exact, 100*rate, worst)
		if none > 0 || rate < tc.rate || worst > 1.2 {
			t.Errorf("%s: no group in %d of %d feasible cases, optimum in %.2f %%, worst %.4fx: want 0, >= %.0f %%, <= 1.2x", tc.name, none, feasible, 100*rate, worst, 100*tc.rate)
		}
	}
}

func TestPropertiesOnLargerMarkets(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	beaten, compared := 0, 0
	for c := range 300 {
		n, k := 20+rng.IntN(180), 1+rng.IntN(16)
		bids := market(rng, n, 2+rng.IntN(10), 5+rng.Float64()*30, 1+rng.IntN(4))
		req := Request{K: k, MaxRTT: time.Duration((10 + rng.Float64()*100) * float64(time.Millisecond)),
			MaxPrice: []float64{0, 2.5}[rng.IntN(2)], MinReputation: []float64{0, 0.6}[rng.IntN(2)]}
		res := place(t, req, bids)
		checkFeasible(t, req, bids, res)
		if again := place(t, req, bids); again.Score != res.Score || !slices.Equal(chosenIDs(again), chosenIDs(res)) {
			t.Fatalf("case %d: two runs differ", c)
		}
		shuffled := slices.Clone(bids)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if other := place(t, req, shuffled); !slices.Equal(chosenIDs(other), chosenIDs(res)) {
			t.Fatalf("case %d: the order of the bids changed the choice: %v, then %v", c, chosenIDs(res), chosenIDs(other))
		}
		var eligible []Bid
		for i, b := range bids {
			if (req.MaxPrice == 0 || b.Price <= req.MaxPrice) && b.Reputation >= req.MinReputation {
				eligible = append(eligible, bids[i])
			}
		}
		for range 3 {
			score, ok := randomFeasible(rng, req, eligible)
			if !ok {
				continue
			}
			compared++
			if !res.Feasible {
				t.Fatalf("case %d: a random group is feasible, Place says none: %s", c, res.Explain())
			}
			if res.Score > score+1e-9 {
				beaten++
				t.Errorf("case %d: a random feasible group scores %v, Place %v", c, score, res.Score)
			}
		}
	}
	t.Logf("compared with %d random feasible groups, %d cheaper than Place", compared, beaten)
}

// TestWorkGrowsLinearly counts RTT estimates at n = 1000 and 2000 bids:
// doubling the bids must not much more than double them, and they stay
// within the documented bound (workBound).
func TestWorkGrowsLinearly(t *testing.T) {
	for _, k := range []int{4, 16} {
		for _, bound := range []float64{15, 60} {
			est := map[int]int{}
			for _, n := range []int{1000, 2000} {
				total := 0
				for seed := range 3 {
					rng := rand.New(rand.NewPCG(7, uint64(seed)))
					bids := market(rng, n, 40, 10, 3)
					req := Request{K: k, MaxRTT: time.Duration(bound * float64(time.Millisecond))}
					res := place(t, req, bids)
					if limit := workBound(n, k); res.Stats.RTTEstimates > limit {
						t.Errorf("k=%d n=%d: %d estimates, over the bound %d", k, n, res.Stats.RTTEstimates, limit)
					}
					total += res.Stats.RTTEstimates
				}
				est[n] = total
			}
			ratio := float64(est[2000]) / float64(est[1000])
			t.Logf("k=%d bound %v ms: %d estimates at n=1000, %d at n=2000 (%.2fx)", k, bound, est[1000]/3, est[2000]/3, ratio)
			if ratio > 2.5 {
				t.Errorf("k=%d bound %v ms: estimates grew %.2fx from n=1000 to 2000, want <= 2.5x", k, bound, ratio)
			}
		}
	}
}

// workBound is the package doc's bound on a request's RTT estimates with
// the default limits: A anchors, each growing its ball once (n) and running
// walks of at most S bids checked against at most K members, improve's
// single and pair refills, and the reasons (n x K) and the chosen and
// cheapest groups' max RTT (K x K). The exact stage runs only up to
// ExactBids eligible bids, adding at most ExactBids^2/2 estimates.
func workBound(n, k int) int {
	a, s := AnchorsPerWorker*k, ScanPerWorker*k
	walks := 1 + seeds + 2 + 1
	return a*(n+walks*s*k) + improveRounds*(2*k+k*(k-1)/2)*s*k + n*k + k*k + ExactBids*ExactBids/2
}

func TestMeasuredOverridesEstimates(t *testing.T) {
	// a, b, c predicted together; a ping found a-b at 50 ms.
	bids := []Bid{bid("a", 1, 0, 0), bid("b", 1.1, 1, 0), bid("c", 1.2, 2, 0)}
	measured := func(i, j int) (time.Duration, bool) {
		if min(i, j) == 0 && max(i, j) == 1 {
			return 50 * time.Millisecond, true
		}
		return 0, false
	}
	req := Request{K: 2, MaxRTT: 10 * time.Millisecond}
	if got := chosenIDs(place(t, req, bids)); !slices.Equal(got, []string{"a:1", "b:1"}) {
		t.Fatalf("without measurements chosen %v, want a and b", got)
	}
	res := place(t, req, bids, WithMeasured(measured))
	if got := chosenIDs(res); !slices.Equal(got, []string{"a:1", "c:1"}) {
		t.Errorf("chosen %v, want a and c", got)
	}
	if r := reasons(res); r["b"] != ReasonTooFar {
		t.Errorf("b: %s, want too_far (50 ms from a)", r["b"])
	}
	if _, err := Place(req, bids, WithMeasured(nil)); err == nil {
		t.Error("nil measured function accepted")
	}
}

// TestFailureIsTyped: an infeasible result's Err is a *Failure matching
// ErrNoGroup whose text is Explain's; a feasible result has none.
func TestFailureIsTyped(t *testing.T) {
	res, err := Place(Request{K: 3}, []Bid{bid("a", 1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	var f *Failure
	if e := res.Err(); !errors.Is(e, ErrNoGroup) || !errors.As(e, &f) || f.Error() != res.Explain() || f.Summary.EligibleWorkers != 1 {
		t.Fatalf("Err() = %v, want a *Failure saying %q", e, res.Explain())
	}
	ok, err := Place(Request{K: 1}, []Bid{bid("a", 1, 0, 0)})
	if err != nil || ok.Err() != nil {
		t.Fatalf("feasible: Err() = %v, %v", ok.Err(), err)
	}
}
