// Package helper runs a version 2 proof-of-compute prover as a separate
// program, the helper, that a provider installs (a GPU one, such as
// scripts/prover/gpumesh_prover.py with PyTorch, or `gpumesh prover` on a
// CPU), and speaks to it over its stdin and stdout.
//
// The protocol: frames of a 4-byte big-endian length and that many bytes,
// each a gpu/proof version 2 message in its wire encoding. Once started
// and warm (its libraries loaded, its device initialized), the helper
// writes the ready message (proof.Ready2) within proof.DefaultWarmup; the
// node then sends a Challenge2, and the clock starts; the helper answers a
// Commitment2 within the challenge's deadline; the node sends an
// OpenRequest2; the helper answers Openings2; the node closes stdin and
// the helper exits 0. Anything else the helper
// writes (logs) goes to stderr. A helper that answers late, answers
// garbage, or more bytes than the message may have is killed and refused
// with the reason; its stderr's tail is in the error.
package helper

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/gpumesh/gpumesh/gpu/proof"
)

// Errors of a helper run; each error wraps one, and the proof sentinel of
// a bad message where there is one.
var (
	// ErrNotAllowed: the helper path is not an absolute path to an
	// executable regular file.
	ErrNotAllowed = errors.New("helper not allowed")
	// ErrTooSlow: the helper did not answer within its time.
	ErrTooSlow = errors.New("helper too slow")
	// ErrTooMuch: the helper announced a frame larger than the message may be.
	ErrTooMuch = errors.New("helper answered too much")
	// ErrGarbage: the helper's answer does not decode, or does not answer
	// the challenge or request.
	ErrGarbage = errors.New("helper answered garbage")
	// ErrExited: the helper exited or closed its output before answering.
	ErrExited = errors.New("helper exited")
)

// OpenMargin is how long a helper has to answer an open request.
const OpenMargin = 10 * time.Second

// maxStderr is how much of a helper's stderr is kept for errors.
const maxStderr = 2048

// Helper is an installed helper program.
type Helper struct {
	// Path is the absolute path of the program.
	Path string
	// Args are its arguments.
	Args []string
	// Limits bound the challenges handed to it.
	Limits proof.Limits2
}

// Check reports whether h.Path may be run: an absolute path to an
// executable regular file. It wraps ErrNotAllowed.
func (h Helper) Check() error {
	if !filepath.IsAbs(h.Path) {
		return fmt.Errorf("%w: %q is not an absolute path", ErrNotAllowed, h.Path)
	}
	fi, err := os.Stat(h.Path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotAllowed, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%w: %s is not an executable file", ErrNotAllowed, h.Path)
	}
	return nil
}

// Run is a started helper process, answering one challenge. Close it.
type Run struct {
	limits proof.Limits2
	ch     proof.Challenge2
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Reader
	stderr *tail
	commit proof.Commitment2
	once   sync.Once
	err    error
}

// Prove is Start and Run.Prove: it starts the helper, waits for it to be
// ready, hands it ch and waits for its commitment. On error the helper is
// already killed and waited for.
func (h Helper) Prove(ctx context.Context, ch proof.Challenge2) (*Run, error) {
	if err := ch.Validate(h.Limits); err != nil {
		return nil, fmt.Errorf("helper: %w", err)
	}
	r, err := h.Start(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.Prove(ctx, ch); err != nil {
		return nil, err
	}
	return r, nil
}

// Start starts the helper and waits, at most proof.DefaultWarmup, for its
// ready message. On error the helper is already killed and waited for.
func (h Helper) Start(ctx context.Context) (*Run, error) {
	if err := h.Check(); err != nil {
		return nil, err
	}
	cmd := exec.Command(h.Path, h.Args...)
	r := &Run{limits: h.Limits, cmd: cmd, stderr: &tail{}}
	cmd.Stderr = r.stderr
	var err error
	if r.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("helper: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("helper: %w", err)
	}
	r.out = bufio.NewReader(stdout)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("helper: start %s: %w", h.Path, err)
	}
	answer, err := r.exchange(ctx, nil, proof.Ready2Size, proof.DefaultWarmup)
	if err != nil {
		return nil, r.fail("warm-up", err)
	}
	if err := proof.CheckReady2(answer); err != nil {
		return nil, r.fail("warm-up", fmt.Errorf("%w: %w", ErrGarbage, err))
	}
	return r, nil
}

// Prove hands the ready helper ch and waits for its commitment, at most
// ch.Deadline. The commitment's Elapsed is the longer of the helper's
// claim and the time measured here from sending ch. On error the helper is
// killed and waited for; Close is still safe.
func (r *Run) Prove(ctx context.Context, ch proof.Challenge2) error {
	if err := ch.Validate(r.limits); err != nil {
		return r.fail("challenge", err)
	}
	data, err := ch.Marshal()
	if err != nil {
		return r.fail("challenge", err)
	}
	r.ch = ch
	start := time.Now()
	answer, err := r.exchange(ctx, data, proof.Commitment2Size, ch.Deadline)
	if err != nil {
		return r.fail("commitment", err)
	}
	cm, err := proof.UnmarshalCommitment2(answer, ch)
	if err != nil {
		return r.fail("commitment", fmt.Errorf("%w: %w", ErrGarbage, err))
	}
	cm.Elapsed = max(cm.Elapsed, time.Since(start))
	r.commit = cm
	return nil
}

// Commitment returns the helper's commitment.
func (r *Run) Commitment() proof.Commitment2 { return r.commit }

// Open hands the helper the verifier's request and returns its openings,
// checked against the request; at most OpenMargin.
func (r *Run) Open(ctx context.Context, req proof.OpenRequest2) (proof.Openings2, error) {
	data, err := req.Marshal()
	if err != nil {
		return proof.Openings2{}, fmt.Errorf("helper: %w", err)
	}
	answer, err := r.exchange(ctx, data, proof.MaxOpenings2Size(r.ch), OpenMargin)
	if err != nil {
		return proof.Openings2{}, r.fail("openings", err)
	}
	op, err := proof.UnmarshalOpenings2(answer, r.ch)
	if err == nil && len(op.Products) != len(req.Products) {
		err = fmt.Errorf("%d products opened, %d requested", len(op.Products), len(req.Products))
	}
	for k := 0; err == nil && k < len(op.Products); k++ {
		if op.Products[k].Index != req.Products[k] {
			err = fmt.Errorf("opened product %d, requested %d", op.Products[k].Index, req.Products[k])
		}
	}
	if err != nil {
		return proof.Openings2{}, r.fail("openings", fmt.Errorf("%w: %w", ErrGarbage, err))
	}
	return op, nil
}

// Close ends the helper: closes its stdin, gives it a moment to exit, then
// kills it, and waits. It is safe to call more than once.
func (r *Run) Close() error {
	r.once.Do(func() {
		_ = r.stdin.Close()
		done := make(chan error, 1)
		go func() { done <- r.cmd.Wait() }()
		select {
		case r.err = <-done:
		case <-time.After(2 * time.Second):
			_ = r.cmd.Process.Kill()
			r.err = <-done
		}
	})
	return r.err
}

// fail kills the helper, waits for it and returns err with what it was
// doing and the tail of its stderr.
func (r *Run) fail(what string, err error) error {
	r.once.Do(func() {
		_ = r.cmd.Process.Kill()
		_ = r.stdin.Close()
		r.err = r.cmd.Wait()
	})
	if s := r.stderr.String(); s != "" {
		return fmt.Errorf("helper %s: %w; its stderr ends: %q", what, err, s)
	}
	return fmt.Errorf("helper %s: %w", what, err)
}

// exchange writes a frame (none if msg is nil) and reads the answer, at
// most limit bytes, within d and ctx; past either the helper is killed
// (which ends the read).
func (r *Run) exchange(ctx context.Context, msg []byte, limit int, d time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = r.cmd.Process.Kill() })
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		if msg == nil {
			b, err := ReadFrame(r.out, limit)
			done <- result{b, err}
			return
		}
		if err := WriteFrame(r.stdin, msg); err != nil {
			done <- result{nil, fmt.Errorf("%w: write: %w", ErrExited, err)}
			return
		}
		b, err := ReadFrame(r.out, limit)
		done <- result{b, err}
	}()
	res := <-done
	if !stop() || ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w: no answer within %s", ErrTooSlow, d)
		}
		return nil, ctx.Err()
	}
	return res.b, res.err
}

// WriteFrame writes b with its 4-byte big-endian length in front.
func WriteFrame(w io.Writer, b []byte) error {
	buf := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(b)), uint32(len(b)))
	_, err := w.Write(append(buf, b...))
	return err
}

// ReadFrame reads one frame, refusing one over limit bytes (ErrTooMuch)
// before allocating for it; a stream that ends early wraps ErrExited.
func ReadFrame(r io.Reader, limit int) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, fmt.Errorf("%w: read length: %w", ErrExited, err)
	}
	size := binary.BigEndian.Uint32(n[:])
	if uint64(size) > uint64(limit) {
		return nil, fmt.Errorf("%w: %w: frame of %d bytes, at most %d", ErrTooMuch, proof.ErrTooLarge, size, limit)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("%w: read frame: %w", ErrExited, err)
	}
	return b, nil
}

// tail keeps the last maxStderr bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > maxStderr {
		t.buf = t.buf[len(t.buf)-maxStderr:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// SelfTest plays one version 2 challenge with parameters p against the
// helper, as a verifier would, and judges it against expected FLOP/s
// (0: no speed check) with proof.DefaultTolerance2: what `gpumesh prover
// --test-helper` and scripts/gpu-check.sh run. An error means the test
// could not be put; a helper that fails gets a verdict.
func (h Helper) SelfTest(ctx context.Context, rnd io.Reader, p proof.Params2, expected float64) (proof.Verdict, error) {
	ch, err := proof.NewChallenge2(rnd, p)
	if err != nil {
		return proof.Verdict{}, fmt.Errorf("self-test: %w", err)
	}
	r, err := h.Start(ctx)
	if err != nil {
		if errors.Is(err, ErrNotAllowed) {
			return proof.Verdict{}, err
		}
		return proof.Failed2(ch, err), nil
	}
	defer r.Close()
	start := time.Now()
	if err := r.Prove(ctx, ch); err != nil {
		return proof.Failed2(ch, err), nil
	}
	cm := r.Commitment()
	observed := time.Since(start)
	req, err := proof.PickProducts(rnd, ch, cm)
	if err != nil {
		return proof.Verdict{}, fmt.Errorf("self-test: %w", err)
	}
	op, err := r.Open(ctx, req)
	if err != nil {
		return proof.Failed2(ch, err), nil
	}
	return proof.Verify2(proof.Exchange2{Challenge: ch, Commitment: &cm, Request: req, Openings: &op, Observed: observed, Expected: expected, Rand: rnd})
}
