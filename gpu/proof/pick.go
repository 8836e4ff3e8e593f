package proof

import (
	"errors"
	"fmt"
	"io"
	"slices"
)

// This file holds what versions 1 and 2 share in choosing the leaves to
// open: a row of C in version 1, a product in version 2.

// checkPicks returns every problem with a request to open the leaves
// picks, of challenge got, as a request for challenge want that opens 1 to
// most leaves in [0, size), strictly increasing, joined: another challenge
// wraps ErrWrongChallenge, anything else ErrInvalid. noun names a leaf.
func checkPicks(got, want ID, picks []int, most, size int, noun string) error {
	var errs []error
	if got != want {
		errs = append(errs, fmt.Errorf("%w: request for challenge %.16s, want %.16s", ErrWrongChallenge, got, want))
	}
	if len(picks) < 1 || len(picks) > most {
		errs = append(errs, fmt.Errorf("%w: %d %ss requested, want 1 to %d", ErrInvalid, len(picks), noun, most))
	}
	for k, i := range picks {
		if i < 0 || i >= size {
			errs = append(errs, fmt.Errorf("%w: %s %d not in [0, %d)", ErrInvalid, noun, i, size))
		}
		if k > 0 && i <= picks[k-1] {
			errs = append(errs, fmt.Errorf("%w: %ss not strictly increasing at %d", ErrInvalid, noun, k))
			break
		}
	}
	return errors.Join(errs...)
}

// drawPicks draws count indexes independently and uniformly in [0, size)
// from rnd and returns them sorted, duplicates dropped.
func drawPicks(rnd io.Reader, count, size int) ([]int, error) {
	out := make([]int, 0, count)
	for range count {
		i, err := uniform(rnd, size)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
