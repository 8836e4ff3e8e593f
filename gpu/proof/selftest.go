package proof

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// SelfTest plays one challenge of size n and number type t against p in
// process, through the wire encodings as the stream protocol would, with
// rows and seeds read from rnd, and returns the verdict and the best device
// class its throughput supports (Classify; a zero Fit if none). No class is
// claimed, so the verdict's speed check is off: it is for `gpumesh bench`,
// which reports what the device is. The time counted is the verifier's
// view: from handing over the challenge to decoding the commitment. An error
// means the test could not run (an invalid n, a prover error other than a
// deadline); a prover that answers wrong gets a verdict, not an error.
func SelfTest(ctx context.Context, p Prover, rnd io.Reader, n int, t NumberType) (Verdict, Fit, error) {
	ch, err := NewChallenge(rnd, n, t, min(DefaultRows, n), DefaultMaxDeadline)
	if err != nil {
		return Verdict{}, Fit{}, fmt.Errorf("self-test: %w", err)
	}
	chData, err := ch.Marshal()
	if err != nil {
		return Verdict{}, Fit{}, fmt.Errorf("self-test: %w", err)
	}
	start := time.Now()
	got, err := UnmarshalChallenge(chData, Limits{MaxN: n})
	if err != nil {
		return Verdict{}, Fit{}, fmt.Errorf("self-test: %w", err)
	}
	w, err := p.Prove(ctx, got)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return Failed(ch, err), Fit{}, nil
		}
		return Verdict{}, Fit{}, fmt.Errorf("self-test: %w", err)
	}
	cmData, err := w.Commitment().Marshal()
	if err != nil {
		return Verdict{}, Fit{}, fmt.Errorf("self-test: %w", err)
	}
	cm, err := UnmarshalCommitment(cmData, ch)
	if err != nil {
		return Failed(ch, err), Fit{}, nil
	}
	observed := time.Since(start)
	req, err := PickRows(rnd, ch, cm)
	if err != nil {
		return Verdict{}, Fit{}, fmt.Errorf("self-test: %w", err)
	}
	op, err := w.Open(req)
	if err != nil {
		return Failed(ch, err), Fit{}, nil
	}
	opData, err := op.Marshal()
	if err != nil {
		return Failed(ch, err), Fit{}, nil
	}
	op, err = UnmarshalOpenings(opData, ch)
	if err != nil {
		return Failed(ch, err), Fit{}, nil
	}
	v, err := Verify(Exchange{Challenge: ch, Commitment: &cm, Request: req, Openings: &op, Observed: observed})
	if err != nil {
		return Verdict{}, Fit{}, fmt.Errorf("self-test: %w", err)
	}
	if v.Result != Pass {
		return v, Fit{}, nil
	}
	fit, _ := Classify(v.Throughput, t)
	return v, fit, nil
}
