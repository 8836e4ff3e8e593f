package coord

import (
	"math/rand/v2"
	"testing"
)

// randomCoord is a valid coordinate at a random position.
func randomCoord(rng *rand.Rand) Coordinate {
	c := Coordinate{Vec: make([]float64, Dimensions), Error: rng.Float64(), Adjustment: (rng.Float64() - 0.5) / 100,
		Height: rng.Float64() / 100}
	for i := range c.Vec {
		c.Vec[i] = (rng.Float64() - 0.5) / 5
	}
	return c
}

// BenchmarkEstimateRTT is one estimate between two coordinates; run with
// -benchmem: it allocates nothing.
func BenchmarkEstimateRTT(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, y := randomCoord(rng), randomCoord(rng)
	b.ReportAllocs()
	for b.Loop() {
		_ = EstimateRTT(x, y)
	}
}

// TestEstimateRTTMatchesSerf checks the in-place estimate against Serf's
// DistanceTo, including adjustments that would make the distance negative.
func TestEstimateRTTMatchesSerf(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range 2000 {
		a, b := randomCoord(rng), randomCoord(rng)
		if n%4 == 0 {
			a.Adjustment, b.Adjustment = -1, -1 // adjusted sum negative: Serf keeps the raw distance
		}
		if got, want := EstimateRTT(a, b), a.serf().DistanceTo(b.serf()); got != want {
			t.Fatalf("case %d: EstimateRTT = %v, Serf's DistanceTo = %v", n, got, want)
		}
	}
}

func TestEstimateRTTAllocatesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a, b := randomCoord(rng), randomCoord(rng)
	if allocs := testing.AllocsPerRun(100, func() { _ = EstimateRTT(a, b) }); allocs != 0 {
		t.Errorf("EstimateRTT allocates %v times, want 0", allocs)
	}
}
