// Package lifetime owns the goroutines of a long-lived service (the
// market, the run server, the challenge service, the node): it starts
// them, or counts the stream handlers libp2p starts, with a context that
// ends when the service closes, refuses new ones once it closes, and
// waits for every one of them, so that no goroutine outlives the
// service's Close and no context is kept in a struct.
package lifetime

import (
	"context"
	"sync"
)

// Group owns goroutines and the contexts they run under. The zero value
// is open; Close closes it for good.
type Group struct {
	mu      sync.Mutex
	closed  bool
	wg      sync.WaitGroup
	next    uint64
	cancels map[uint64]context.CancelFunc
}

// Go runs f in a goroutine that Close waits for, with a context that ends
// when Close begins, unless the group is closed; it reports whether f
// started. Checking closed and adding to the wait group happen under one
// lock, so Close's Wait never races with an Add.
func (g *Group) Go(f func(ctx context.Context)) bool {
	ctx, cancel, ok := g.bind(context.Background())
	if !ok {
		cancel()
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		cancel()
		return false
	}
	g.wg.Go(func() {
		defer cancel()
		f(ctx)
	})
	return true
}

// Do runs f on the calling goroutine, counted like Go's goroutines (Close
// waits for it), with a context derived from parent that also ends when
// Close begins, unless the group is closed; it reports whether f ran. It
// is for work on a goroutine the group does not start, such as a stream
// handler's, that Close must still wait for.
func (g *Group) Do(parent context.Context, f func(ctx context.Context)) bool {
	ctx, cancel, ok := g.bind(parent)
	defer cancel()
	if !ok || !g.enter() {
		return false
	}
	defer g.wg.Done()
	f(ctx)
	return true
}

// enter adds one to the wait group unless the group is closed: checked
// and added under one lock, so Close's Wait never races with an Add.
func (g *Group) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	return true
}

// Context returns a context derived from parent that also ends when the
// group closes (at once if it is closed), for work done on a goroutine the
// group does not own, such as a stream handler's. Call cancel when done.
func (g *Group) Context(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel, _ := g.bind(parent)
	return ctx, cancel
}

// Closed reports whether Close began.
func (g *Group) Closed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

// bind derives a context from parent that Close cancels; ok is false, and
// the context already cancelled, when the group is closed.
func (g *Group) bind(parent context.Context) (context.Context, context.CancelFunc, bool) {
	ctx, cancel := context.WithCancel(parent)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		cancel()
		return ctx, cancel, false
	}
	if g.cancels == nil {
		g.cancels = map[uint64]context.CancelFunc{}
	}
	id := g.next
	g.next++
	g.cancels[id] = cancel
	return ctx, func() {
		cancel()
		g.mu.Lock()
		delete(g.cancels, id)
		g.mu.Unlock()
	}, true
}

// Close refuses new goroutines, cancels every context the group handed
// out and waits for its goroutines to return. It is safe to call more
// than once.
func (g *Group) Close() {
	g.mu.Lock()
	g.closed = true
	cancels := g.cancels
	g.cancels = nil
	g.mu.Unlock()
	for _, cancel := range cancels {
		cancel()
	}
	g.wg.Wait()
}
