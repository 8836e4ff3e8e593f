package main

import (
	"math"
	"math/rand/v2"
	"time"
)

// tivCity is a place providers cluster in: a city with large data centres.
type tivCity struct {
	name     string
	lat, lon float64
}

// tivCities are the cities of B4's synthetic data set: the main data-centre
// metros of five continents.
var tivCities = []tivCity{
	{"Ashburn", 39.0, -77.5}, {"New York", 40.7, -74.0}, {"Chicago", 41.9, -87.6}, {"Dallas", 32.8, -96.8},
	{"Atlanta", 33.7, -84.4}, {"Los Angeles", 34.1, -118.2}, {"San Jose", 37.3, -121.9}, {"Seattle", 47.6, -122.3},
	{"Toronto", 43.7, -79.4}, {"Sao Paulo", -23.5, -46.6}, {"London", 51.5, -0.1}, {"Amsterdam", 52.4, 4.9},
	{"Frankfurt", 50.1, 8.7}, {"Paris", 48.9, 2.4}, {"Stockholm", 59.3, 18.1}, {"Warsaw", 52.2, 21.0},
	{"Madrid", 40.4, -3.7}, {"Milan", 45.5, 9.2}, {"Helsinki", 60.2, 24.9}, {"Moscow", 55.8, 37.6},
	{"Dubai", 25.2, 55.3}, {"Mumbai", 19.1, 72.9}, {"Singapore", 1.35, 103.8}, {"Hong Kong", 22.3, 114.2},
	{"Tokyo", 35.7, 139.7}, {"Seoul", 37.6, 127.0}, {"Sydney", -33.9, 151.2}, {"Johannesburg", -26.2, 28.0},
}

// tivParams calibrate the synthetic matrix (newTIVMatrix) from published
// measurements:
//
//   - Propagation: great-circle distance at 2/3 of the speed of light
//     (1 ms of RTT per 100 km), inflated per city pair by a factor drawn
//     uniformly from 1.7-1.9: Singla et al., "The Internet at the Speed of
//     Light" (HotNets 2014), measured minimum RTTs a median 3.2x the
//     c-latency, about 2.1x the fibre latency, and Spring, Mahajan and
//     Anderson, "The Causes of Path Inflation" (SIGCOMM 2003), attribute
//     most of it to topology and routing policy, which differ per pair.
//   - Access: each host adds 1-10 ms (its last mile and data-centre
//     fabric), and two hosts in one city see each other at their access
//     delays plus 1 ms.
//   - Detours: a share of host pairs is routed through a distant exchange
//     (policy routing, "hot potato", tromboning) and pays 10-80 ms more;
//     with 10 % of pairs detoured, about 10 % of triples violate the
//     triangle inequality, by a median of about 20 ms (without detours,
//     2 %, by 4 ms; a wider inflation spread of 1.3-2.5 alone gives 25 %). Wang, Zhang and Ng,
//     "Towards Network Triangle Inequality Violation Aware Distributed
//     Systems" (IMC 2007), and Lumezanu, Baden, Spring and Bhattacharjee,
//     "Triangle Inequality Variations in the Internet" (IMC 2009), report
//     violating shares of a few % to about 15 % of triples in internet
//     RTT data sets (King, PlanetLab, Azureus), most with savings of
//     tens of ms. B4 measures and prints what its matrix holds
//     (tivStats).
var tivParams = struct {
	inflationMin, inflationMax float64 // per city pair
	accessMin, accessMax       float64 // ms per host
	detourShare                float64 // of host pairs
	detourMin, detourMax       float64 // ms added
}{1.7, 1.9, 1, 10, 0.10, 10, 80}

// tivMatrix is a synthetic all-pairs RTT matrix whose routes break the
// triangle inequality as real ones do, with each host's city.
type tivMatrix struct {
	n    int
	city []int
	rtt  []float64 // ms, n x n, symmetric
}

// newTIVMatrix builds a matrix of n hosts spread uniformly over tivCities.
func newTIVMatrix(n int, seed uint64) *tivMatrix {
	rng := rand.New(rand.NewPCG(22, seed))
	p := tivParams
	c := len(tivCities)
	inflation := make([]float64, c*c)
	for a := range c {
		for b := a + 1; b < c; b++ {
			f := p.inflationMin + rng.Float64()*(p.inflationMax-p.inflationMin)
			inflation[a*c+b], inflation[b*c+a] = f, f
		}
	}
	m := &tivMatrix{n: n, city: make([]int, n), rtt: make([]float64, n*n)}
	access := make([]float64, n)
	for i := range n {
		m.city[i] = rng.IntN(c)
		access[i] = p.accessMin + rng.Float64()*(p.accessMax-p.accessMin)
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			a, b := m.city[i], m.city[j]
			d := access[i] + access[j] + 1
			if a != b {
				d = access[i] + access[j] + greatCircleKm(tivCities[a], tivCities[b])/100*inflation[a*c+b]
			}
			if rng.Float64() < p.detourShare {
				d += p.detourMin + rng.Float64()*(p.detourMax-p.detourMin)
			}
			m.rtt[i*n+j], m.rtt[j*n+i] = d, d
		}
	}
	return m
}

// RTT is the true RTT between hosts i and j.
func (m *tivMatrix) RTT(i, j int) time.Duration {
	return time.Duration(m.rtt[i*m.n+j] * float64(time.Millisecond))
}

// greatCircleKm is the distance between two cities on the Earth's surface.
func greatCircleKm(a, b tivCity) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dlat, dlon := (b.lat-a.lat)*rad, (b.lon-a.lon)*rad
	h := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(a.lat*rad)*math.Cos(b.lat*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Sqrt(h))
}

// tivStats measures a matrix's triangle-inequality violations over
// `samples` random triples of distinct hosts: the share of triples whose
// longest side is longer than the other two together, and the median of
// that excess in ms among them.
func tivStats(rtt func(i, j int) time.Duration, n, samples int, seed uint64) (share, medianExcess float64) {
	rng := rand.New(rand.NewPCG(23, seed))
	var excess []float64
	for range samples {
		a, b, c := rng.IntN(n), rng.IntN(n), rng.IntN(n)
		if a == b || b == c || a == c {
			continue
		}
		ab, bc, ac := ms(rtt(a, b)), ms(rtt(b, c)), ms(rtt(a, c))
		if x := max(ab-bc-ac, bc-ab-ac, ac-ab-bc); x > 0 {
			excess = append(excess, x)
		}
	}
	return float64(len(excess)) / float64(samples), median(excess)
}
