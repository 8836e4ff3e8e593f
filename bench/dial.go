package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
)

// Dial retries: a benchmark harness rides out a transient dial failure (a
// listener not yet accepting, a dial backoff left by an earlier failure)
// instead of dying on it.
const (
	// dialTimeout bounds all the tries of one connectHosts call.
	dialTimeout = 30 * time.Second
	// dialFirstWait is the wait after the first failed try; it doubles up
	// to dialMaxWait.
	dialFirstWait = 50 * time.Millisecond
	dialMaxWait   = 2 * time.Second
)

// connectHosts connects a to b, the one way every benchmark connects hosts
// it started itself. A failed try is retried with exponential backoff for
// up to dialTimeout; before each retry the swarm's dial backoff for b is
// cleared, since the harness knows b is (or is about to be) listening and a
// backoff left by an earlier failure would fail the retry at once.
func connectHosts(ctx context.Context, a, b host.Host) error {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	info := peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}
	wait := dialFirstWait
	for tries := 1; ; tries++ {
		err := a.Connect(ctx, info)
		if err == nil {
			return nil
		}
		if sw, ok := a.Network().(*swarm.Swarm); ok {
			sw.Backoff().Clear(b.ID())
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("connect %s to %s: gave up after %d tries: %w", a.ID(), b.ID(), tries, errors.Join(err, ctx.Err()))
		case <-t.C:
		}
		wait = min(2*wait, dialMaxWait)
	}
}
