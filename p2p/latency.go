package p2p

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/gpumesh/gpumesh/p2p/coord"
)

// CoordinateSource returns the latest network coordinate a peer announced
// (the node wires it to the coordinates in gossip heartbeats).
type CoordinateSource func(peer.ID) (coord.Coordinate, bool)

// Latency keeps this node's network coordinate current: every interval it
// pings a few connected peers whose coordinates it knows, and it takes RTT
// samples from any stream protocol that measures one (ObserveRTT). Each
// sample updates the Vivaldi estimator.
type Latency struct {
	host     host.Host
	est      *coord.Estimator
	interval time.Duration
	perRound int
	log      *slog.Logger

	mu      sync.RWMutex
	source  CoordinateSource
	samples int
}

// NewLatency returns a prober for h that pings perRound peers every interval.
func NewLatency(h host.Host, interval time.Duration, perRound int, log *slog.Logger) (*Latency, error) {
	est, err := coord.NewEstimator()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	return &Latency{host: h, est: est, interval: interval, perRound: perRound, log: log}, nil
}

// SetSource sets where peers' coordinates come from.
func (l *Latency) SetSource(src CoordinateSource) {
	l.mu.Lock()
	l.source = src
	l.mu.Unlock()
	// The estimator re-fits to the peers it remembers at their current
	// coordinates (B5: 0.138 median error after 20 samples, 0.179 with the
	// coordinates of the moment of each sample).
	l.est.SetSource(func(p string) (coord.Coordinate, bool) {
		id, err := peer.Decode(p)
		if err != nil {
			return coord.Coordinate{}, false
		}
		return src(id)
	})
}

// Coordinate returns this node's coordinate, and false until it has taken
// its first sample (a coordinate at the origin says nothing).
func (l *Latency) Coordinate() (coord.Coordinate, bool) {
	l.mu.RLock()
	n := l.samples
	l.mu.RUnlock()
	return l.est.Coordinate(), n > 0
}

// Samples is the number of RTT samples taken so far.
func (l *Latency) Samples() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.samples
}

// ObserveRTT feeds one RTT measured to p (by a ping or any request and
// response on a stream); it does nothing when p's coordinate is unknown.
func (l *Latency) ObserveRTT(p peer.ID, rtt time.Duration) {
	l.mu.RLock()
	src := l.source
	l.mu.RUnlock()
	if src == nil {
		return
	}
	theirs, ok := src(p)
	if !ok {
		return
	}
	if _, err := l.est.Observe(p.String(), theirs, rtt); err != nil {
		l.log.Debug("RTT sample refused", "peer", p, "rtt", rtt, "err", err)
		return
	}
	l.mu.Lock()
	l.samples++
	l.mu.Unlock()
}

// Forget drops what the estimator keeps about p (it disconnected).
func (l *Latency) Forget(p peer.ID) { l.est.Forget(p.String()) }

// Run probes until ctx ends.
func (l *Latency) Run(ctx context.Context) {
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		l.probe(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probe pings up to perRound directly connected peers with known coordinates, as
// the estimator's NextProbes orders them (never sampled first, then least
// recently sampled: many distinct peers fix a coordinate faster than the
// same few again).
func (l *Latency) probe(ctx context.Context) {
	l.mu.RLock()
	src := l.source
	l.mu.RUnlock()
	if src == nil {
		return
	}
	var candidates []string
	for _, p := range l.host.Network().Peers() {
		if Relayed(l.host, p) {
			continue // a relay's round trip is not the peer's
		}
		if _, ok := src(p); ok {
			candidates = append(candidates, p.String())
		}
	}
	var wg sync.WaitGroup
	for _, s := range l.est.NextProbes(candidates, l.perRound) {
		p, err := peer.Decode(s)
		if err != nil {
			continue
		}
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			res, ok := <-ping.Ping(pctx, l.host, p)
			if !ok || res.Error != nil {
				return
			}
			l.ObserveRTT(p, res.RTT)
		})
	}
	wg.Wait()
}
