package proof

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// This file holds the steps of judging an exchange that versions 1 and 2
// share: each version reduces its messages to a judged and runs judge, then
// checks the opened values its own way.

// leaf is one opened leaf, of either version: its index under the root,
// its values (a row of C, or a product's row digests) and inclusion proof.
type leaf struct {
	index  int
	values []float32
	proof  tlog.RecordProof
}

// judged is one exchange as the shared steps see it: the version's
// messages already validated against their challenge.
type judged struct {
	id       ID
	flops    float64       // the challenge's work, for the throughput
	deadline time.Duration // the challenge's
	measured time.Duration // the verifier's Observed - RTT
	noun     string        // what a leaf is, in details: "row", "product"
	size     int           // leaves under the root

	committed bool          // a commitment came
	commitErr error         // its Validate result
	claimed   time.Duration // its Elapsed
	root      tlog.Hash

	requested  []int // the indexes the verifier asked to open
	requestErr error // the request's Validate result

	opened  bool  // openings came
	openErr error // their Validate result
	leaves  []leaf
}

// speed stamps verdicts with the elapsed time and the throughput it gives.
type speed struct {
	elapsed time.Duration
	flops   float64
}

// stamp returns v with the elapsed time and throughput set.
func (s speed) stamp(v Verdict) Verdict {
	v.Elapsed = s.elapsed
	v.Throughput = s.throughput()
	return v
}

// throughput is the challenge's work over the elapsed time, in FLOP/s.
func (s speed) throughput() float64 { return s.flops / s.elapsed.Seconds() }

// judge runs the shared steps in order: a commitment came and is bound to
// the challenge, within the deadline; openings came (the verifier's own
// request being valid) and are well formed, of exactly the indexes
// requested, each matching the root. The first failure decides: judge
// returns its verdict and done. Otherwise it returns the speed to stamp
// the version's own verdicts with. err, wrapping the request's problem,
// means the verifier's own request is invalid.
func (j judged) judge() (v Verdict, done bool, sp speed, err error) {
	if !j.committed {
		return verdictFor(j.id, Timeout, "no commitment"), true, sp, nil
	}
	if j.commitErr != nil {
		return verdictFor(j.id, rejected(j.commitErr), j.commitErr.Error()), true, sp, nil
	}
	sp = speed{elapsed: max(j.claimed, j.measured), flops: j.flops}
	fail := func(r Result, detail string) (Verdict, bool, speed, error) {
		return sp.stamp(verdictFor(j.id, r, detail)), true, sp, nil
	}
	if sp.elapsed > j.deadline {
		return fail(Timeout, fmt.Sprintf("committed after %s, deadline %s", sp.elapsed, j.deadline))
	}
	if !j.opened {
		return fail(Timeout, "no openings")
	}
	if j.requestErr != nil {
		return Verdict{}, false, sp, fmt.Errorf("request: %w", j.requestErr)
	}
	if j.openErr != nil {
		return fail(rejected(j.openErr), j.openErr.Error())
	}
	opened := make([]int, len(j.leaves))
	for k, l := range j.leaves {
		opened[k] = l.index
	}
	if !slices.Equal(opened, j.requested) {
		return fail(Malformed, fmt.Sprintf("opened %ss %v, requested %v", j.noun, opened, j.requested))
	}
	var buf []byte
	for _, l := range j.leaves {
		if cap(buf) < 4*len(l.values) {
			buf = make([]byte, 4*len(l.values))
		}
		if err := tlog.CheckRecord(l.proof, int64(j.size), j.root, int64(l.index), leafHash(l.values, buf)); err != nil {
			return fail(BadCommitment, fmt.Sprintf("%s %d does not match the committed root: %v", j.noun, l.index, err))
		}
	}
	return Verdict{}, false, sp, nil
}

// rejected is the verdict on a message that failed validation: bound to
// another challenge, a bad commitment; otherwise malformed.
func rejected(err error) Result {
	if errors.Is(err, ErrWrongChallenge) {
		return BadCommitment
	}
	return Malformed
}

// speedCheck turns a passing verdict into TooSlow when its throughput is
// below tolerance x expected; expected 0 means no check.
func speedCheck(v Verdict, expected, tolerance float64) Verdict {
	if expected > 0 && v.Throughput < tolerance*expected {
		v.Result = TooSlow
		v.Detail = fmt.Sprintf("%.3g FLOP/s < %.2g x %.3g expected of the claimed class", v.Throughput, tolerance, expected)
	}
	return v
}

// verdictFor returns a verdict on challenge id with a detail cut to
// MaxDetail bytes.
func verdictFor(id ID, r Result, detail string) Verdict {
	if len(detail) > MaxDetail {
		detail = strings.ToValidUTF8(detail[:MaxDetail-3], "") + "..."
	}
	return Verdict{Challenge: id, Result: r, Detail: detail}
}
