package coord

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/serf/coordinate"

	"github.com/gpumesh/gpumesh/p2p/coord/countryrtt"
)

// sim is B5's simulation (bench/coord.go) in small: nodes placed in the
// best-measured countries of the embedded RIPE Atlas table learn coordinates
// from noisy RTT samples, in rounds where every node takes one sample, and
// the median relative error of their predictions against every pair's mean
// RTT is taken after the given number of samples per node. Each node keeps
// connections to 32 random peers and probes them in NextProbes order; one
// sample in four goes to a random peer. Heartbeats announce every node's
// coordinate at the start of each round.
type sim struct {
	nodes, countries, samples int
	seed                      uint64
	tuning                    tuning
	// noSource leaves the estimators without SetSource.
	noSource bool
}

func (s sim) run() (float64, error) {
	tab, err := countryrtt.Load()
	if err != nil {
		return 0, err
	}
	var pool []string
	for _, c := range tab.Countries() {
		if c == "None" || c == "EU" { // pseudo-countries
			continue
		}
		if pool = append(pool, c); len(pool) == s.countries {
			break
		}
	}
	rng := rand.New(rand.NewPCG(5, s.seed))
	place := make([]string, s.nodes)
	metro := make([]float64, s.nodes) // access delay inside the country, ms
	est := make([]*Estimator, s.nodes)
	announced := make([]Coordinate, s.nodes)
	for i := range place {
		place[i] = pool[rng.IntN(len(pool))]
		metro[i] = 5 + rng.Float64()*15
		if est[i], err = newEstimator(s.tuning); err != nil {
			return 0, err
		}
		if !s.noSource {
			est[i].SetSource(func(p string) (Coordinate, bool) {
				j, err := strconv.Atoi(p)
				return announced[j], err == nil
			})
		}
	}
	conns := make([][]string, s.nodes)
	for i := range conns {
		for _, j := range rng.Perm(s.nodes) {
			if j != i && len(conns[i]) < 32 {
				conns[i] = append(conns[i], strconv.Itoa(j))
			}
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	meanRTT := func(i, j int) (float64, bool) {
		if place[i] == place[j] {
			return (metro[i] + metro[j]) / 2, true
		}
		st, ok := tab.Between(place[i], place[j])
		return ms(st.Mean), ok
	}
	// sample is the mean plus zero-mean Gaussian jitter from the pair's
	// std, never below the pair's minimum (see bench/coord.go).
	sample := func(i, j int) (time.Duration, bool) {
		mean, ok := meanRTT(i, j)
		if ok && place[i] != place[j] {
			st, _ := tab.Between(place[i], place[j])
			d := mean - math.Max(1, ms(st.Min))
			for range 1000 {
				if v := mean + rng.NormFloat64()*ms(st.Std); math.Abs(v-mean) <= d {
					mean = v
					break
				}
			}
		}
		return time.Duration(mean * float64(time.Millisecond)), ok
	}
	peer := func(i int) int {
		if rng.Float64() < 0.25 {
			j := rng.IntN(s.nodes - 1)
			if j >= i {
				j++
			}
			return j
		}
		c := slices.Clone(conns[i])
		rng.Shuffle(len(c), func(a, b int) { c[a], c[b] = c[b], c[a] })
		j, _ := strconv.Atoi(est[i].NextProbes(c, 1)[0])
		return j
	}
	for range s.samples {
		for i := range announced {
			announced[i] = est[i].Coordinate()
		}
		for i := range s.nodes {
			for range 100 { // a peer whose country pair was measured
				j := peer(i)
				if rtt, ok := sample(i, j); ok {
					if _, err := est[i].Observe(strconv.Itoa(j), est[j].Coordinate(), rtt); err != nil {
						return 0, fmt.Errorf("node %d observes %d: %w", i, j, err)
					}
					break
				}
			}
		}
	}
	coords := make([]Coordinate, s.nodes)
	for i := range coords {
		coords[i] = est[i].Coordinate()
	}
	var errs []float64
	for i := range s.nodes {
		for j := i + 1; j < s.nodes; j++ {
			if want, ok := meanRTT(i, j); ok {
				errs = append(errs, math.Abs(ms(EstimateRTT(coords[i], coords[j]))-want)/want)
			}
		}
	}
	slices.Sort(errs)
	return errs[len(errs)/2], nil
}

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
	plain := tuning{serf: coordinate.DefaultConfig()}
	var ours, serf float64
	const seeds = 16
	for seed := range uint64(seeds) {
		s := sim{nodes: 80, countries: 60, samples: 20, seed: seed + 1, tuning: defaultTuning()}
		got, err := s.run()
		if err != nil {
			t.Fatal(err)
		}
		s.tuning = plain
		base, err := s.run()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d: median relative error %.3f (plain Serf %.3f)", seed+1, got, base)
		ours += got / seeds
		serf += base / seeds
	}
	t.Logf("mean over %d seeds: %.3f (plain Serf %.3f)", seeds, ours, serf)
	if ours > 0.15 {
		t.Errorf("mean median relative error after 20 samples %.3f, want <= 0.15", ours)
	}
	if serf-ours < 0.05 {
		t.Errorf("plain Serf %.3f, estimator %.3f: want the estimator at least 0.05 better", serf, ours)
	}
}
