// Package coord gives every node a network coordinate, so that any node can
// estimate the round-trip time between two other peers from their
// coordinates alone, without pinging them: the basis of latency-aware
// cluster selection. Coordinates are Vivaldi coordinates with height, in
// HashiCorp Serf's format and computed by its implementation
// (hashicorp/serf/coordinate), fed with RTT samples from pings and from the
// streams a node already opens, and re-fitted after each sample to every
// peer the estimator remembers (Estimator). Coordinates travel in signed
// capacity records and heartbeats, so Coordinate has a Validate that refuses
// what a peer must not send.
//
// # Feeding the estimator
//
// Accuracy after a few samples depends as much on what the node feeds the
// estimator as on the estimator. B5 (bench/coord.go: 200 nodes in 60
// countries of the RIPE Atlas table, noisy samples, median relative error
// over all pairs after 20 samples per node, mean of four seeds) measured:
//
//   - Probe many distinct peers rather than a few again and again: a sample
//     to a new peer adds a constraint, a repeat only averages noise. Ask
//     NextProbes which connected peers to ping (never sampled first, then
//     least recently sampled): 0.132 with 32 connections, against 0.151
//     picking among the same 32 at random; a stable set of 8 peers stalls
//     at 0.19 (0.16 after 200 samples).
//   - Add peers outside the stable set (a new DHT or mesh peer): with one
//     sample in four to a random peer, 8 connections give 0.171 instead of
//     0.194, and accuracy keeps improving once every connection has been
//     sampled (32 connections: 0.105 after 50 samples, 0.130 without).
//     This is the policy B5 runs: 32 connections and one sample in four
//     to a random peer, 0.138.
//   - Do not restrict probes to the nearest peers early on: 16 neighbours,
//     half of them the nearest, plus one sample in four to a random peer,
//     gave 0.38 after 20 samples against 0.25 for random peers (plain
//     Vivaldi, measured before B5's jitter was made zero-mean).
//   - Give the estimator peers' current coordinates (SetSource, wired to
//     the coordinates in gossip heartbeats): re-fitting to coordinates one
//     probe round old gives 0.138, to those of the moment of each sample
//     0.179. Fresher than one round gains nothing (0.138).
package coord

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/serf/coordinate"
)

// Dimensions is the number of Euclidean dimensions of a coordinate (Serf's default).
const Dimensions = 8

// maxComponent bounds each value of a coordinate a peer sends: 1000 s is far
// beyond any RTT on Earth.
const maxComponent = 1000.0

// ErrInvalid is wrapped by every Validate error.
var ErrInvalid = errors.New("invalid coordinate")

// Coordinate is a node's position in the latency space, in seconds.
type Coordinate struct {
	// Vec is the Euclidean part.
	Vec []float64 `json:"vec"`
	// Error is the node's confidence in its coordinate (lower is better).
	Error float64 `json:"error"`
	// Adjustment is a per-node correction for what Euclidean space cannot represent.
	Adjustment float64 `json:"adjustment"`
	// Height models the node's access link.
	Height float64 `json:"height"`
}

// Validate returns what is wrong with a coordinate received from a peer.
func (c Coordinate) Validate() error {
	var errs []error
	if len(c.Vec) != Dimensions {
		errs = append(errs, fmt.Errorf("%w: %d dimensions, want %d", ErrInvalid, len(c.Vec), Dimensions))
	}
	check := func(name string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > maxComponent {
			errs = append(errs, fmt.Errorf("%w: %s = %v", ErrInvalid, name, v))
		}
	}
	for i, v := range c.Vec {
		check(fmt.Sprintf("vec[%d]", i), v)
	}
	check("error", c.Error)
	check("adjustment", c.Adjustment)
	check("height", c.Height)
	if c.Height < 0 || c.Error < 0 {
		errs = append(errs, fmt.Errorf("%w: negative height or error", ErrInvalid))
	}
	return errors.Join(errs...)
}

func (c Coordinate) serf() *coordinate.Coordinate {
	return &coordinate.Coordinate{Vec: append([]float64(nil), c.Vec...), Error: c.Error, Adjustment: c.Adjustment, Height: c.Height}
}

func fromSerf(c *coordinate.Coordinate) Coordinate {
	return Coordinate{Vec: append([]float64(nil), c.Vec...), Error: c.Error, Adjustment: c.Adjustment, Height: c.Height}
}

// EstimateRTT is the round-trip time between the nodes at a and b that
// their coordinates predict. Both must be valid; like Serf's DistanceTo it
// panics when their dimensions differ.
//
// It computes Serf's distance (the Euclidean distance of the vectors plus
// both heights, plus both adjustments when that sum stays positive) in
// place, without copying the coordinates: it allocates nothing (before,
// three allocations and about 196 ns an estimate; BenchmarkEstimateRTT),
// which matters to placement, whose searches make thousands of estimates
// per request.
func EstimateRTT(a, b Coordinate) time.Duration {
	if len(a.Vec) != len(b.Vec) {
		panic(coordinate.DimensionalityConflictError{})
	}
	sum := 0.0
	for i, v := range a.Vec {
		d := v - b.Vec[i]
		sum += d * d
	}
	dist := math.Sqrt(sum) + a.Height + b.Height
	if adjusted := dist + a.Adjustment + b.Adjustment; adjusted > 0 {
		dist = adjusted
	}
	return time.Duration(dist * float64(time.Second))
}

// Estimator keeps this node's coordinate up to date from RTT samples. It is
// safe for concurrent use.
//
// Each sample first takes Serf's Vivaldi step (latency filter, confidence,
// gravity). The estimator then remembers the peer's filtered RTT and
// re-fits this node's coordinate to all the peers it remembers, at their
// latest known coordinates (refit). Plain Vivaldi lets a sample count once,
// against where the peer stood then; the re-fit keeps counting it as the
// peer moves, so a node's early samples, taken while every node was still
// near the origin, are not wasted.
type Estimator struct {
	t tuning

	mu     sync.Mutex
	client *coordinate.Client
	peers  map[string]*neighbour
	order  []string // remembered peers, least recently sampled first
	source func(peer string) (Coordinate, bool)
	force  []float64 // refit's scratch space
}

// neighbour is what the estimator remembers about a peer it sampled.
type neighbour struct {
	rtts  []float64 // latest samples in seconds, oldest first
	rtt   float64   // median of rtts
	coord *coordinate.Coordinate
}

// tuning is the estimator's configuration; the tests vary it.
type tuning struct {
	serf *coordinate.Config
	// passes is how many gradient steps re-fit the coordinate after each
	// sample; 0 is plain Vivaldi.
	passes int
	// step is the fraction of the mean residual applied per pass.
	step float64
	// memory is how many peers are remembered (the most recently sampled).
	memory int
}

// defaultTuning is the production configuration. Each figure is B5's median
// relative error after 20 samples per node, mean of four seeds, with the
// probing policy of the package doc:
//
//	Serf's defaults (plain Vivaldi)                  0.201
//	+ re-fit to remembered peers (10 passes of 1/4)  0.155
//	+ without Serf's adjustment term                 0.138
//
// Serf's other knobs moved it by no more than the seed-to-seed spread
// (about 0.01), with or without the re-fit: VivaldiCE 0.1-1, VivaldiCC
// 0.1-0.5 (0.75 and more is worse), VivaldiErrorMax 0.5-10,
// LatencyFilterSize 1 or 3, HeightMin up to 1 ms (5 ms is worse),
// GravityRho 50 to off. 10 passes of 1/4 or 20 of 1/2 are as good; 5 of
// 1/10 is 0.01 worse. Remembering 64 peers rather than 32 matters only past
// 32 samples (0.107 against 0.099 after 50, with random peers).
func defaultTuning() tuning {
	cfg := coordinate.DefaultConfig()
	cfg.Dimensionality = Dimensions
	// Serf's adjustment is the mean of the last samples' residuals,
	// computed before the re-fit moves the coordinate: with the re-fit it
	// is stale and counts again what the height already absorbs (0.155
	// with the default window of 20, 0.138 off).
	cfg.AdjustmentWindowSize = 0
	return tuning{serf: cfg, passes: 10, step: 0.25, memory: 64}
}

// NewEstimator returns an estimator at the origin with the production
// tuning (defaultTuning).
func NewEstimator() (*Estimator, error) { return newEstimator(defaultTuning()) }

func newEstimator(t tuning) (*Estimator, error) {
	c, err := coordinate.NewClient(t.serf)
	if err != nil {
		return nil, fmt.Errorf("vivaldi client: %w", err)
	}
	return &Estimator{t: t, client: c, peers: map[string]*neighbour{}, force: make([]float64, t.serf.Dimensionality)}, nil
}

// SetSource sets where the estimator looks up the latest coordinate of a
// peer it remembers (the node wires it to the coordinates in gossip
// heartbeats). Without one, a remembered peer keeps the coordinate it had
// when it was last sampled, which B5 measures as much worse (see the
// package doc). src is called with the estimator's lock held: it must not
// call back into this Estimator.
func (e *Estimator) SetSource(src func(peer string) (Coordinate, bool)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.source = src
}

// Observe feeds one RTT sample to peer, whose coordinate at the time was
// theirs, and returns this node's updated coordinate. A sample with an
// invalid coordinate or an RTT outside (0, 10 s] changes nothing.
func (e *Estimator) Observe(peer string, theirs Coordinate, rtt time.Duration) (Coordinate, error) {
	if err := theirs.Validate(); err != nil {
		return e.Coordinate(), err
	}
	if rtt <= 0 || rtt > 10*time.Second {
		return e.Coordinate(), fmt.Errorf("rtt %s out of range", rtt)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	other := theirs.serf()
	if _, err := e.client.Update(peer, other, rtt); err != nil {
		return fromSerf(e.client.GetCoordinate()), fmt.Errorf("vivaldi update: %w", err)
	}
	e.remember(peer, other, rtt.Seconds())
	e.refit()
	e.keepValid()
	return fromSerf(e.client.GetCoordinate()), nil
}

// keepValid pulls this node's coordinate back inside what Validate
// accepts. A peer may announce any valid coordinate, and samples to one at
// the edge of the range would otherwise carry this node's past it, after
// which peers refuse every heartbeat and record that carries it.
func (e *Estimator) keepValid() {
	c := e.client.GetCoordinate()
	if fromSerf(c).Validate() == nil {
		return
	}
	clamp := func(v, lo float64) float64 { return math.Max(lo, math.Min(maxComponent, v)) }
	for i := range c.Vec {
		c.Vec[i] = clamp(c.Vec[i], -maxComponent)
	}
	c.Error, c.Height, c.Adjustment = clamp(c.Error, 0), clamp(c.Height, 0), clamp(c.Adjustment, -maxComponent)
	_ = e.client.SetCoordinate(c) // a NaN one stays for Serf to reset on its next update
}

// remember records a sample to peer as the most recent one, forgetting the
// least recently sampled peer beyond the memory.
func (e *Estimator) remember(peer string, theirs *coordinate.Coordinate, rtt float64) {
	if e.t.memory <= 0 {
		return
	}
	n := e.peers[peer]
	if n == nil {
		n = &neighbour{}
		e.peers[peer] = n
	} else {
		e.order = slices.DeleteFunc(e.order, func(p string) bool { return p == peer })
	}
	e.order = append(e.order, peer)
	if len(e.order) > e.t.memory {
		delete(e.peers, e.order[0])
		e.order = e.order[1:]
	}
	n.rtts = append(n.rtts, rtt)
	if keep := max(1, int(e.t.serf.LatencyFilterSize)); len(n.rtts) > keep {
		n.rtts = n.rtts[len(n.rtts)-keep:]
	}
	sorted := slices.Clone(n.rtts)
	slices.Sort(sorted)
	n.rtt = sorted[len(sorted)/2] // the same moving median as Serf's filter
	n.coord = theirs
}

// refit moves this node's coordinate down the gradient of the squared
// error of its predictions to the remembered peers, each residual weighted
// as Vivaldi weighs a sample (by this node's share of the two nodes'
// error), the height taking half the mean residual as it is shared by both
// ends. Serf's confidence (Error) is left to the Vivaldi step.
func (e *Estimator) refit() {
	if e.t.passes <= 0 || len(e.order) == 0 {
		return
	}
	if e.source != nil {
		for _, p := range e.order {
			if c, ok := e.source(p); ok && c.Validate() == nil {
				e.peers[p].coord = c.serf()
			}
		}
	}
	me := e.client.GetCoordinate()
	for range e.t.passes {
		clear(e.force)
		var height, weights float64
		for _, p := range e.order {
			n := e.peers[p]
			d := 0.0
			for i, v := range me.Vec {
				d += (v - n.coord.Vec[i]) * (v - n.coord.Vec[i])
			}
			d = math.Sqrt(d)
			if d < 1e-9 {
				continue // no direction to move in
			}
			w := me.Error / math.Max(me.Error+n.coord.Error, 1e-6)
			r := w * (n.rtt - (d + me.Height + n.coord.Height))
			for i, v := range me.Vec {
				e.force[i] += r * (v - n.coord.Vec[i]) / d
			}
			height += r
			weights += w
		}
		if weights == 0 {
			return
		}
		for i := range me.Vec {
			me.Vec[i] += e.t.step * e.force[i] / weights
		}
		me.Height = math.Max(e.t.serf.HeightMin, me.Height+e.t.step*height/weights/2)
	}
	if me.IsValid() {
		_ = e.client.SetCoordinate(me) // same dimensions and valid: cannot fail
	}
}

// NextProbes returns the n candidates this node should sample next: first
// those it remembers no sample to (in the order given, so shuffle them),
// then the least recently sampled. Samples to many distinct peers fix a
// coordinate faster than repeated samples to a few (see the package doc).
func (e *Estimator) NextProbes(candidates []string, n int) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	at := make(map[string]int, len(e.order))
	for i, p := range e.order {
		at[p] = i + 1
	}
	out := slices.Clone(candidates)
	slices.SortStableFunc(out, func(a, b string) int { return at[a] - at[b] })
	return out[:min(max(n, 0), len(out))]
}

// Coordinate is this node's current coordinate.
func (e *Estimator) Coordinate() Coordinate {
	e.mu.Lock()
	defer e.mu.Unlock()
	return fromSerf(e.client.GetCoordinate())
}

// Forget drops what the estimator keeps about peer (its latency filter and
// its remembered RTT).
func (e *Estimator) Forget(peer string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.client.ForgetNode(peer)
	if _, ok := e.peers[peer]; ok {
		delete(e.peers, peer)
		e.order = slices.DeleteFunc(e.order, func(p string) bool { return p == peer })
	}
}
