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
