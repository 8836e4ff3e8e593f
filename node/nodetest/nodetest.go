// Package nodetest starts many full gpumesh nodes in one process on loopback
// for tests and benchmarks: free ports, temporary data dirs, every node
// bootstrapped through the first, readiness waited for by condition, and a
// clean teardown. It is the one place that builds many-node scenarios, and
// the home of the bad actors (BadActor) that tests of the network's
// defences set on a node at run time.
package nodetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/gpu"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/p2p"
)

// Fleet is a set of running nodes. Nodes[0] is everyone's bootstrap peer.
type Fleet struct {
	Nodes []*node.Node

	actors []*actor // each node's BadActor (SetBadActor)
}

// Options tune a fleet.
type Options struct {
	// Configure, if set, edits node i's config (the test profile) before it starts.
	Configure func(i int, c *config.Config)
	// Bootstrap, if set, is every node's bootstrap list (node 0 included),
	// to join a network that runs elsewhere; by default node 0 is everyone's.
	Bootstrap []string
	// Parallel is how many nodes start at once (default 8).
	Parallel int
	// Log receives the nodes' logs; discarded unless GPUMESH_TEST_LOG is set.
	Log *slog.Logger
	// Detect, if set, is every node's hardware detection (see node.Options).
	Detect DetectFunc
	// DetectNode, if set, gives node i its own hardware detection (nil:
	// Detect); fleets of mixed GPUs use MockGPUs here.
	DetectNode func(i int) DetectFunc
	// SettlementChain, if set, gives node i the chain its settlement
	// uses (see node.Options.SettlementChain); nil: none.
	SettlementChain func(i int) node.SettlementChain
}

// DetectFunc is a node's hardware detection (see node.Options.Detect).
type DetectFunc = func(ctx context.Context, dataDir string) (*gpu.Probe, gpu.Inventory, error)

// TB is the part of testing.TB the harness needs, so benchmarks run from a
// plain main can use it too.
type TB interface {
	Helper()
	TempDir() string
	Cleanup(func())
	Fatalf(format string, args ...any)
}

var _ TB = (testing.TB)(nil)

// Start starts n nodes and registers their teardown with t.Cleanup. It
// returns once every node is ready (listening, API answering); it does not
// wait for the network to settle: use the Wait helpers for that.
func Start(t TB, n int, opts Options) *Fleet {
	t.Helper()
	if opts.Parallel <= 0 {
		opts.Parallel = 8
	}
	if opts.Log == nil {
		opts.Log = defaultLog()
	}
	f := &Fleet{Nodes: make([]*node.Node, n), actors: newActors(n, opts.Log)}
	// The data dirs first: cleanups run last-in first-out, so the nodes
	// close (their ledgers flushing) before their folders are removed.
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = t.TempDir()
	}
	t.Cleanup(f.Close)
	start := func(i int, bootstrap []string) error {
		c, err := config.ForProfile("test")
		if err != nil {
			return err
		}
		c.P2P.Bootstrap = bootstrap
		if i == 0 && opts.Bootstrap == nil {
			// Node 0 is every node's bootstrap peer.
			SizeForFleet(&c.P2P, n)
		}
		if opts.Configure != nil {
			opts.Configure(i, &c)
		}
		detect := opts.Detect
		if opts.DetectNode != nil {
			if d := opts.DetectNode(i); d != nil {
				detect = d
			}
		}
		knobs := f.actors[i].knobs()
		nopts := node.Options{DataDir: dirs[i], Config: c, Log: opts.Log.With("node", i), Detect: detect, Knobs: knobs}
		if opts.SettlementChain != nil {
			nopts.SettlementChain = opts.SettlementChain(i)
		}
		nd, err := node.New(nopts)
		if err != nil {
			return fmt.Errorf("node %d: %w", i, err)
		}
		f.actors[i].node.Store(nd)
		if err := nd.Start(context.Background()); err != nil {
			return fmt.Errorf("node %d: %w", i, err)
		}
		f.Nodes[i] = nd
		return nil
	}
	if n == 0 {
		return f
	}
	if err := start(0, opts.Bootstrap); err != nil {
		t.Fatalf("start fleet: %v", err)
	}
	boot := opts.Bootstrap
	if boot == nil {
		for _, a := range f.Nodes[0].Network().ListenAddrs() {
			boot = append(boot, a.String())
		}
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, opts.Parallel)
	)
	for i := 1; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := start(i, boot); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("start fleet: %v", errs)
	}
	return f
}

// defaultLog discards the nodes' logs unless GPUMESH_TEST_LOG is set.
func defaultLog() *slog.Logger {
	if os.Getenv("GPUMESH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// SizeForFleet raises c's connection and resource limits so that a host can
// hold a connection to each of n peers at once, as a fleet's bootstrap peer
// must: sized like a data-center bootstrap node, or its limits turn the
// fleet away.
func SizeForFleet(c *p2p.Config, n int) {
	c.ConnHigh = max(c.ConnHigh, n+32)
	c.MaxMemoryMB = max(c.MaxMemoryMB, 16*n)
	c.MaxFDs = max(c.MaxFDs, 4*n)
}

// Close stops every node, in parallel.
func (f *Fleet) Close() {
	var wg sync.WaitGroup
	for _, nd := range f.Nodes {
		if nd == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = nd.Close()
		}()
	}
	wg.Wait()
}

// WaitFor polls cond every 20 ms until it holds or timeout passes, then fails
// t with what describe says about the state it last saw.
func WaitFor(t TB, timeout time.Duration, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %s: %s", timeout, describe())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The Wait helpers skip empty slots (a Sim's nodes that left or have not
// joined yet).

// WaitRoutingTables waits until every node's DHT routing table holds at least min peers.
func (f *Fleet) WaitRoutingTables(t TB, min int, timeout time.Duration) {
	t.Helper()
	var worst, worstSize int
	WaitFor(t, timeout, func() bool {
		worstSize = -1
		for i, nd := range f.Nodes {
			if nd == nil {
				continue
			}
			if s := nd.Network().DHT().RoutingTable().Size(); worstSize < 0 || s < worstSize {
				worst, worstSize = i, s
			}
		}
		return worstSize >= min
	}, func() string {
		return fmt.Sprintf("node %d has %d peers in its routing table, want >= %d", worst, worstSize, min)
	})
}

// WaitSamples waits until every node's network coordinate has taken at
// least n RTT samples (its own pings and record fetches).
func (f *Fleet) WaitSamples(t TB, n int, timeout time.Duration) {
	t.Helper()
	WaitFor(t, timeout, func() bool {
		for _, nd := range f.Nodes {
			if nd != nil && nd.Network().Latency().Samples() < n {
				return false
			}
		}
		return true
	}, func() string { return fmt.Sprintf("nodes did not take %d samples each", n) })
}

// WaitHeard waits until every node has heard a gossip heartbeat from
// every other node it can hear: one that announces itself on a topic it
// subscribes to (with gossip.legacy_capacity_topic on, the default, that
// is every node; with it off, the providers of its own capacity shards).
func (f *Fleet) WaitHeard(t TB, timeout time.Duration) {
	t.Helper()
	var missing string
	WaitFor(t, timeout, func() bool {
		for i, nd := range f.Nodes {
			for j, other := range f.Nodes {
				if i == j || nd == nil || other == nil || !CanHear(nd, other) {
					continue
				}
				if _, ok := nd.Gossip().Presence().Lookup(other.PeerID()); !ok {
					missing = fmt.Sprintf("node %d has not heard node %d", i, j)
					return false
				}
			}
		}
		return true
	}, func() string { return missing })
}

// CanHear reports whether listener subscribes to a topic that speaker
// announces itself on, as of now.
func CanHear(listener, speaker *node.Node) bool {
	subs := listener.Gossip().Subscriptions()
	return slices.ContainsFunc(speaker.Gossip().HeartbeatTopics(), func(t string) bool { return slices.Contains(subs, t) })
}
