package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/gpumesh/gpumesh/p2p/frame"
)

// eventWriter writes the frames of one run stream, one event (a result
// with its files) at a time.
type eventWriter struct {
	mu sync.Mutex
	st network.Stream
	// net reads the run's job-network counters, which heartbeats and the
	// end event carry; nil for a run without a job network.
	net func() *NetCounters
}

// netNow is the run's job-network counters now, or nil.
func (w *eventWriter) netNow() *NetCounters {
	if w.net == nil {
		return nil
	}
	return w.net()
}

// event writes v as one frame, with its write deadline.
func (w *eventWriter) event(v any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.write(v)
}

func (w *eventWriter) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_ = w.st.SetWriteDeadline(time.Now().Add(streamTimeout))
	return frame.Write(w.st, b)
}

// result writes a result event and the bytes of its outputs not
// truncated, found at paths: the requester reads them as one, and every
// frame of them is a sign of life.
func (w *eventWriter) result(ev Event, paths []string, buf []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.write(ev); err != nil {
		return err
	}
	for i, f := range ev.Outputs {
		if f.Truncated {
			continue
		}
		if err := sendFile(w.st, paths[i], f.Size, buf); err != nil {
			return fmt.Errorf("output %s of rank %d: %w", f.Name, ev.Rank, err)
		}
	}
	return nil
}

// errRequesterGone: a write to the requester failed.
var errRequesterGone = errors.New("requester gone")

// heartbeats writes a heartbeat every interval until ctx ends, or a write
// fails: it returns that error.
func (w *eventWriter) heartbeats(ctx context.Context, interval time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			if err := w.event(Event{Kind: KindHeartbeat, At: now, Net: w.netNow()}); err != nil {
				return err
			}
		}
	}
}
