package proof

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Prover answers challenges. The CPU prover is CPUProver; a GPU prover
// computes C on its device and hands it to Commit.
type Prover interface {
	// Prove generates the challenge's matrices, multiplies them and commits
	// to the product, within ch.Deadline. It returns an error wrapping
	// ctx.Err() (context.DeadlineExceeded past the deadline) if ctx ends
	// first, ErrInvalid for a challenge out of the prover's limits and
	// ErrUnsupported for a number type it cannot compute. The Work answers
	// the openings afterwards.
	Prove(ctx context.Context, ch Challenge) (*Work, error)
}

// CPUProver is a Prover in pure Go: it computes C in float32, in parallel
// over blocks of rows, and supports every number type (the 16-bit types'
// inputs are exact in float32). The zero value is ready to use.
type CPUProver struct {
	// Workers is the number of goroutines multiplying; 0 means
	// runtime.GOMAXPROCS(0).
	Workers int
	// Limits bound the challenges it accepts; zero fields are defaults.
	Limits Limits
}

// blockRows is how many rows of C a worker takes at a time: each quad of
// B's rows, read from memory once per block, serves them all from cache.
const blockRows = 4

// Prove implements Prover. Its goroutines all return before it does; they
// check ctx between blocks of rows, so Prove returns within one block's
// time (4 n^2 multiply-adds, milliseconds) of ctx ending.
func (p CPUProver) Prove(ctx context.Context, ch Challenge) (*Work, error) {
	start := time.Now()
	if err := ch.Validate(p.Limits); err != nil {
		return nil, fmt.Errorf("prove: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, ch.Deadline)
	defer cancel()
	workers := workersOr(p.Workers)
	n := ch.N
	workers = min(workers, (n+blockRows-1)/blockRows)

	// B, generated in parallel by rows.
	b := make([]float32, n*n)
	var next atomic.Int64
	parallel(workers, func() {
		g := newGenerator(ch.Seed, ch.Type)
		for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
			g.row(matrixB, i, b[i*n:(i+1)*n])
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("prove: generate b: %w", err)
	}

	// C and its leaf hashes, by blocks of rows of A generated on the spot.
	c := make([]float32, n*n)
	leaves := make([]tlog.Hash, n)
	next.Store(0)
	parallel(workers, func() {
		g := newGenerator(ch.Seed, ch.Type)
		a := make([]float32, blockRows*n)
		buf := make([]byte, 4*n)
		for {
			lo := int(next.Add(blockRows) - blockRows)
			if lo >= n || ctx.Err() != nil {
				return
			}
			hi := min(lo+blockRows, n)
			for i := lo; i < hi; i++ {
				g.row(matrixA, i, a[(i-lo)*n:(i-lo+1)*n])
			}
			mulRows(a[:(hi-lo)*n], b, c[lo*n:hi*n], n)
			for i := lo; i < hi; i++ {
				leaves[i] = leafHash(c[i*n:(i+1)*n], buf)
			}
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("prove: multiply: %w", err)
	}
	w, err := commitLeaves(ch, c, leaves, 0)
	if err != nil {
		return nil, fmt.Errorf("prove: %w", err)
	}
	w.commit.Elapsed = max(time.Since(start), 1)
	return w, nil
}

// workersOr returns w, or runtime.GOMAXPROCS(0) when w <= 0: a prover's
// number of goroutines.
func workersOr(w int) int {
	if w <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return w
}

// parallel runs f on k goroutines and waits for them all.
func parallel(k int, f func()) {
	var wg sync.WaitGroup
	for range k {
		wg.Go(f)
	}
	wg.Wait()
}
