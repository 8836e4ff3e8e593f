package coord

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestValidateRefusesWhatAPeerMustNotSend(t *testing.T) {
	good := Coordinate{Vec: make([]float64, Dimensions), Height: 1e-5}
	if err := good.Validate(); err != nil {
		t.Fatalf("origin: %v", err)
	}
	bad := map[string]Coordinate{
		"too few dimensions": {Vec: []float64{0, 0}},
		"NaN":                {Vec: []float64{math.NaN(), 0, 0, 0, 0, 0, 0, 0}},
		"infinite height":    {Vec: make([]float64, Dimensions), Height: math.Inf(1)},
		"absurd component":   {Vec: []float64{1e9, 0, 0, 0, 0, 0, 0, 0}},
		"negative error":     {Vec: make([]float64, Dimensions), Error: -1},
	}
	for name, c := range bad {
		if err := c.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	e, _ := NewEstimator()
	before := e.Coordinate()
	if _, err := e.Observe("p", bad["NaN"], 10*time.Millisecond); err == nil {
		t.Error("Observe accepted a NaN coordinate")
	}
	if got := e.Coordinate(); !slices.Equal(got.Vec, before.Vec) {
		t.Error("an invalid sample moved the coordinate")
	}
}

// TestCoordinatesLearnAPlane places nodes on a plane where RTT is distance,
// lets each exchange samples with random others, and checks that the
// coordinates then predict the RTT of pairs that never measured each other.
func TestCoordinatesLearnAPlane(t *testing.T) {
	const nodes, rounds = 30, 200
	rng := rand.New(rand.NewPCG(7, 7))
	type point struct{ x, y float64 }
	pos := make([]point, nodes)
	est := make([]*Estimator, nodes)
	for i := range pos {
		pos[i] = point{rng.Float64() * 100, rng.Float64() * 100} // milliseconds
		est[i], _ = NewEstimator()
	}
	rtt := func(i, j int) time.Duration {
		d := math.Hypot(pos[i].x-pos[j].x, pos[i].y-pos[j].y) + 1
		return time.Duration(d * float64(time.Millisecond))
	}
	for range rounds {
		for i := range nodes {
			j := rng.IntN(nodes - 1)
			if j >= i {
				j++
			}
			if _, err := est[i].Observe(strconv.Itoa(j), est[j].Coordinate(), rtt(i, j)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var errs []float64
	for i := range nodes {
		for j := i + 1; j < nodes; j++ {
			got := EstimateRTT(est[i].Coordinate(), est[j].Coordinate())
			want := rtt(i, j)
			errs = append(errs, math.Abs(float64(got-want))/float64(want))
		}
	}
	slices.Sort(errs)
	if med := errs[len(errs)/2]; med > 0.15 {
		t.Errorf("median relative error %.3f, want <= 0.15", med)
	}
}

func TestNextProbesPrefersNewPeersThenLeastRecent(t *testing.T) {
	e, err := NewEstimator()
	if err != nil {
		t.Fatal(err)
	}
	peer := Coordinate{Vec: []float64{0.01, 0, 0, 0, 0, 0, 0, 0}, Error: 0.5, Height: 1e-5}
	for _, p := range []string{"a", "b", "c", "a"} { // b is now the least recently sampled
		if _, err := e.Observe(p, peer, 20*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	cands := []string{"a", "b", "c", "x", "y"}
	if got, want := e.NextProbes(cands, 10), []string{"x", "y", "b", "c", "a"}; !slices.Equal(got, want) {
		t.Errorf("NextProbes = %v, want %v", got, want)
	}
	if got := e.NextProbes(cands, 1); !slices.Equal(got, []string{"x"}) {
		t.Errorf("NextProbes(1) = %v, want [x]", got)
	}
	if got := e.NextProbes(cands, -1); len(got) != 0 {
		t.Errorf("NextProbes(-1) = %v, want none", got)
	}
	e.Forget("a")
	if got, want := e.NextProbes([]string{"b", "a"}, 2), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("after Forget(a): NextProbes = %v, want %v", got, want)
	}
}

// TestSourceMovesRememberedPeers feeds a node samples to three peers while
// their announced coordinates are all wrong (bunched up near the origin),
// then lets the source report where they really are. With the source, the
// next sample re-fits against the true positions and the coordinate
// predicts the RTT to all three; without it, it cannot.
func TestSourceMovesRememberedPeers(t *testing.T) {
	at := func(x, y float64) Coordinate {
		v := make([]float64, Dimensions)
		v[0], v[1] = x, y
		return Coordinate{Vec: v, Error: 0.05, Height: 1e-5}
	}
	truth := map[string]Coordinate{"a": at(0.100, 0), "b": at(0, 0.100), "c": at(-0.100, -0.100)}
	me := at(0.020, 0.010)
	rtt := func(p string) time.Duration { return EstimateRTT(me, truth[p]) }
	worst := func(useSource bool) float64 {
		e, err := NewEstimator()
		if err != nil {
			t.Fatal(err)
		}
		if useSource {
			e.SetSource(func(p string) (Coordinate, bool) { c, ok := truth[p]; return c, ok })
		}
		for i, p := range []string{"a", "b", "c", "a", "b", "c"} {
			stale := at(0.001*float64(i+1), 0.001)
			if _, err := e.Observe(p, stale, rtt(p)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.Observe("a", truth["a"], rtt("a")); err != nil {
			t.Fatal(err)
		}
		w := 0.0
		for p, c := range truth {
			got := EstimateRTT(e.Coordinate(), c)
			w = math.Max(w, math.Abs(float64(got-rtt(p)))/float64(rtt(p)))
		}
		return w
	}
	with, without := worst(true), worst(false)
	t.Logf("worst relative error: %.3f with the source, %.3f without", with, without)
	if with > 0.1 {
		t.Errorf("with the source: worst relative error %.3f, want <= 0.1", with)
	}
	if without < 2*with {
		t.Errorf("without the source: worst relative error %.3f, with %.3f: want the source to matter", without, with)
	}
}
