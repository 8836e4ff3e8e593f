// Package challenge runs proof-of-compute over the network: the
// /gpumesh/challenge/1 stream protocol, with a Service that answers
// challenges from any peer (one at a time, rate-limited per peer) and a
// Challenge function that lets any node test any provider and returns the
// verdict for reputation. The proof itself is gpu/proof's; this package adds
// framing, deadlines, size limits and abuse control.
package challenge

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gpumesh/gpumesh/gpu/proof"
	"github.com/gpumesh/gpumesh/p2p/frame"
	"github.com/gpumesh/gpumesh/scheduler/internal/lifetime"
)

// ProtocolID is the stream protocol of proof-of-compute challenges.
const ProtocolID = protocol.ID(proof.ProtocolID)

// Margins around a challenge's deadline: the commitment must arrive within
// the deadline plus commitMargin (transfer and hashing), and each other
// message within ioMargin of the previous one.
const (
	commitMargin = 5 * time.Second
	ioMargin     = 10 * time.Second
)

// Config bounds what a Service agrees to do for strangers.
type Config struct {
	// Limits are the largest challenges accepted.
	Limits proof.Limits
	// MinInterval is the least time between two challenges from one peer.
	MinInterval time.Duration
	// Limits2 are the largest version 2 challenges accepted.
	Limits2 proof.Limits2
	// Prover2 answers version 2 (GPU class) challenges; nil refuses them.
	Prover2 Prover2
}

// Service answers challenges with a Prover. Create it with NewService, then
// Start it; Close removes the handler, ends a challenge in progress and
// waits for it.
type Service struct {
	host    host.Host
	prover  proof.Prover
	prover2 Prover2
	cfg     Config
	log     *slog.Logger

	life lifetime.Group // every challenge being answered; no challenge is taken after Close
	busy chan struct{}  // one challenge at a time: a proof uses every core
	mu   sync.Mutex
	last map[peer.ID]time.Time // under mu
}

// NewService returns a service for h that proves with p.
func NewService(h host.Host, p proof.Prover, cfg Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{host: h, prover: p, prover2: cfg.Prover2, cfg: cfg, log: log, busy: make(chan struct{}, 1), last: map[peer.ID]time.Time{}}
}

// Start registers the stream handler. A challenge being answered ends
// when Close is called, or when ctx ends.
func (s *Service) Start(ctx context.Context) {
	s.host.SetStreamHandler(ProtocolID, func(st network.Stream) { s.handle(ctx, st) })
}

// Close refuses new challenges, removes the handler, ends any challenge
// being answered and waits for it. It is safe to call more than once.
func (s *Service) Close() error {
	s.life.Close()
	s.host.RemoveStreamHandler(ProtocolID)
	return nil
}

// admit reports whether p may challenge now, and records it if so.
func (s *Service) admit(p peer.ID, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.last[p]; ok && now.Sub(t) < s.cfg.MinInterval {
		return false
	}
	for id, t := range s.last { // forget peers whose wait is over
		if now.Sub(t) >= s.cfg.MinInterval {
			delete(s.last, id)
		}
	}
	s.last[p] = now
	return true
}

// handle answers one challenge: read it, prove it, commit, open the rows
// asked for, read the verdict. Any error resets the stream. The prover is
// taken only for the proof itself: a challenger that sends nothing, half
// a challenge, or stops after the commitment holds no other's turn (it
// would otherwise turn an honest requester's challenge away, a failed
// proof on an honest provider's record).
func (s *Service) handle(ctx context.Context, st network.Stream) {
	if !s.life.Do(ctx, func(ctx context.Context) { s.respond(ctx, st) }) {
		_ = st.Reset() // closed: nothing is taken from the stream
	}
}

// respond is handle's work, counted by the service's lifetime group.
func (s *Service) respond(ctx context.Context, st network.Stream) {
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() }) // Close ends the exchange
	defer stop()
	from := st.Conn().RemotePeer()
	log := s.log.With("peer", from.String())
	if !s.admit(from, time.Now()) {
		log.Debug("challenge refused: too soon after the last one")
		_ = st.Reset()
		return
	}
	_ = st.SetDeadline(time.Now().Add(ioMargin))
	r := bufio.NewReader(st)
	ch, prep, err := s.read(r)
	if err != nil {
		log.Info("challenge refused", "err", err)
		_ = st.Reset()
		return
	}
	select {
	case s.busy <- struct{}{}:
	default:
		log.Debug("challenge refused: busy with another")
		_ = st.Reset()
		return
	}
	var once sync.Once
	release := func() { once.Do(func() { <-s.busy }) }
	defer release()
	if prep != nil {
		err = s.answer2(ctx, st, r, *prep, log, release)
	} else {
		err = s.answer(ctx, st, r, ch, log, release)
	}
	if err != nil {
		log.Info("challenge failed", "err", err)
		_ = st.Reset()
		return
	}
	_ = st.Close()
}

// read reads and checks a version 1 challenge or, in prep, the prepare
// message of a version 2 one.
func (s *Service) read(r *bufio.Reader) (ch proof.Challenge, prep *proof.Prepare2, err error) {
	data, err := readFrame(r, maxChallengeFrame)
	if err != nil {
		return ch, nil, fmt.Errorf("read challenge: %w", err)
	}
	if proof.IsPrepare2(data) {
		if s.prover2 == nil {
			return ch, nil, ErrNoProver2
		}
		p, err := proof.UnmarshalPrepare2(data, s.cfg.Limits2)
		if err != nil {
			return ch, nil, fmt.Errorf("prepare: %w", err)
		}
		return ch, &p, nil
	}
	if ch, err = proof.UnmarshalChallenge(data, s.cfg.Limits); err != nil {
		return ch, nil, fmt.Errorf("challenge: %w", err)
	}
	return ch, nil, nil
}

// answer runs the prover's side of ch; it calls release once the proof,
// the expensive part, is done, so that the next challenger need not wait
// for this one's questions and verdict.
func (s *Service) answer(ctx context.Context, st network.Stream, r *bufio.Reader, ch proof.Challenge, log *slog.Logger, release func()) error {
	// The proof must be done within the challenge's deadline; the rest of
	// the exchange gets its margins.
	_ = st.SetDeadline(time.Now().Add(ch.Deadline + commitMargin + 2*ioMargin))
	ctx, cancel := context.WithTimeout(ctx, ch.Deadline)
	defer cancel()
	work, err := s.prover.Prove(ctx, ch)
	release()
	if err != nil {
		return fmt.Errorf("prove: %w", err)
	}
	v, err := answered[proof.OpenRequest, proof.Openings]{
		commitment:  work.Commitment(),
		requestSize: proof.MaxOpenRequestSize(ch.Rows),
		request:     func(data []byte) (proof.OpenRequest, error) { return proof.UnmarshalOpenRequest(data, ch) },
		open:        work.Open,
		opening:     "open rows",
	}.run(st, r)
	if err != nil {
		return err
	}
	log.Info("challenged", "n", ch.N, "result", string(v.Result), "flops", v.Throughput)
	return nil
}

// Request is what a challenger asks of a provider.
type Request struct {
	// N is the matrix size.
	N int
	// Type is the number type.
	Type proof.NumberType
	// Class is the device class the provider claims; its expected
	// throughput (times Cores for a CPU class) sets the speed check. Empty
	// means no speed check.
	Class string
	// Cores is, for a CPU class, how many cores the provider claims.
	Cores int
	// Tolerance is the fraction of the expected throughput required; 0 = proof.DefaultTolerance.
	Tolerance float64
	// Deadline is how long the prover has for the product.
	Deadline time.Duration
}

// Challenge tests provider p and returns the verdict. An error means the
// challenge could not be put (a bad Request, or no stream to p at all); a
// provider that fails, lies, answers garbage or never answers gets a verdict.
func Challenge(ctx context.Context, h host.Host, p peer.ID, req Request) (proof.Verdict, error) {
	rows := min(proof.DefaultRows, req.N)
	ch, err := proof.NewChallenge(rand.Reader, req.N, req.Type, rows, req.Deadline)
	if err != nil {
		return proof.Verdict{}, fmt.Errorf("challenge: %w", err)
	}
	var expected float64
	if req.Class != "" {
		if expected, err = proof.Expected(req.Class, req.Type, max(req.Cores, 1)); err != nil {
			return proof.Verdict{}, fmt.Errorf("challenge: %w", err)
		}
	}
	return challengeOver(ctx, h, p,
		func(st network.Stream) (proof.Verdict, error) {
			x := proof.Exchange{Challenge: ch, Expected: expected, Tolerance: req.Tolerance, RTT: h.Peerstore().LatencyEWMA(p)}
			return exchange(st, &x)
		},
		func(err error) proof.Verdict { return proof.Failed(ch, err) })
}

// exchange runs the verifier's side over st, filling x as answers arrive.
func exchange(st network.Stream, x *proof.Exchange) (proof.Verdict, error) {
	ch := x.Challenge
	data, err := ch.Marshal()
	if err != nil {
		return proof.Verdict{}, err
	}
	got, err := asked[proof.Commitment, proof.OpenRequest, proof.Openings]{
		challenge:      data,
		deadline:       ch.Deadline,
		commitmentSize: proof.CommitmentSize,
		commitment:     func(data []byte) (proof.Commitment, error) { return proof.UnmarshalCommitment(data, ch) },
		pick:           func(cm proof.Commitment) (proof.OpenRequest, error) { return proof.PickRows(rand.Reader, ch, cm) },
		openingsSize:   proof.MaxOpeningsSize(ch.N, ch.Rows),
		openings:       func(data []byte) (proof.Openings, error) { return proof.UnmarshalOpenings(data, ch) },
	}.run(st, bufio.NewReader(st))
	if err != nil {
		return proof.Verdict{}, err
	}
	x.Observed, x.Commitment, x.Request, x.Openings = got.observed, &got.commitment, got.request, &got.openings
	return proof.Verify(*x)
}

func writeFrame(w io.Writer, b []byte) error { return frame.Write(w, b) }

// readFrame is frame.Read with proof's size error.
func readFrame(r *bufio.Reader, limit int) ([]byte, error) {
	b, err := frame.Read(r, limit)
	if errors.Is(err, frame.ErrTooLarge) {
		return nil, fmt.Errorf("%w: %w", proof.ErrTooLarge, err)
	}
	return b, err
}
