package evm

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/ledger/anchor/anchortest"
	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		c.t = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	}
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// rig is an anchorer of a anchortest.MemLog on some chain, with a test clock and a log
// buffer.
type rig struct {
	log   *anchortest.MemLog
	clock *clock
	a     *anchor.Anchorer
	logs  *syncBuffer
	dir   string
}

func newRig(t *testing.T, cfg anchor.Config, chain anchor.Backend) *rig {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{log: &anchortest.MemLog{}, clock: &clock{}, logs: &syncBuffer{}, dir: t.TempDir()}
	r.a, err = anchor.New(cfg, r.log, chain, k, anchor.Options{
		Dir: r.dir, Now: r.clock.Now, Log: slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) flush(t *testing.T) {
	t.Helper()
	if err := r.a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)

// confirmed returns the confirmed anchors, oldest first.
func confirmed(a *anchor.Anchorer) []anchor.Anchor {
	var out []anchor.Anchor
	for _, x := range a.Anchors() {
		if x.State == anchor.StateConfirmed {
			out = append(out, x)
		}
	}
	return out
}

// checkProofs checks, for each anchored checkpoint, that inclusion proofs of
// its entries verify against the root anchored on chain and fail against a
// different root, and that the consistency proof between consecutive anchors
// verifies and fails against a different root.
func checkProofs(t *testing.T, chain anchor.Backend, l *anchortest.MemLog, anchors []anchor.Anchor) {
	t.Helper()
	ctx := context.Background()
	for i := range anchors {
		a := &anchors[i]
		if err := anchor.VerifyOnChain(ctx, chain, a); err != nil {
			t.Fatalf("anchor %d: %v", i, err)
		}
		cp, _ := a.Checkpoint()
		var other merkle.Hash
		other[0] = 1
		for _, idx := range []int64{0, cp.Size / 2, cp.Size - 1} {
			proof := l.Inclusion(t, idx, cp.Size)
			if err := anchor.VerifyEntry(ctx, chain, a, anchortest.Leaf(idx), idx, proof); err != nil {
				t.Fatalf("entry %d against anchored size %d: %v", idx, cp.Size, err)
			}
			if err := merkle.VerifyInclusion(anchortest.Leaf(idx), idx, cp.Size, proof, other); err == nil {
				t.Fatalf("entry %d verified against a different root", idx)
			}
		}
		if i == 0 {
			continue
		}
		prev, _ := anchors[i-1].Checkpoint()
		if err := a.Extends(&anchors[i-1]); err != nil {
			t.Fatal(err)
		}
		if err := merkle.VerifyConsistency(prev.Size, cp.Size, prev.Root, cp.Root, a.Consistency); err != nil {
			t.Fatalf("consistency %d..%d between anchored roots: %v", prev.Size, cp.Size, err)
		}
		if err := merkle.VerifyConsistency(prev.Size, cp.Size, other, cp.Root, a.Consistency); err == nil {
			t.Fatalf("consistency %d..%d verified from a different old root", prev.Size, cp.Size)
		}
		if err := merkle.VerifyConsistency(prev.Size, cp.Size, prev.Root, other, a.Consistency); err == nil {
			t.Fatalf("consistency %d..%d verified to a different new root", prev.Size, cp.Size)
		}
	}
}
