package gpu

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MaxHistory bounds the readings a Sampler keeps per device
// (history/interval): 20,000 readings of 8 GPUs take about 20 MB.
const MaxHistory = 20000

// ErrClosed is returned by Sampler.Start after Close.
var ErrClosed = errors.New("sampler closed")

// Source is what a Sampler polls: a *Probe from Detect, or a fake in tests.
// Telemetry returns one reading per device; an error alongside readings
// means they are partial.
type Source interface {
	Telemetry(ctx context.Context) ([]Telemetry, error)
}

// Sampler reads a Source on an interval and keeps, per device, the latest
// reading and a short history (a ring of history/interval readings) for the
// dashboard and the API. New starts nothing; Start starts the one polling
// goroutine, which ends when Start's ctx ends or Close is called. Its
// methods are safe for concurrent use.
type Sampler struct {
	src      Source
	interval time.Duration
	size     int

	mu      sync.Mutex
	history map[string]*ring
	latest  []Telemetry
	lastErr error
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewSampler returns a sampler that reads src every interval and keeps the
// readings of the last history per device (the node's gpu.sample_interval
// and gpu.history). interval must be positive, history at least one
// interval, and history/interval at most MaxHistory.
func NewSampler(src Source, interval, history time.Duration) (*Sampler, error) {
	var errs []error
	if src == nil {
		errs = append(errs, errors.New("sampler: no source"))
	}
	if interval <= 0 {
		errs = append(errs, fmt.Errorf("sampler: interval must be positive, got %s", interval))
	} else if history < interval {
		errs = append(errs, fmt.Errorf("sampler: history %s is shorter than the interval %s", history, interval))
	} else if n := history / interval; n > MaxHistory {
		errs = append(errs, fmt.Errorf("sampler: history %s at interval %s keeps %d readings per device, over %d", history, interval, n, MaxHistory))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Sampler{
		src:      src,
		interval: interval,
		size:     int(history / interval),
		history:  map[string]*ring{},
	}, nil
}

// Start starts polling: one reading now, then one every interval, until ctx
// ends or Close is called. Each reading may take up to one interval. Start
// fails if the sampler was started before or closed.
func (s *Sampler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.done != nil {
		return errors.New("sampler: already started")
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.run(ctx, s.done)
	return nil
}

// Close stops polling and waits for the goroutine to end. It does not close
// the Source, which belongs to the caller. It is safe to call more than
// once, and without Start.
func (s *Sampler) Close() error {
	s.mu.Lock()
	s.closed = true
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}

// Latest returns the readings of the most recent poll that returned any,
// one per device, in the Source's order; nil before the first.
func (s *Sampler) Latest() []Telemetry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneReadings(nil, s.latest)
}

// History returns the readings kept for the device with this ID, oldest
// first; nil for a device never read.
func (s *Sampler) History(device string) []Telemetry {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.history[device]
	if r == nil {
		return nil
	}
	return r.ordered()
}

// LastError returns the error of the most recent poll, nil when it
// succeeded. Readings of a partial poll are kept all the same.
func (s *Sampler) LastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// run is the polling goroutine; it closes done when ctx ends.
func (s *Sampler) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	for {
		s.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// poll takes one reading and records it.
func (s *Sampler) poll(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, s.interval)
	readings, err := s.src.Telemetry(pctx)
	cancel()
	if ctx.Err() != nil {
		return // closing: a reading cut short is not worth keeping
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastErr = err
	if len(readings) == 0 {
		return
	}
	latest := make([]Telemetry, 0, len(readings))
	for _, t := range readings {
		if t.Time.IsZero() {
			t.Time = now
		}
		t.Unknown = slices.Clone(t.Unknown)
		r := s.history[t.Device]
		if r == nil {
			r = &ring{size: s.size}
			s.history[t.Device] = r
		}
		r.push(t)
		latest = append(latest, t)
	}
	s.latest = latest
}

// ring keeps the last size readings of one device.
type ring struct {
	size int
	buf  []Telemetry // grows to size, then wraps
	next int         // where the next reading goes once buf is full
}

func (r *ring) push(t Telemetry) {
	if len(r.buf) < r.size {
		r.buf = append(r.buf, t)
		return
	}
	r.buf[r.next] = t
	r.next = (r.next + 1) % r.size
}

// ordered returns a copy of the readings, oldest first.
func (r *ring) ordered() []Telemetry {
	out := make([]Telemetry, 0, len(r.buf))
	out = cloneReadings(out, r.buf[r.next:])
	return cloneReadings(out, r.buf[:r.next])
}

// cloneReadings appends deep copies of ts to dst, so callers may keep and
// change what they get.
func cloneReadings(dst, ts []Telemetry) []Telemetry {
	if dst == nil && ts == nil {
		return nil
	}
	for _, t := range ts {
		t.Unknown = slices.Clone(t.Unknown)
		dst = append(dst, t)
	}
	return dst
}
