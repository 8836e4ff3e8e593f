// Package coord gives every node a network coordinate, so that any node can
// estimate the round-trip time between two other peers from their
// coordinates alone, without pinging them: the basis of latency-aware
// cluster selection. Coordinates are Vivaldi coordinates with height, as
// computed by HashiCorp Serf's implementation (hashicorp/serf/coordinate),
// fed with RTT samples from pings and from the streams a node already opens.
// Coordinates travel in signed capacity records, so Coordinate has a
// Validate that refuses what a peer must not send.
package coord

import (
	"errors"
	"fmt"
	"math"
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
// their coordinates predict. Both must be valid.
func EstimateRTT(a, b Coordinate) time.Duration {
	return a.serf().DistanceTo(b.serf())
}

// Estimator keeps this node's coordinate up to date from RTT samples. It is
// safe for concurrent use.
type Estimator struct {
	mu     sync.Mutex
	client *coordinate.Client
}

// NewEstimator returns an estimator at the origin with Serf's default tuning.
func NewEstimator() (*Estimator, error) {
	cfg := coordinate.DefaultConfig()
	cfg.Dimensionality = Dimensions
	c, err := coordinate.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vivaldi client: %w", err)
	}
	return &Estimator{client: c}, nil
}

// Observe feeds one RTT sample to peer, whose coordinate at the time was
// theirs, and returns this node's updated coordinate. A sample with an
// invalid coordinate or a non-positive RTT changes nothing.
func (e *Estimator) Observe(peer string, theirs Coordinate, rtt time.Duration) (Coordinate, error) {
	if err := theirs.Validate(); err != nil {
		return e.Coordinate(), err
	}
	if rtt <= 0 || rtt > 10*time.Second {
		return e.Coordinate(), fmt.Errorf("rtt %s out of range", rtt)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.client.Update(peer, theirs.serf(), rtt)
	if err != nil {
		return fromSerf(e.client.GetCoordinate()), fmt.Errorf("vivaldi update: %w", err)
	}
	return fromSerf(c), nil
}

// Coordinate is this node's current coordinate.
func (e *Estimator) Coordinate() Coordinate {
	e.mu.Lock()
	defer e.mu.Unlock()
	return fromSerf(e.client.GetCoordinate())
}

// Forget drops what the estimator keeps about peer (its latency filter).
func (e *Estimator) Forget(peer string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.client.ForgetNode(peer)
}
