package challenge

import (
	"bufio"
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gpu/proof"
	"github.com/gpumesh/gpumesh/p2p"
)

// This file holds the stream flow versions 1 and 2 share once the
// challenge is ready: the verifier's questions and the prover's answers
// are the same steps over each version's own message types.

// marshaler is a message that encodes itself for the wire.
type marshaler interface{ Marshal() ([]byte, error) }

// challengeOver opens a challenge stream from h to p and runs the
// verifier's side over it with run. An error from run resets the stream
// and is judged by failed; otherwise the prover is sent its verdict, for
// information. The error is only for a stream that could not be opened.
func challengeOver(ctx context.Context, h host.Host, p peer.ID, run func(network.Stream) (proof.Verdict, error), failed func(error) proof.Verdict) (proof.Verdict, error) {
	// The openings are bulk data: a direct path or a quick, clear failure,
	// never a wait for the deadline on a relay that would cut them short.
	if _, err := p2p.EnsureDirect(ctx, h, p, p2p.DirectWait); err != nil {
		return proof.Verdict{}, fmt.Errorf("open challenge stream to %s: %w", p, err)
	}
	dialCtx, cancel := context.WithTimeout(ctx, ioMargin)
	defer cancel()
	st, err := h.NewStream(dialCtx, p, ProtocolID)
	if err != nil {
		return proof.Verdict{}, fmt.Errorf("open challenge stream to %s: %w", p, err)
	}
	// The caller's ctx can end the challenge early.
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	v, err := run(st)
	if err != nil {
		_ = st.Reset()
		return failed(err), nil
	}
	if data, err := v.Marshal(); err == nil {
		_ = writeFrame(st, data) // informative: the prover learns its verdict
	}
	_ = st.Close()
	return v, nil
}

// asked is the verifier's side of one version's exchange from sending
// the challenge on: C is the commitment, R the open request, O the
// openings.
type asked[C any, R marshaler, O any] struct {
	challenge      []byte        // the marshalled challenge
	deadline       time.Duration // the challenge's
	commitmentSize int
	commitment     func([]byte) (C, error) // parses the commitment
	pick           func(C) (R, error)      // picks what to open, once the root is known
	openingsSize   int
	openings       func([]byte) (O, error) // parses the openings
}

// answers is what the prover sent, and how long its commitment took.
type answers[C, R, O any] struct {
	commitment C
	request    R
	openings   O
	observed   time.Duration
}

// run sends the challenge, times the commitment, sends the request picked
// only now that the root has arrived, and reads the openings.
func (a asked[C, R, O]) run(st network.Stream, r *bufio.Reader) (answers[C, R, O], error) {
	var got answers[C, R, O]
	sent := time.Now()
	_ = st.SetDeadline(sent.Add(a.deadline + commitMargin))
	if err := writeFrame(st, a.challenge); err != nil {
		return got, fmt.Errorf("send challenge: %w", err)
	}
	data, err := readFrame(r, a.commitmentSize)
	if err != nil {
		return got, fmt.Errorf("read commitment: %w", err)
	}
	got.observed = time.Since(sent)
	if got.commitment, err = a.commitment(data); err != nil {
		return got, err
	}
	_ = st.SetDeadline(time.Now().Add(ioMargin))
	if got.request, err = a.pick(got.commitment); err != nil {
		return got, err
	}
	if data, err = got.request.Marshal(); err != nil {
		return got, err
	}
	if err := writeFrame(st, data); err != nil {
		return got, fmt.Errorf("send open request: %w", err)
	}
	if data, err = readFrame(r, a.openingsSize); err != nil {
		return got, fmt.Errorf("read openings: %w", err)
	}
	got.openings, err = a.openings(data)
	return got, err
}

// answered is the prover's side of one version's exchange from the
// commitment on: R is the open request, O the openings.
type answered[R any, O marshaler] struct {
	commitment  marshaler
	requestSize int
	request     func([]byte) (R, error) // parses the open request
	open        func(R) (O, error)      // answers it
	opening     string                  // what open does, wrapping its error
	opened      func()                  // called once opened, before sending; may be nil
}

// run sends the commitment, answers the open request and reads the
// verdict.
func (a answered[R, O]) run(st network.Stream, r *bufio.Reader) (proof.Verdict, error) {
	data, err := a.commitment.Marshal()
	if err != nil {
		return proof.Verdict{}, err
	}
	if err := writeFrame(st, data); err != nil {
		return proof.Verdict{}, fmt.Errorf("send commitment: %w", err)
	}
	if data, err = readFrame(r, a.requestSize); err != nil {
		return proof.Verdict{}, fmt.Errorf("read open request: %w", err)
	}
	req, err := a.request(data)
	if err != nil {
		return proof.Verdict{}, fmt.Errorf("open request: %w", err)
	}
	op, err := a.open(req)
	if err != nil {
		return proof.Verdict{}, fmt.Errorf("%s: %w", a.opening, err)
	}
	if a.opened != nil {
		a.opened()
	}
	if data, err = op.Marshal(); err != nil {
		return proof.Verdict{}, err
	}
	if err := writeFrame(st, data); err != nil {
		return proof.Verdict{}, fmt.Errorf("send openings: %w", err)
	}
	if data, err = readFrame(r, proof.MaxVerdictSize); err != nil {
		return proof.Verdict{}, fmt.Errorf("read verdict: %w", err)
	}
	v, err := proof.UnmarshalVerdict(data)
	if err != nil {
		return proof.Verdict{}, fmt.Errorf("verdict: %w", err)
	}
	return v, nil
}
