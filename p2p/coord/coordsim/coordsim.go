// Package coordsim is B5's simulation of network coordinates on real
// geography, shared by `make bench` and the tests: nodes placed in the
// best-measured countries of the embedded RIPE Atlas table
// (p2p/coord/countryrtt) learn coordinates from noisy RTT samples, in rounds
// where every node takes one sample, and after given numbers of samples
// per node their coordinates predict every measured pair's mean RTT.
//
// The network, as a node sees it: each node keeps connections to
// Connections random peers (bootstrap, DHT neighbours, gossip mesh) and
// probes them in the order coord.Estimator.NextProbes gives; a share
// RandomShare of samples goes to a random peer outside them (a new
// connection). Heartbeats announce every node's coordinate at the start of
// each round; the estimators look peers up there (SetSource).
//
// A sample between two countries is the pair's mean plus zero-mean
// Gaussian jitter with the pair's standard deviation, redrawn until it lies
// within the pair's mean minus its minimum (at least 1 ms) on either side:
// never below the minimum, and still centred on the mean the error is
// measured against. Clamping at the minimum instead would move the samples'
// mean: the table's deviations include path diversity and outliers (DE-NL:
// mean 33 ms, std 171 ms, min 0.2 ms, max 301 s), and a Gaussian with that
// spread clamped at the minimum averages 86 ms, an RTT no estimator should
// learn as DE-NL's. Two nodes in one country are a metro apart: the mean of
// their own 5-20 ms access delays, without jitter.
//
// The baseline is plain Serf Vivaldi (coordinate.DefaultConfig) fed the
// same samples, to the same peers.
package coordsim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/serf/coordinate"

	"github.com/gpumesh/gpumesh/p2p/coord"
	"github.com/gpumesh/gpumesh/p2p/coord/countryrtt"
)

// Params describe one simulation.
type Params struct {
	// Nodes is the number of nodes, placed uniformly among Countries.
	Nodes int
	// Countries is how many of the best-measured countries are used.
	Countries int
	// Connections is each node's number of stable peers (B5: 32).
	Connections int
	// RandomShare is the share of samples to a random peer (B5: 0.25).
	RandomShare float64
	// Checkpoints are the samples per node after which errors are taken,
	// increasing.
	Checkpoints []int
	// Seed fixes placement, peers and jitter.
	Seed uint64
	// Truth, when set, replaces the country table: the mean RTT between
	// nodes i and j (i != j, symmetric, above 0), for a matrix of any
	// shape, such as one whose routes break the triangle inequality.
	// Countries is then ignored, and a sample is the mean times 1 plus
	// zero-mean Gaussian jitter of TruthJitter (redrawn until within twice
	// that on either side).
	Truth func(i, j int) time.Duration
	// TruthJitter is the relative standard deviation of samples around
	// Truth's mean (e.g. 0.05).
	TruthJitter float64
}

// Errors are the median relative errors at each checkpoint.
type Errors struct {
	// Estimator is gpumesh's coord.Estimator.
	Estimator []float64
	// Serf is plain Serf Vivaldi on the same samples.
	Serf []float64
}

// Network is a simulated network after Run: where each node is, the
// coordinate it learnt, and how accurate the coordinates were.
type Network struct {
	tab   *countryrtt.Table
	truth func(i, j int) time.Duration
	// Place is each node's country.
	Place []string
	// Metro is each node's access delay inside its country, in ms.
	Metro []float64
	// Coords are the nodes' coordinates after the last checkpoint.
	Coords []coord.Coordinate
	// Errors are the median relative errors at each checkpoint.
	Errors Errors
}

// MeanRTT is the mean RTT between nodes i and j that samples are drawn
// around: Params.Truth's when set, else the countries' mean, or inside one
// country the mean of the two metro delays; 0 for i == j. ok is false for
// a country pair the table has not measured.
func (n *Network) MeanRTT(i, j int) (time.Duration, bool) {
	if i == j {
		return 0, true
	}
	if n.truth != nil {
		return n.truth(i, j), true
	}
	if n.Place[i] == n.Place[j] {
		return time.Duration((n.Metro[i] + n.Metro[j]) / 2 * float64(time.Millisecond)), true
	}
	st, ok := n.tab.Between(n.Place[i], n.Place[j])
	return st.Mean, ok
}

// Run runs the simulation.
func Run(p Params) (*Network, error) {
	tab, err := countryrtt.Load()
	if err != nil {
		return nil, err
	}
	pool := tab.Countries()
	pool = pool[:min(p.Countries, len(pool))]
	rng := rand.New(rand.NewPCG(5, p.Seed))
	net := &Network{tab: tab, truth: p.Truth, Place: make([]string, p.Nodes), Metro: make([]float64, p.Nodes)}
	place, metro := net.Place, net.Metro
	out := &net.Errors
	est := make([]*coord.Estimator, p.Nodes)
	serf := make([]*coordinate.Client, p.Nodes)
	announced := make([]coord.Coordinate, p.Nodes)
	for i := range place {
		if p.Truth == nil {
			place[i] = pool[rng.IntN(len(pool))]
			metro[i] = 5 + rng.Float64()*15
		}
		if est[i], err = coord.NewEstimator(); err != nil {
			return nil, err
		}
		est[i].SetSource(func(peer string) (coord.Coordinate, bool) {
			j, err := strconv.Atoi(peer)
			return announced[j], err == nil
		})
		if serf[i], err = coordinate.NewClient(coordinate.DefaultConfig()); err != nil {
			return nil, err
		}
	}
	conns := make([][]string, p.Nodes)
	for i := range conns {
		for _, j := range rng.Perm(p.Nodes) {
			if j != i && len(conns[i]) < p.Connections {
				conns[i] = append(conns[i], strconv.Itoa(j))
			}
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	meanRTT := func(i, j int) (float64, bool) {
		d, ok := net.MeanRTT(i, j)
		return ms(d), ok
	}
	sample := func(i, j int) (time.Duration, bool) {
		mean, ok := meanRTT(i, j)
		if p.Truth != nil {
			for range 1000 {
				if e := rng.NormFloat64() * p.TruthJitter; math.Abs(e) <= 2*p.TruthJitter {
					mean *= 1 + e
					break
				}
			}
			return time.Duration(mean * float64(time.Millisecond)), true
		}
		if ok && place[i] != place[j] {
			st, _ := tab.Between(place[i], place[j])
			d := mean - math.Max(1, ms(st.Min))
			for range 1000 { // a few dozen draws at worst (UA-NO: d = std/25)
				if v := mean + rng.NormFloat64()*ms(st.Std); math.Abs(v-mean) <= d {
					mean = v
					break
				}
			}
		}
		return time.Duration(mean * float64(time.Millisecond)), ok
	}
	peer := func(i int) int {
		if rng.Float64() < p.RandomShare || len(conns[i]) == 0 {
			j := rng.IntN(p.Nodes - 1)
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
	medianError := func(predict func(i, j int) time.Duration) float64 {
		var errs []float64
		for i := range p.Nodes {
			for j := i + 1; j < p.Nodes; j++ {
				if want, ok := meanRTT(i, j); ok {
					errs = append(errs, math.Abs(ms(predict(i, j))-want)/want)
				}
			}
		}
		slices.Sort(errs)
		return errs[len(errs)/2]
	}
	round := 0
	for _, checkpoint := range p.Checkpoints {
		for ; round < checkpoint; round++ {
			for i := range announced {
				announced[i] = est[i].Coordinate()
			}
			for i := range p.Nodes {
				for range 100 { // a peer whose country pair was measured
					j := peer(i)
					rtt, ok := sample(i, j)
					if !ok {
						continue
					}
					if _, err := est[i].Observe(strconv.Itoa(j), est[j].Coordinate(), rtt); err != nil {
						return nil, fmt.Errorf("node %d observes %d: %w", i, j, err)
					}
					if _, err := serf[i].Update(strconv.Itoa(j), serf[j].GetCoordinate(), rtt); err != nil {
						return nil, fmt.Errorf("serf node %d observes %d: %w", i, j, err)
					}
					break
				}
			}
		}
		coords := make([]coord.Coordinate, p.Nodes)
		for i := range coords {
			coords[i] = est[i].Coordinate()
		}
		net.Coords = coords
		out.Estimator = append(out.Estimator, medianError(func(i, j int) time.Duration { return coord.EstimateRTT(coords[i], coords[j]) }))
		out.Serf = append(out.Serf, medianError(func(i, j int) time.Duration {
			return serf[i].GetCoordinate().DistanceTo(serf[j].GetCoordinate())
		}))
	}
	return net, nil
}
