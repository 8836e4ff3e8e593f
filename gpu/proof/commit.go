package proof

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Commitment is a prover's answer to a challenge: the Merkle root over the
// rows of C and how long the prover took, bound to the challenge by its ID.
type Commitment struct {
	// Challenge is the ID of the challenge answered.
	Challenge ID
	// N is the challenge's matrix size, the number of leaves under Root.
	N int
	// Root is the RFC 6962 Merkle tree hash (tlog) over the rows of C, each
	// row's leaf being its N fp32 values, little-endian.
	Root tlog.Hash
	// Elapsed is the prover's own measure of the time from receiving the
	// challenge to having the root. The verifier also times the exchange
	// and trusts whichever is longer.
	Elapsed time.Duration
}

// Validate returns every problem with c as an answer to ch, joined: a
// different challenge ID or n wraps ErrWrongChallenge (a replay: bad
// commitment), a non-positive elapsed time wraps ErrInvalid.
func (c Commitment) Validate(ch Challenge) error {
	size := ""
	if c.N != ch.N {
		size = fmt.Sprintf("n = %d, want %d", c.N, ch.N)
	}
	return checkCommitment(c.Challenge, ch.ID(), size, c.Elapsed)
}

// Work is a computed challenge: the product C, its Merkle tree and the
// commitment to it. The prover keeps it between sending the commitment and
// answering the verifier's OpenRequest.
type Work struct {
	ch     Challenge
	c      []float32 // n x n, row-major
	tree   *tree     // over the rows of c
	commit Commitment
}

// Commit builds the Merkle tree over the rows of c, the n x n product of
// ch in row-major order, and returns the Work that commits to it with the
// given elapsed time. A prover that computes C elsewhere (a GPU) calls it;
// Work keeps c, which the caller must not modify afterwards.
func Commit(ch Challenge, c []float32, elapsed time.Duration) (*Work, error) {
	if err := ch.Validate(widest); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	if len(c) != ch.N*ch.N {
		return nil, fmt.Errorf("commit: %w: product has %d elements, want n^2 = %d", ErrInvalid, len(c), ch.N*ch.N)
	}
	if elapsed <= 0 {
		return nil, fmt.Errorf("commit: %w: elapsed %s, want > 0", ErrInvalid, elapsed)
	}
	return commitLeaves(ch, c, rowLeaves(c, ch.N), elapsed)
}

// commitLeaves builds the tree over leaves, the hashes of c's rows.
func commitLeaves(ch Challenge, c []float32, leaves []tlog.Hash, elapsed time.Duration) (*Work, error) {
	t, root, err := buildTree(leaves)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return &Work{ch: ch, c: c, tree: t, commit: Commitment{Challenge: ch.ID(), N: ch.N, Root: root, Elapsed: elapsed}}, nil
}

// Commitment returns the commitment to send the verifier.
func (w *Work) Commitment() Commitment { return w.commit }

// Open answers the verifier's request: each requested row of C with its
// inclusion proof under the committed root. A request for another challenge
// wraps ErrWrongChallenge; an invalid one wraps ErrInvalid.
func (w *Work) Open(req OpenRequest) (Openings, error) {
	if err := req.Validate(w.ch); err != nil {
		return Openings{}, fmt.Errorf("open: %w", err)
	}
	n := w.ch.N
	out := Openings{Challenge: w.commit.Challenge, Rows: make([]Opening, len(req.Rows))}
	for k, i := range req.Rows {
		p, err := w.tree.prove(n, i)
		if err != nil {
			return Openings{}, fmt.Errorf("open row %d: %w", i, err)
		}
		out.Rows[k] = Opening{Index: i, Values: append([]float32(nil), w.c[i*n:(i+1)*n]...), Proof: p}
	}
	return out, nil
}

// leafHash is the RFC 6962 leaf hash of a row: SHA-256(0x00, row as fp32
// little-endian). buf is scratch of at least 4 len(row) bytes.
func leafHash(row []float32, buf []byte) tlog.Hash {
	buf = buf[:4*len(row)]
	for j, v := range row {
		binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
	}
	return tlog.RecordHash(buf)
}
