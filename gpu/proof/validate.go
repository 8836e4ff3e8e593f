package proof

import (
	"errors"
	"fmt"
	"time"
)

// This file holds the checks of a prover's messages that versions 1 and
// 2 share: a commitment's binding, and openings' sizes.

// leafWords is how one version names its opened leaves in errors and in
// the decoder's labels.
type leafWords struct {
	leaf   string // one leaf: "row", "product"
	values string // its values, plural: "values", "digests"
	count  string // the label of its value count: "value count"
	raw    string // the label of its values' bytes: "row values"
	// wrongCount is the error for opening k, of leaf index, announcing
	// got values instead of n.
	wrongCount func(k, index int, got uint64, n int) error
}

// checkCommitment returns every problem with a commitment to challenge
// got, of the elapsed time, as one to challenge want, joined: another
// challenge, or size (what differs in the tree's size, "" if nothing),
// wraps ErrWrongChallenge (a replay); a non-positive elapsed time wraps
// ErrInvalid.
func checkCommitment(got, want ID, size string, elapsed time.Duration) error {
	var errs []error
	if got != want {
		errs = append(errs, fmt.Errorf("%w: commitment for challenge %.16s, want %.16s", ErrWrongChallenge, got, want))
	}
	if size != "" {
		errs = append(errs, fmt.Errorf("%w: commitment for %s", ErrWrongChallenge, size))
	}
	if elapsed <= 0 {
		errs = append(errs, fmt.Errorf("%w: elapsed %s, want > 0", ErrInvalid, elapsed))
	}
	return errors.Join(errs...)
}

// checkOpenings returns every problem with openings of leaves for
// challenge got as openings for challenge want of 1 to most leaves in
// [0, size), of n values each, joined: another challenge wraps
// ErrWrongChallenge, wrong sizes ErrMalformed. Whether the leaves are
// those requested, and right, is the verifier's business.
func checkOpenings(got, want ID, leaves []leaf, most, size, n int, w leafWords) error {
	var errs []error
	if got != want {
		errs = append(errs, fmt.Errorf("%w: openings for challenge %.16s, want %.16s", ErrWrongChallenge, got, want))
	}
	if len(leaves) < 1 || len(leaves) > most {
		errs = append(errs, fmt.Errorf("%w: %d %ss opened, want 1 to %d", ErrMalformed, len(leaves), w.leaf, most))
	}
	maxProof := proofLen(size)
	for k, l := range leaves {
		if l.index < 0 || l.index >= size {
			errs = append(errs, fmt.Errorf("%w: opening %d: %s %d not in [0, %d)", ErrMalformed, k, w.leaf, l.index, size))
		}
		if len(l.values) != n {
			errs = append(errs, w.wrongCount(k, l.index, uint64(len(l.values)), n))
		}
		if len(l.proof) > maxProof {
			errs = append(errs, fmt.Errorf("%w: opening %d: proof of %d hashes, at most %d", ErrMalformed, k, len(l.proof), maxProof))
		}
	}
	return errors.Join(errs...)
}
