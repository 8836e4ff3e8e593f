package challenge

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gpu/proof"
	"github.com/gpumesh/gpumesh/gpu/proof/helper"
)

// Version 2 challenges (GPU classes) travel on the same protocol. The
// verifier first sends a proof.Prepare2 (the parameters, no seed); the
// provider starts its helper and answers proof.Ready2 once it is warm; only
// then does the verifier send the challenge and start its clock, so that a
// helper's start-up (PyTorch, the CUDA context) is not timed. A version 1
// node refuses the prepare frame (over its version 1 frame limit), which
// the challenger reads as no answer; a version 1 challenger is answered as
// before.

// ErrNoProver2: the service has no version 2 prover (no helper installed).
var ErrNoProver2 = errors.New("no version 2 prover: no proof helper installed")

// Prover2 answers version 2 challenges, typically with a helper program.
type Prover2 interface {
	// Start readies a prover for one challenge, within
	// proof.DefaultWarmup; the Proof2 must be closed.
	Start(ctx context.Context) (Proof2, error)
}

// Proof2 is a ready prover answering one version 2 challenge.
type Proof2 interface {
	// Prove computes ch and commits, within ch.Deadline.
	Prove(ctx context.Context, ch proof.Challenge2) error
	// Commitment is the prover's commitment.
	Commitment() proof.Commitment2
	// Open answers the verifier's request.
	Open(ctx context.Context, req proof.OpenRequest2) (proof.Openings2, error)
	// Close ends the prover and frees what it holds.
	Close() error
}

// HelperProver is a Prover2 that runs a helper program per challenge.
type HelperProver struct{ Helper helper.Helper }

// Start implements Prover2.
func (h HelperProver) Start(ctx context.Context) (Proof2, error) {
	r, err := h.Helper.Start(ctx)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// maxChallengeFrame is the largest first frame the service reads.
const maxChallengeFrame = max(proof.ChallengeSize, proof.Prepare2Size)

// answer2 runs the prover's side of a version 2 challenge announced by
// prep; release frees the service's turn once the helper is done.
func (s *Service) answer2(ctx context.Context, st network.Stream, r *bufio.Reader, prep proof.Prepare2, log *slog.Logger, release func()) error {
	if s.prover2 == nil {
		return ErrNoProver2
	}
	defer release()
	_ = st.SetDeadline(time.Now().Add(proof.DefaultWarmup + ioMargin))
	work, err := s.prover2.Start(ctx)
	if err != nil {
		return fmt.Errorf("start the prover: %w", err)
	}
	defer work.Close()
	if err := writeFrame(st, proof.Ready2()); err != nil {
		return fmt.Errorf("send ready: %w", err)
	}
	_ = st.SetDeadline(time.Now().Add(ioMargin))
	data, err := readFrame(r, proof.Challenge2Size)
	if err != nil {
		return fmt.Errorf("read challenge: %w", err)
	}
	ch, err := proof.UnmarshalChallenge2(data, s.cfg.Limits2)
	if err != nil {
		return fmt.Errorf("challenge: %w", err)
	}
	if !prep.Matches(ch) {
		return fmt.Errorf("challenge: %w: parameters differ from those announced", proof.ErrInvalid)
	}
	_ = st.SetDeadline(time.Now().Add(ch.Deadline + commitMargin + 2*ioMargin))
	pctx, cancel := context.WithTimeout(ctx, ch.Deadline)
	defer cancel()
	if err := work.Prove(pctx, ch); err != nil {
		return fmt.Errorf("prove: %w", err)
	}
	v, err := answered[proof.OpenRequest2, proof.Openings2]{
		commitment:  work.Commitment(),
		requestSize: proof.MaxOpenRequest2Size,
		request:     func(data []byte) (proof.OpenRequest2, error) { return proof.UnmarshalOpenRequest2(data, ch) },
		open:        func(req proof.OpenRequest2) (proof.Openings2, error) { return work.Open(ctx, req) },
		opening:     "open products",
		opened: func() {
			_ = work.Close() // the helper is done: free the GPU before the verdict
			release()
		},
	}.run(st, r)
	if err != nil {
		return err
	}
	log.Info("challenged", "version", 2, "n", ch.N, "products", ch.Products, "result", string(v.Result), "flops", v.Throughput)
	return nil
}

// Request2 is what a challenger asks of a provider claiming a GPU class.
type Request2 struct {
	// Class is the claimed class; its expected throughput sets the work and
	// the speed check. Required.
	Class string
	// N is the matrix size; 0 means 4096 (MaxN2).
	N int
	// Type is the number type; empty means fp16-fp32.
	Type proof.NumberType
	// Target is the honest work at the class's speed; 0 means DefaultTarget2.
	Target time.Duration
	// Tolerance is the fraction of the expected throughput required; 0
	// means DefaultTolerance2.
	Tolerance float64
	// Slack is added to the deadline for generating pools, hashing and the
	// network; 0 means 5 s.
	Slack time.Duration
	// Expected overrides the class table's throughput, for a scaled-down
	// test class; 0 uses the table.
	Expected float64
}

// params returns the challenge parameters and the expected throughput.
func (r Request2) params() (proof.Params2, float64, error) {
	if r.N == 0 {
		r.N = proof.MaxN2
	}
	if r.Type == "" {
		r.Type = proof.FP16FP32
	}
	if r.Target == 0 {
		r.Target = proof.DefaultTarget2
	}
	if r.Tolerance == 0 {
		r.Tolerance = proof.DefaultTolerance2
	}
	if r.Slack == 0 {
		r.Slack = 5 * time.Second
	}
	expected := r.Expected
	if expected == 0 {
		var err error
		if expected, err = proof.Expected(r.Class, r.Type, 1); err != nil {
			return proof.Params2{}, 0, err
		}
	}
	p, err := proof.Plan2(expected, r.N, r.Type, r.Target, r.Tolerance, r.Slack)
	return p, expected, err
}

// Challenge2 tests provider p's claim to a GPU class with a version 2
// challenge. As Challenge: an error means the challenge could not be put;
// a provider that fails, lies or never answers gets a verdict.
func Challenge2(ctx context.Context, h host.Host, p peer.ID, req Request2) (proof.Verdict, error) {
	params, expected, err := req.params()
	if err != nil {
		return proof.Verdict{}, fmt.Errorf("challenge: %w", err)
	}
	ch, err := proof.NewChallenge2(rand.Reader, params)
	if err != nil {
		return proof.Verdict{}, fmt.Errorf("challenge: %w", err)
	}
	return challengeOver(ctx, h, p,
		func(st network.Stream) (proof.Verdict, error) {
			x := proof.Exchange2{Challenge: ch, Expected: expected, Tolerance: req.Tolerance, RTT: h.Peerstore().LatencyEWMA(p), Rand: rand.Reader}
			return exchange2(st, &x)
		},
		func(err error) proof.Verdict { return proof.Failed2(ch, err) })
}

// exchange2 runs the verifier's side of a version 2 challenge over st.
func exchange2(st network.Stream, x *proof.Exchange2) (proof.Verdict, error) {
	ch := x.Challenge
	data, err := proof.PrepareFor(ch).Marshal()
	if err != nil {
		return proof.Verdict{}, err
	}
	r := bufio.NewReader(st)
	_ = st.SetDeadline(time.Now().Add(proof.DefaultWarmup + ioMargin))
	if err := writeFrame(st, data); err != nil {
		return proof.Verdict{}, fmt.Errorf("send prepare: %w", err)
	}
	if data, err = readFrame(r, proof.Ready2Size); err != nil {
		return proof.Verdict{}, fmt.Errorf("read ready: %w", err)
	}
	if err := proof.CheckReady2(data); err != nil {
		return proof.Verdict{}, err
	}
	if data, err = ch.Marshal(); err != nil {
		return proof.Verdict{}, err
	}
	got, err := asked[proof.Commitment2, proof.OpenRequest2, proof.Openings2]{
		challenge:      data,
		deadline:       ch.Deadline,
		commitmentSize: proof.Commitment2Size,
		commitment:     func(data []byte) (proof.Commitment2, error) { return proof.UnmarshalCommitment2(data, ch) },
		pick:           func(cm proof.Commitment2) (proof.OpenRequest2, error) { return proof.PickProducts(rand.Reader, ch, cm) },
		openingsSize:   proof.MaxOpenings2Size(ch),
		openings:       func(data []byte) (proof.Openings2, error) { return proof.UnmarshalOpenings2(data, ch) },
	}.run(st, r)
	if err != nil {
		return proof.Verdict{}, err
	}
	x.Observed, x.Commitment, x.Request, x.Openings = got.observed, &got.commitment, got.request, &got.openings
	return proof.Verify2(*x)
}
