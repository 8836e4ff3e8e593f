package coordsim

import (
	"math"
	"testing"
	"time"
)

// TestAccuracyOnCountryRTTs runs B5 in small: 80 nodes in 60 countries,
// 20 samples each, 16 seeds, against B5's target of 0.15 for the mean of
// the 16 medians. Measured: 0.130-0.132 from run to run (one seed's median
// ranges 0.11-0.16; Serf picks a random direction for coincident
// coordinates from its global rand, so fixed seeds still vary a little).
// The margin covers a change of seeds or of the order in which the
// simulation draws its random numbers (the mean of 16 seeds moves by about
// 0.003), and the test fails if the estimator loses the re-fit (plain
// Serf: 0.215) or its use of the source (0.163), or if the table or the
// sampling change enough to break the target. Plain Serf must stay at
// least 0.05 worse on the same seeds (measured 0.083), which pins that the
// re-fit, not an easier simulation, meets the target. It does not catch
// Serf's adjustment term coming back (0.145).
func TestAccuracyOnCountryRTTs(t *testing.T) {
	var ours, serf float64
	const seeds = 16
	for seed := range uint64(seeds) {
		e, err := Run(Params{Nodes: 80, Countries: 60, Connections: 32, RandomShare: 0.25, Checkpoints: []int{20}, Seed: seed + 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d: median relative error %.3f (plain Serf %.3f)", seed+1, e.Errors.Estimator[0], e.Errors.Serf[0])
		ours += e.Errors.Estimator[0] / seeds
		serf += e.Errors.Serf[0] / seeds
	}
	t.Logf("mean over %d seeds: %.3f (plain Serf %.3f)", seeds, ours, serf)
	if ours > 0.15 {
		t.Errorf("mean median relative error after 20 samples %.3f, want <= 0.15", ours)
	}
	if serf-ours < 0.05 {
		t.Errorf("plain Serf %.3f, estimator %.3f: want the estimator at least 0.05 better", serf, ours)
	}
}

// TestTruthMatrix: with Truth set, MeanRTT is the matrix and the learnt
// coordinates predict it (a matrix of points on a line, which coordinates
// can represent, to within a median error of 15 %).
func TestTruthMatrix(t *testing.T) {
	pos := func(i int) float64 { return float64(i%20) * 7 }
	truth := func(i, j int) time.Duration {
		return time.Duration((10 + math.Abs(pos(i)-pos(j))) * float64(time.Millisecond))
	}
	net, err := Run(Params{Nodes: 60, Connections: 16, RandomShare: 0.25, Checkpoints: []int{30}, Seed: 1, Truth: truth, TruthJitter: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := net.MeanRTT(3, 17); !ok || d != truth(3, 17) {
		t.Errorf("MeanRTT(3, 17) = %v %v, want %v", d, ok, truth(3, 17))
	}
	if e := net.Errors.Estimator[0]; e > 0.15 {
		t.Errorf("median relative error %.3f, want <= 0.15", e)
	}
}
