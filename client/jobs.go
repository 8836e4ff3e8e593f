package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"time"

	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/offers"
)

// ErrBadFilter is returned by Offers for a filter offers.Parse refuses.
var ErrBadFilter = errors.New("bad offer filter")

// ErrNotFinished is returned by Results for a job still under way.
var ErrNotFinished = errors.New("job not finished")

// MaxModuleBytes is the largest wasm module SubmitWasm accepts.
const MaxModuleBytes = 256 << 20

// modulesDir is where SubmitWasm keeps modules, under the data dir.
const modulesDir = "client-modules"

// Offers searches the network's capacity for the offers filter matches, as
// `gpumesh offers FILTER` does (offers.Parse spells the filter; "" matches
// every offer), cheapest first.
func (c *Client) Offers(ctx context.Context, filter string) (offers.Result, error) {
	n, err := c.live()
	if err != nil {
		return offers.Result{}, err
	}
	if _, err := offers.Parse(filter); err != nil {
		return offers.Result{}, fmt.Errorf("client: %w: %w", ErrBadFilter, err)
	}
	return n.Offers(ctx, filter, "", 0)
}

// Submit asks the network to run spec, as `gpumesh submit` does: spec's
// Module, Image archive and Inputs are paths on this machine. It returns
// once the job request is out; Follow or Wait see it through.
func (c *Client) Submit(ctx context.Context, spec market.Spec) (market.JobView, error) {
	n, err := c.live()
	if err != nil {
		return market.JobView{}, err
	}
	v, err := n.SubmitJob(ctx, spec)
	if err != nil {
		return v, fmt.Errorf("client: submit: %w", err)
	}
	return v, nil
}

// SubmitWasm submits spec with module, a WASI module's bytes, as its work:
// the module is kept in the data dir under its content hash and spec.Module
// set to it.
func (c *Client) SubmitWasm(ctx context.Context, spec market.Spec, module []byte) (market.JobView, error) {
	n, err := c.live()
	if err != nil {
		return market.JobView{}, err
	}
	if len(module) == 0 || len(module) > MaxModuleBytes {
		return market.JobView{}, fmt.Errorf("client: submit: %w: wasm module of %d bytes, want 1 to %d", market.ErrBadSpec, len(module), MaxModuleBytes)
	}
	sum := sha256.Sum256(module)
	dir := filepath.Join(n.DataDir(), modulesDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return market.JobView{}, fmt.Errorf("client: submit: %w", err)
	}
	path := filepath.Join(dir, hex.EncodeToString(sum[:])+".wasm")
	if err := os.WriteFile(path, module, 0o600); err != nil {
		return market.JobView{}, fmt.Errorf("client: submit: %w", err)
	}
	spec.Module = path
	return c.Submit(ctx, spec)
}

// Job returns what this client knows of a job it submitted.
func (c *Client) Job(id string) (market.JobView, error) {
	n, err := c.live()
	if err != nil {
		return market.JobView{}, err
	}
	v, ok := n.Job(id)
	if !ok {
		return v, fmt.Errorf("client: job %q: %w", id, market.ErrUnknownJob)
	}
	return v, nil
}

// Update is one thing that happened to a job: an event of the market
// (bids, award, cluster formed, workers done...) or a line a worker wrote.
// Exactly one of Event and Log is set.
type Update struct {
	Event *market.Event
	Log   *market.LogLine
}

// Follow yields a job's events and log lines, oldest first, from its
// submission until it ends (succeeded or failed), then stops. It yields a
// non-nil error once and stops when the job is unknown
// (market.ErrUnknownJob), the client closed (ErrClosed), or ctx ended. Log lines are
// the workers' raw text: sanitize them before a terminal shows them.
func (c *Client) Follow(ctx context.Context, id string) iter.Seq2[Update, error] {
	return func(yield func(Update, error) bool) {
		n, err := c.live()
		if err != nil {
			yield(Update{}, err)
			return
		}
		m := n.Market()
		from, logFrom := 0, int64(0)
		for {
			events, next, final, ok := m.Watch(id, from)
			if !ok {
				yield(Update{}, fmt.Errorf("client: follow job %q: %w", id, market.ErrUnknownJob))
				return
			}
			for i := range events {
				if !yield(Update{Event: &events[i]}, nil) {
					return
				}
			}
			from += len(events)
			logged, more := drainLogs(m, id, &logFrom, yield)
			if !more {
				return
			}
			if final {
				return
			}
			select {
			case <-next:
			case <-logged:
			case <-c.done:
				yield(Update{}, ErrClosed)
				return
			case <-ctx.Done():
				yield(Update{}, ctx.Err())
				return
			}
		}
	}
}

// drainLogs yields the job's log lines from *from on, advancing it; it
// returns a channel closed at the next line, and false when yield asked to
// stop.
func drainLogs(m *market.Market, id string, from *int64, yield func(Update, error) bool) (<-chan struct{}, bool) {
	for {
		page, changed, err := m.Logs(id, *from, market.MaxLogPageLines)
		if err != nil {
			return nil, true // the events go on; a broken page only stops the lines
		}
		for i := range page.Lines {
			if !yield(Update{Log: &page.Lines[i]}, nil) {
				return nil, false
			}
		}
		*from = page.Next
		if len(page.Lines) == 0 {
			return changed, true
		}
	}
}

// Wait blocks until the job ends, the client closes (ErrClosed) or ctx
// ends, and returns the job's final view.
func (c *Client) Wait(ctx context.Context, id string) (market.JobView, error) {
	n, err := c.live()
	if err != nil {
		return market.JobView{}, err
	}
	m := n.Market()
	for {
		_, next, final, ok := m.Watch(id, 1<<30)
		if !ok {
			return market.JobView{}, fmt.Errorf("client: wait for job %q: %w", id, market.ErrUnknownJob)
		}
		if final {
			v, _ := m.Job(id)
			return v, nil
		}
		select {
		case <-next:
		case <-c.done:
			return market.JobView{}, ErrClosed
		case <-ctx.Done():
			v, _ := m.Job(id)
			return v, ctx.Err()
		}
	}
}

// Results copies a finished job's outputs into dir, one folder per rank
// (dir/rank-0, dir/rank-1...), as the workers wrote them. dir may exist;
// a file already in it is not overwritten (the copy fails).
func (c *Client) Results(ctx context.Context, id, dir string) error {
	v, err := c.Job(id)
	if err != nil {
		return err
	}
	if v.State != market.StateSucceeded && v.State != market.StateFailed {
		return fmt.Errorf("client: results of job %q: %w (%s)", id, ErrNotFinished, v.State)
	}
	if _, err := os.Stat(v.Results); v.Results == "" || err != nil {
		return fmt.Errorf("client: results of job %q: no outputs kept (%s): %s", id, v.State, v.Error)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.CopyFS(dir, os.DirFS(v.Results)); err != nil {
		return fmt.Errorf("client: results of job %q: %w", id, err)
	}
	return nil
}

// offersRetry is how long WaitOffers waits between searches.
const offersRetry = 250 * time.Millisecond

// WaitOffers searches the network (Offers) until at least n offers match
// filter, or ctx ends: a client just dialled knows no provider yet.
func (c *Client) WaitOffers(ctx context.Context, filter string, n int) (offers.Result, error) {
	for {
		res, err := c.Offers(ctx, filter)
		if err == nil && len(res.Offers) >= n {
			return res, nil
		}
		if errors.Is(err, ErrClosed) || errors.Is(err, ErrBadFilter) {
			return res, err
		}
		t := time.NewTimer(offersRetry)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return res, fmt.Errorf("client: %d of %d offers found: %w", len(res.Offers), n, ctx.Err())
		}
	}
}
