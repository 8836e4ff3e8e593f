package main

import (
	"cmp"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/gpumesh/gpumesh/p2p/coord"
)

// countryRTT is the measured RTT between countries, symmetric, in ms.
type countryRTT struct {
	countries []string
	avg, std  map[[2]string]float64
}

// loadCountryRTT reads ../shared/data/country_rtt_stat.csv.gz (RIPE Atlas
// pings aggregated per country pair; upper triangle only).
func loadCountryRTT(path string) (*countryRTT, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	rows, err := csv.NewReader(gz).ReadAll()
	if err != nil {
		return nil, err
	}
	d := &countryRTT{avg: map[[2]string]float64{}, std: map[[2]string]float64{}}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		if len(r) < 5 {
			return nil, fmt.Errorf("bad row %v", r)
		}
		avg, err := strconv.ParseFloat(r[3], 64)
		if err != nil {
			return nil, fmt.Errorf("bad row %v: %w", r, err)
		}
		std, _ := strconv.ParseFloat(r[4], 64) // empty when one ping was taken
		for _, k := range [][2]string{{r[0], r[1]}, {r[1], r[0]}} {
			d.avg[k], d.std[k] = avg, std
		}
		for _, c := range r[:2] {
			if !seen[c] {
				seen[c] = true
				d.countries = append(d.countries, c)
			}
		}
	}
	// Most measured countries first: nodes are placed among the best
	// connected, so that most pairs of nodes have a measured RTT.
	pairs := map[string]int{}
	for k := range d.avg {
		pairs[k[0]]++
	}
	slices.SortFunc(d.countries, func(a, b string) int {
		if pairs[a] != pairs[b] {
			return pairs[b] - pairs[a]
		}
		return cmp.Compare(a, b)
	})
	return d, nil
}

// benchCoordinates is B5: nodes placed in random countries learn Vivaldi
// coordinates from RTT samples (the table's mean plus jitter from its
// standard deviation; 5-20 ms within a country); after each node has taken
// samples, the coordinates predict every pair's mean RTT.
func benchCoordinates(path string, nodes, countries int) Result {
	res := Result{
		ID: "B5", Name: "network-coordinate accuracy (Vivaldi, country RTTs)", Unit: "relative error",
		Params: map[string]any{"nodes": nodes, "countries": countries},
		Target: "median relative error <= 0.15 after 20 samples per node",
	}
	data, err := loadCountryRTT(path)
	if err != nil {
		res.Skipped = fmt.Sprintf("no country RTT data: %v", err)
		return res
	}
	pool := data.countries[:min(countries, len(data.countries))]
	rng := rand.New(rand.NewPCG(5, uint64(nodes)))
	place := make([]string, nodes)
	metro := make([]float64, nodes) // a node's own access delay inside its country
	est := make([]*coord.Estimator, nodes)
	for i := range place {
		place[i] = pool[rng.IntN(len(pool))]
		metro[i] = 5 + rng.Float64()*15
		est[i], _ = coord.NewEstimator()
	}
	// trueRTT is the mean RTT between nodes i and j; ok is false for
	// country pairs the data set has no measurement for.
	trueRTT := func(i, j int) (float64, bool) {
		if place[i] == place[j] {
			return (metro[i] + metro[j]) / 2, true
		}
		v, ok := data.avg[[2]string{place[i], place[j]}]
		return v, ok
	}
	sample := func(i, j int) (time.Duration, bool) {
		mean, ok := trueRTT(i, j)
		if !ok {
			return 0, false
		}
		jitter := 0.0
		if place[i] != place[j] {
			jitter = rng.NormFloat64() * data.std[[2]string{place[i], place[j]}]
		}
		return time.Duration(math.Max(1, mean+jitter) * float64(time.Millisecond)), true
	}
	medianError := func() float64 {
		var errs []float64
		for i := range nodes {
			for j := i + 1; j < nodes; j++ {
				want, ok := trueRTT(i, j)
				if !ok {
					continue
				}
				got := float64(coord.EstimateRTT(est[i].Coordinate(), est[j].Coordinate())) / float64(time.Millisecond)
				errs = append(errs, math.Abs(got-want)/want)
			}
		}
		slices.Sort(errs)
		return errs[len(errs)/2]
	}
	res.Figures = map[string]float64{}
	taken := 0
	for _, checkpoint := range []int{20, 50, 200} {
		for ; taken < checkpoint; taken++ {
			for i := range nodes {
				for range 100 { // a peer whose country pair was measured
					j := rng.IntN(nodes)
					if j == i {
						continue
					}
					if rtt, ok := sample(i, j); ok {
						_, _ = est[i].Observe(strconv.Itoa(j), est[j].Coordinate(), rtt)
						break
					}
				}
			}
		}
		res.Figures[fmt.Sprintf("median_after_%d", checkpoint)] = medianError()
	}
	res.Verdict = map[bool]string{true: "met", false: "missed"}[res.Figures["median_after_20"] <= 0.15]
	return res
}
