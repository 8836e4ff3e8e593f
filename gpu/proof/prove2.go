package proof

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Commitment2 is a prover's answer to a version 2 challenge: the Merkle
// root over the products' digest rows and how long the prover took.
type Commitment2 struct {
	// Challenge is the ID of the challenge answered.
	Challenge ID
	// Products is K, the number of leaves under Root.
	Products int
	// Root is the RFC 6962 tree hash over the K leaves, leaf j being
	// product j's n row digests as fp32 little-endian.
	Root tlog.Hash
	// Elapsed is the prover's own measure; the verifier trusts the longer
	// of it and its own.
	Elapsed time.Duration
}

// Validate returns every problem with c as an answer to ch, joined.
func (c Commitment2) Validate(ch Challenge2) error {
	size := ""
	if c.Products != ch.Products {
		size = fmt.Sprintf("%d products, want %d", c.Products, ch.Products)
	}
	return checkCommitment(c.Challenge, ch.ID(), size, c.Elapsed)
}

// Work2 is a computed version 2 challenge: every product's digests and
// their Merkle tree. The prover keeps it until the openings are sent.
type Work2 struct {
	ch      Challenge2
	digests []float32 // K x n
	tree    *tree     // over the products' digest rows
	commit  Commitment2
}

// Commit2 builds the tree over digests (K x n, row-major: product j's n
// row digests) and returns the Work2 that commits to it; a GPU prover
// calls it with digests computed elsewhere.
func Commit2(ch Challenge2, digests []float32, elapsed time.Duration) (*Work2, error) {
	if err := ch.Validate(widest2); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	if len(digests) != ch.Products*ch.N {
		return nil, fmt.Errorf("commit: %w: %d digests, want K n = %d", ErrInvalid, len(digests), ch.Products*ch.N)
	}
	if elapsed <= 0 {
		return nil, fmt.Errorf("commit: %w: elapsed %s, want > 0", ErrInvalid, elapsed)
	}
	t, root, err := buildTree(rowLeaves(digests, ch.N))
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return &Work2{ch: ch, digests: digests, tree: t, commit: Commitment2{Challenge: ch.ID(), Products: ch.Products, Root: root, Elapsed: elapsed}}, nil
}

// Commitment returns the commitment to send the verifier.
func (w *Work2) Commitment() Commitment2 { return w.commit }

// Open answers the verifier's request: each requested product's digests
// with its inclusion proof.
func (w *Work2) Open(req OpenRequest2) (Openings2, error) {
	if err := req.Validate(w.ch); err != nil {
		return Openings2{}, fmt.Errorf("open: %w", err)
	}
	n := w.ch.N
	out := Openings2{Challenge: w.commit.Challenge, Products: make([]Opening2, len(req.Products))}
	for k, j := range req.Products {
		p, err := w.tree.prove(w.ch.Products, j)
		if err != nil {
			return Openings2{}, fmt.Errorf("open product %d: %w", j, err)
		}
		out.Products[k] = Opening2{Index: j, Digests: append([]float32(nil), w.digests[j*n:(j+1)*n]...), Proof: p}
	}
	return out, nil
}

// CPUProver2 answers version 2 challenges in pure Go, in float32: what
// `gpumesh prover` runs, and the reference the GPU helper mirrors. It is
// slow (a CPU's GFLOP/s, not a GPU's TFLOP/s) and holds 2 P n^2 float32.
type CPUProver2 struct {
	// Workers is the number of goroutines; 0 means runtime.GOMAXPROCS(0).
	Workers int
	// Limits bound the challenges it accepts.
	Limits Limits2
}

// Prove computes every product's digests and commits to them, within
// ch.Deadline. Its goroutines all return before it does.
func (p CPUProver2) Prove(ctx context.Context, ch Challenge2) (*Work2, error) {
	start := time.Now()
	if err := ch.Validate(p.Limits); err != nil {
		return nil, fmt.Errorf("prove: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, ch.Deadline)
	defer cancel()
	workers := workersOr(p.Workers)
	n, pool := ch.N, ch.Pool
	g := newGen2(ch.Seed, n, ch.Type)
	mats := make([][]float32, 2*pool) // A_0..A_{P-1}, B_0..B_{P-1}
	var next atomic.Int64
	parallel(workers, func() {
		for q := int(next.Add(1) - 1); q < 2*pool && ctx.Err() == nil; q = int(next.Add(1) - 1) {
			m := make([]float32, n*n)
			for i := range n {
				g.row(q, i, m[i*n:(i+1)*n])
			}
			mats[q] = m
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("prove: generate pools: %w", err)
	}
	digests := make([]float32, ch.Products*n)
	next.Store(0)
	parallel(workers, func() {
		c := make([]float32, n*n)
		for j := int(next.Add(1) - 1); j < ch.Products && ctx.Err() == nil; j = int(next.Add(1) - 1) {
			x, y := Pair(j, pool)
			mulRows(mats[x], mats[pool+y], c, n)
			for i := range n {
				digests[j*n+i] = Digest(c[i*n : (i+1)*n])
			}
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("prove: multiply: %w", err)
	}
	return Commit2(ch, digests, max(time.Since(start), 1))
}
