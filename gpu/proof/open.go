package proof

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"golang.org/x/mod/sumdb/tlog"
)

// OpenRequest is the verifier's choice of rows to open, made only after the
// commitment arrived (PickRows).
type OpenRequest struct {
	// Challenge is the ID of the challenge.
	Challenge ID
	// Rows are the row indexes to open: between 1 and the challenge's r of
	// them, in [0, n), strictly increasing.
	Rows []int
}

// Validate returns every problem with r as a request for ch, joined: a
// different challenge ID wraps ErrWrongChallenge, anything else ErrInvalid.
func (r OpenRequest) Validate(ch Challenge) error {
	return checkPicks(r.Challenge, ch.ID(), r.Rows, ch.Rows, ch.N, "row")
}

// PickRows draws the rows to open for a commitment to ch, reading rnd
// (crypto/rand.Reader in production, a seeded generator in tests). It takes
// the commitment so that it cannot be called before the root is fixed, and
// refuses one that is not bound to ch (ErrWrongChallenge).
//
// It draws ch.Rows = r indexes independently and uniformly in [0, n) and
// returns them sorted without duplicates, so a prover with b wrong rows out
// of n is caught with probability exactly 1-(1-b/n)^r (CatchProbability).
func PickRows(rnd io.Reader, ch Challenge, c Commitment) (OpenRequest, error) {
	if err := ch.Validate(widest); err != nil {
		return OpenRequest{}, fmt.Errorf("pick rows: %w", err)
	}
	if err := c.Validate(ch); err != nil {
		return OpenRequest{}, fmt.Errorf("pick rows: %w", err)
	}
	rows, err := drawPicks(rnd, ch.Rows, ch.N)
	if err != nil {
		return OpenRequest{}, fmt.Errorf("pick rows: %w", err)
	}
	return OpenRequest{Challenge: ch.ID(), Rows: rows}, nil
}

// uniform returns an integer uniform in [0, n) read from rnd, by rejection
// so that it is unbiased. Each draw is rejected with probability below
// n/2^64; after 64 rejections rnd is broken.
func uniform(rnd io.Reader, n int) (int, error) {
	limit := math.MaxUint64 - math.MaxUint64%uint64(n)
	var b [8]byte
	for range 64 {
		if _, err := io.ReadFull(rnd, b[:]); err != nil {
			return 0, fmt.Errorf("read randomness: %w", err)
		}
		if v := binary.LittleEndian.Uint64(b[:]); v < limit {
			return int(v % uint64(n)), nil
		}
	}
	return 0, errors.New("randomness source keeps returning values out of range")
}

// CatchProbability is the probability that a verifier opening r rows drawn
// independently and uniformly catches a prover with bad wrong rows out of n:
//
//	P = 1 - (1 - bad/n)^r
//
// For one wrong row at n = 1024 and r = DefaultRows = 12, P = 1.17 %; at
// n = 256, 4.59 %. For half the rows wrong, P = 1 - 2^-r.
func CatchProbability(n, r, bad int) float64 {
	if n <= 0 || r <= 0 || bad <= 0 {
		return 0
	}
	if bad >= n {
		return 1
	}
	return 1 - math.Pow(1-float64(bad)/float64(n), float64(r))
}

// Opening is one row of C with its inclusion proof.
type Opening struct {
	// Index is the row's index in C.
	Index int
	// Values are the row's n fp32 values.
	Values []float32
	// Proof is the RFC 6962 inclusion proof of the row's leaf under the
	// commitment's root.
	Proof tlog.RecordProof
}

// Openings is the prover's answer to an OpenRequest.
type Openings struct {
	// Challenge is the ID of the challenge.
	Challenge ID
	// Rows are the opened rows, in the order requested.
	Rows []Opening
}

// Validate returns every problem with o as openings for ch, joined: a
// different challenge ID wraps ErrWrongChallenge, wrong sizes ErrMalformed.
// Whether the rows are those requested, and correct, is Verify's business.
func (o Openings) Validate(ch Challenge) error {
	return checkOpenings(o.Challenge, ch.ID(), rowLeavesOf(o.Rows), ch.Rows, ch.N, ch.N, rowWords)
}

// rowWords names version 1's opened leaves, rows of C.
var rowWords = leafWords{
	leaf: "row", values: "values", count: "value count", raw: "row values",
	wrongCount: func(k, index int, got uint64, n int) error {
		return fmt.Errorf("%w: opening %d: row %d has %d values, want n = %d", ErrMalformed, k, index, got, n)
	},
}

// rowLeavesOf returns version 1's opened rows as leaves.
func rowLeavesOf(rows []Opening) []leaf {
	leaves := make([]leaf, len(rows))
	for k, row := range rows {
		leaves[k] = leaf{index: row.Index, values: row.Values, proof: row.Proof}
	}
	return leaves
}
