package proof

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sync"
	"time"
	"unicode/utf8"
)

// Result is the outcome of a challenge, as a reputation system consumes it.
type Result string

// Results, from best to worst for the prover's reputation.
const (
	// Pass: the opened rows are right, match the root, and the prover was
	// as fast as its class.
	Pass Result = "pass"
	// TooSlow: the rows are right but the measured throughput is below the
	// tolerated fraction of the claimed class.
	TooSlow Result = "too-slow"
	// Timeout: the prover did not commit, or did not open, in time.
	Timeout Result = "timeout"
	// Malformed: an answer had the wrong size, was truncated or did not
	// parse, or opened other rows than those requested.
	Malformed Result = "malformed"
	// WrongRows: an opened row matches the root but its values are wrong:
	// the prover committed to a wrong product.
	WrongRows Result = "wrong-rows"
	// BadCommitment: an opened row does not match the root (the prover
	// committed to something else than it opened), or the commitment is
	// bound to another challenge or another n: a replay.
	BadCommitment Result = "bad-commitment"
)

// Results lists every Result.
var Results = []Result{Pass, TooSlow, Timeout, Malformed, WrongRows, BadCommitment}

// code is the result's byte on the wire; 0 for an unknown result.
func (r Result) code() byte {
	switch r {
	case Pass:
		return 1
	case TooSlow:
		return 2
	case Timeout:
		return 3
	case Malformed:
		return 4
	case WrongRows:
		return 5
	case BadCommitment:
		return 6
	}
	return 0
}

// resultOf is the inverse of code.
func resultOf(c byte) (Result, bool) {
	for _, r := range Results {
		if c != 0 && r.code() == c {
			return r, true
		}
	}
	return "", false
}

// MaxDetail is the longest Verdict.Detail, in bytes.
const MaxDetail = 512

// Verdict is the verifier's judgement of one challenge.
type Verdict struct {
	// Challenge is the ID of the challenge judged.
	Challenge ID
	// Result is the outcome.
	Result Result
	// Throughput is the measured FLOP/s, 2 n^3 / Elapsed; 0 when the prover
	// never committed.
	Throughput float64
	// Elapsed is the time the throughput was computed from: the longer of
	// the prover's claim and the verifier's own measure.
	Elapsed time.Duration
	// Detail says why, for logs and people; at most MaxDetail bytes.
	Detail string
}

// Validate returns every problem with the verdict, joined; each wraps ErrInvalid.
func (v Verdict) Validate() error {
	var errs []error
	if v.Result.code() == 0 {
		errs = append(errs, fmt.Errorf("%w: unknown result %q", ErrInvalid, v.Result))
	}
	if math.IsNaN(v.Throughput) || math.IsInf(v.Throughput, 0) || v.Throughput < 0 {
		errs = append(errs, fmt.Errorf("%w: throughput %v, want finite and >= 0", ErrInvalid, v.Throughput))
	}
	if v.Elapsed < 0 {
		errs = append(errs, fmt.Errorf("%w: elapsed %s < 0", ErrInvalid, v.Elapsed))
	}
	if len(v.Detail) > MaxDetail {
		errs = append(errs, fmt.Errorf("%w: detail of %d bytes, at most %d", ErrInvalid, len(v.Detail), MaxDetail))
	}
	if !utf8.ValidString(v.Detail) {
		errs = append(errs, fmt.Errorf("%w: detail is not UTF-8", ErrInvalid))
	}
	return errors.Join(errs...)
}

// verdict returns a verdict with a detail cut to MaxDetail bytes.
func verdict(ch Challenge, r Result, detail string) Verdict {
	return verdictFor(ch.ID(), r, detail)
}

// Failed returns the verdict for an exchange that ended with err before
// Verify could run: a message bound to another challenge (ErrWrongChallenge)
// is a bad commitment; one too large, truncated or out of bounds
// (ErrTooLarge, ErrMalformed, ErrInvalid, io.ErrUnexpectedEOF) is malformed;
// anything else (a deadline, a reset or closed stream) means the prover
// never answered: timeout.
func Failed(ch Challenge, err error) Verdict {
	switch {
	case errors.Is(err, ErrWrongChallenge):
		return verdict(ch, BadCommitment, err.Error())
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrMalformed), errors.Is(err, ErrInvalid), errors.Is(err, io.ErrUnexpectedEOF):
		return verdict(ch, Malformed, err.Error())
	case err == nil:
		return verdict(ch, Timeout, "no answer")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return verdict(ch, Timeout, "no answer before the deadline: "+err.Error())
	}
	return verdict(ch, Timeout, "no answer: "+err.Error())
}

// Exchange is everything the verifier saw of one challenge, for Verify.
type Exchange struct {
	// Challenge is the challenge sent.
	Challenge Challenge
	// Commitment is the prover's commitment; nil if it never came.
	Commitment *Commitment
	// Request is the OpenRequest the verifier sent (PickRows).
	Request OpenRequest
	// Openings are the prover's openings; nil if they never came.
	Openings *Openings
	// Observed is the verifier's own measure of the time from sending the
	// challenge to receiving the commitment; 0 if not measured.
	Observed time.Duration
	// RTT is the round-trip time to the prover, subtracted from Observed
	// (the challenge and the commitment each cross the network once).
	RTT time.Duration
	// Expected is the FLOP/s the prover's claimed class sustains (Expected);
	// 0 means no claim, and no speed check.
	Expected float64
	// Tolerance is the fraction of Expected the prover must reach, in
	// (0, 1]; 0 means DefaultTolerance.
	Tolerance float64
}

// Verify judges an exchange. The opened rows must be exactly those
// requested, each must match the commitment's root and have the right
// values, the commitment must come within the deadline, and the throughput
// 2 n^3 / elapsed must reach Tolerance x Expected, where elapsed is the
// longer of the prover's claim and Observed - RTT. The first failure, in
// that order, decides the verdict.
//
// It regenerates B and the opened rows of A and recomputes those rows: about
// r n^2 multiply-adds (Cost), in parallel over runtime.GOMAXPROCS(0)
// goroutines, all returned before it does, with O(r n) memory per goroutine
// (B is never stored). It returns an error, wrapping ErrInvalid, only when
// the verifier's own inputs are wrong (an invalid challenge or request, a
// tolerance out of [0, 1], a negative time).
func Verify(x Exchange) (Verdict, error) {
	ch := x.Challenge
	if err := checkInputs(x); err != nil {
		return Verdict{}, fmt.Errorf("verify: %w", err)
	}
	tolerance := x.Tolerance
	if tolerance == 0 {
		tolerance = DefaultTolerance
	}
	v, done, sp, err := judgedOf(x).judge()
	if err != nil {
		return Verdict{}, fmt.Errorf("verify: %w", err)
	}
	if done {
		return v, nil
	}
	rows := x.Openings.Rows
	if detail := recompute(ch, rows); detail != "" {
		return sp.stamp(verdict(ch, WrongRows, detail)), nil
	}
	v = sp.stamp(verdict(ch, Pass, fmt.Sprintf("%d rows right; %.3g FLOP/s", len(rows), sp.throughput())))
	return speedCheck(v, x.Expected, tolerance), nil
}

// judgedOf reduces x to the steps Verify shares with Verify2.
func judgedOf(x Exchange) judged {
	ch := x.Challenge
	j := judged{id: ch.ID(), flops: ch.Flops(), deadline: ch.Deadline, measured: x.Observed - x.RTT, noun: "row", size: ch.N, requested: x.Request.Rows}
	if cm := x.Commitment; cm != nil {
		j.committed, j.commitErr, j.claimed, j.root = true, cm.Validate(ch), cm.Elapsed, cm.Root
	}
	if op := x.Openings; op != nil {
		j.requestErr = x.Request.Validate(ch)
		j.opened, j.openErr = true, op.Validate(ch)
		j.leaves = rowLeavesOf(op.Rows)
	}
	return j
}

// checkInputs returns what is wrong with the verifier's own side of x.
func checkInputs(x Exchange) error {
	var errs []error
	if err := x.Challenge.Validate(widest); err != nil {
		errs = append(errs, err)
	}
	if math.IsNaN(x.Expected) || math.IsInf(x.Expected, 0) || x.Expected < 0 {
		errs = append(errs, fmt.Errorf("%w: expected throughput %v", ErrInvalid, x.Expected))
	}
	if !(x.Tolerance >= 0 && x.Tolerance <= 1) {
		errs = append(errs, fmt.Errorf("%w: tolerance %v not in [0, 1]", ErrInvalid, x.Tolerance))
	}
	if x.Observed < 0 || x.RTT < 0 {
		errs = append(errs, fmt.Errorf("%w: observed %s, rtt %s: want >= 0", ErrInvalid, x.Observed, x.RTT))
	}
	return errors.Join(errs...)
}

// recompute regenerates the opened rows of A and every row of B, recomputes
// the opened rows of C and compares: exactly for exact number types, within
// Tolerance x sum_k |a_ik| max_j |b_kj| for the others. It returns "" if
// every row is right, else what is wrong. rows have n values each.
//
// B is never stored: each worker generates its share of B's rows one at a
// time and adds row k, times a_ik, into its partial sums of every opened row
// while the row is in cache; the partial sums are added at the end, which is
// exact for integer elements. Memory is O(r n) per worker.
func recompute(ch Challenge, rows []Opening) string {
	n, r := ch.N, len(rows)
	exact := ch.Type.Exact()
	a := make([]float32, r*n)
	g := newGenerator(ch.Seed, ch.Type)
	for k, row := range rows {
		g.row(matrixA, row.Index, a[k*n:(k+1)*n])
	}

	workers := min(runtime.GOMAXPROCS(0), n)
	parts := make([]partial, workers)
	var wg sync.WaitGroup
	for w := range parts {
		wg.Go(func() { parts[w] = accumulate(ch, a, r, w*n/workers, (w+1)*n/workers) })
	}
	wg.Wait()
	sum := parts[0]
	for _, p := range parts[1:] {
		for i, v := range p.c32 {
			sum.c32[i] += v
		}
		for i, v := range p.c64 {
			sum.c64[i] += v
		}
		for i, v := range p.scale {
			sum.scale[i] += v
		}
	}

	wrong, first := 0, ""
	for k, row := range rows {
		problem := ""
		if exact {
			want := sum.c32[k*n : (k+1)*n]
			if j, ok := firstDiff(row.Values, want); !ok {
				problem = fmt.Sprintf("row %d, column %d: got %v, want %v", row.Index, j, row.Values[j], want[j])
			}
		} else {
			want := sum.c64[k*n : (k+1)*n]
			bound := ch.Type.Tolerance() * sum.scale[k]
			for j, v := range row.Values {
				if d := math.Abs(float64(v) - want[j]); !(d <= bound) {
					problem = fmt.Sprintf("row %d, column %d: got %v, want %v within %.3g", row.Index, j, v, want[j], bound)
					break
				}
			}
		}
		if problem != "" {
			wrong++
			if first == "" {
				first = problem
			}
		}
	}
	if wrong == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d opened rows wrong; %s", wrong, r, first)
}

// partial is one worker's share of the opened rows of C: sums over its
// range of k, in float32 (exact types) or float64 with the tolerance's
// scale sum_k |a_ik| max_j |b_kj| (others).
type partial struct {
	c32   []float32
	c64   []float64
	scale []float64
}

// accumulate generates rows [lo, hi) of B and returns their contribution to
// the r opened rows of C whose rows of A are a (r x n).
func accumulate(ch Challenge, a []float32, r, lo, hi int) partial {
	n := ch.N
	g := newGenerator(ch.Seed, ch.Type)
	bk := make([]float32, n)
	var p partial
	if ch.Type.Exact() {
		p.c32 = make([]float32, r*n)
		quad := make([]float32, 4*n)
		k := lo
		for ; k+4 <= hi; k += 4 {
			for q := range 4 {
				g.row(matrixB, k+q, quad[q*n:(q+1)*n])
			}
			addQuad(p.c32, a, quad[:n], quad[n:2*n], quad[2*n:3*n], quad[3*n:], n, k)
		}
		for ; k < hi; k++ {
			g.row(matrixB, k, bk)
			addRow(p.c32, a, bk, n, k)
		}
		return p
	}
	p.c64, p.scale = make([]float64, r*n), make([]float64, r)
	for k := lo; k < hi; k++ {
		g.row(matrixB, k, bk)
		m := float32(0)
		for _, v := range bk {
			m = max(m, abs32(v))
		}
		for i := range r {
			x := a[i*n+k]
			p.scale[i] += float64(abs32(x)) * float64(m)
			addRow64(p.c64[i*n:(i+1)*n], float64(x), bk)
		}
	}
	return p
}

// firstDiff returns the first index where got and want differ as numbers
// (0 equals -0; NaN equals nothing), and false; or true if none does.
func firstDiff(got, want []float32) (int, bool) {
	for j, v := range got {
		if v != want[j] {
			return j, false
		}
	}
	return 0, true
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// Cost returns the multiply-adds of a challenge of size n with r opened
// rows: the prover's n^3, and the verifier's r n^2 for the rows plus one per
// element it generates (B, n^2, and r rows of A, r n). At n = 1024 and
// r = DefaultRows, the verifier's share is 1.27 %.
func Cost(n, r int) (prover, verifier int64) {
	nn := int64(n)
	rr := int64(r)
	return nn * nn * nn, rr*nn*nn + nn*nn + rr*nn
}
