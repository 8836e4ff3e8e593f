package run

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/internal/atomicfile"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/p2p/frame"
	"github.com/gpumesh/gpumesh/scheduler/executor"
)

// Errors of Run.
var (
	// ErrProviderLost: the provider could not be reached, its stream broke,
	// or it sent nothing for HeartbeatTolerance heartbeats. Failover
	// replaces such a provider.
	ErrProviderLost = errors.New("provider lost")
	// ErrRefused: the provider refused the request (its reason follows),
	// or refused an input whose bytes did not match its digest.
	ErrRefused = errors.New("run refused")
	// ErrBusy: the provider refused the request for want of capacity
	// (Ack.Busy: too many requests not yet authorized, no memory). It
	// comes with ErrRefused; the provider is not to blame and may be
	// asked again.
	ErrBusy = errors.New("provider busy")
	// ErrBadOutput: the provider sent outputs that do not match what it
	// listed, or more than MaxReceivedOutputBytes.
	ErrBadOutput = errors.New("bad output from provider")
)

// MaxReceivedOutputBytes bounds the output bytes Run takes from one
// provider, all ranks together.
const MaxReceivedOutputBytes = 4 << 30

// Outcome is what a provider's ranks produced.
type Outcome struct {
	// Results are each rank's result.
	Results map[int]executor.Result
	// Outputs are each rank's outputs, written under outDir/rank-<r>/ (those
	// Truncated were listed but not sent).
	Outputs map[int][]File
	// Started is when the provider accepted the request; Ended when its
	// last event came. LastHeard is when the provider was last heard from
	// (any event, heartbeats included): the end of the time it served when
	// it was lost.
	Started   time.Time
	Ended     time.Time
	LastHeard time.Time
	// Heartbeat is the provider's heartbeat interval: it notices a
	// requester that stopped the work within one.
	Heartbeat time.Duration
	// GPU is what each rank's GPUs did, as its result said; only ranks
	// whose provider metered GPUs have an entry.
	GPU map[int]ledger.GPUUsage
}

// Option tunes Run.
type Option func(*options)

type options struct {
	tolerance int
	answer    time.Duration
}

// WithAnswerTimeout bounds the wait for the provider's answer to the
// request (streamTimeout, 30 s, when d <= 0): a provider that takes the
// stream and never answers is lost after d, with ErrProviderLost.
func WithAnswerTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.answer = d
		}
	}
}

// WithTolerance sets how many of the provider's heartbeat intervals may pass
// without a word before Run gives up on it with ErrProviderLost
// (HeartbeatTolerance when n < 1).
func WithTolerance(n int) Option {
	return func(o *options) {
		if n >= 1 {
			o.tolerance = n
		}
	}
}

// source opens the bytes of one file to send.
type source func() (io.ReadCloser, error)

// Run sends req to provider p over one stream and follows the work to its
// end. It works on a copy of req: Files is replaced by files (name to
// local path: "module", "image" and "inputs/<name>"), with digests and
// sizes computed here; Seq and Sent are set when zero; a wasm spec's
// Module, if set and files has no "module", is sent as the module file,
// and its Digest is filled in, and so is a docker spec's Archive (when it
// names no image) from the file "image". The copy is signed with key (the
// provider refuses a key that is not h's identity).
//
// Every event goes to onEvent (nil: none) as it comes; a result's outputs
// are written under outDir/rank-<r>/ and checked before its event is
// passed on. Run returns once every rank has its result. Errors wrap
// ErrRefused, ErrProviderLost or ErrBadOutput, or are ctx's: ending ctx
// resets the stream, which cancels the provider's work.
func Run(ctx context.Context, h host.Host, key crypto.PrivKey, p peer.ID, req *RunRequest, files map[string]string, outDir string, onEvent func(Event), opts ...Option) (Outcome, error) {
	o := options{tolerance: HeartbeatTolerance}
	for _, opt := range opts {
		opt(&o)
	}
	r, sources, err := prepare(req, files, time.Now())
	if err != nil {
		return Outcome{}, err
	}
	if err := r.Validate(time.Now(), time.Minute); err != nil {
		return Outcome{}, fmt.Errorf("run request: %w", err)
	}
	data, err := gossip.Encode(r, key)
	if err != nil {
		return Outcome{}, err
	}
	st, err := h.NewStream(ctx, p, Protocol)
	if err != nil {
		if ctx.Err() != nil {
			return Outcome{}, ctx.Err()
		}
		return Outcome{}, fmt.Errorf("%w: open %s to %s: %w", ErrProviderLost, Protocol, p, err)
	}
	return exchange(ctx, st, data, r, sources, outDir, onEvent, o)
}

// prepare returns a copy of req with its files described, and where each
// file's bytes come from.
func prepare(req *RunRequest, files map[string]string, now time.Time) (*RunRequest, map[string]source, error) {
	r := *req
	r.Files = nil
	r.Ranks = slices.Clone(req.Ranks)
	if r.Seq == 0 {
		r.Seq = gossip.ClockSeq(now)
	}
	if r.Sent.IsZero() {
		r.Sent = now
	}
	sources := map[string]source{}
	for name, path := range files {
		sources[name] = func() (io.ReadCloser, error) { return os.Open(path) }
	}
	if w := req.Spec.Wasm; w != nil {
		wasm := *w
		if _, ok := files[ModuleFile]; !ok && len(w.Module) > 0 {
			module := w.Module
			sources[ModuleFile] = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(module)), nil }
		}
		wasm.Module = nil
		r.Spec.Wasm = &wasm
	}
	if d := req.Spec.Docker; d != nil {
		docker := *d
		r.Spec.Docker = &docker
	}
	names := make([]string, 0, len(sources))
	for name := range sources {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { // the module first
		if (a == ModuleFile) != (b == ModuleFile) {
			if a == ModuleFile {
				return -1
			}
			return 1
		}
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	})
	for _, name := range names {
		if err := validInputName(name); err != nil {
			return nil, nil, fmt.Errorf("run request: %w", err)
		}
		f, err := describe(name, sources[name])
		if err != nil {
			return nil, nil, err
		}
		r.Files = append(r.Files, f)
		if name == ModuleFile && r.Spec.Wasm != nil && r.Spec.Wasm.Digest == "" {
			r.Spec.Wasm.Digest = f.Digest
		}
		if name == ImageFile && r.Spec.Docker != nil && r.Spec.Docker.Archive == "" && r.Spec.Docker.Image == "" {
			r.Spec.Docker.Archive = f.Digest
		}
		if name == ImageFile {
			r.SkipCached = true // a provider that holds the archive need not get it again
		}
	}
	return &r, sources, nil
}

// describe reads a file's bytes for its size and digest.
func describe(name string, open source) (File, error) {
	rc, err := open()
	if err != nil {
		return File{}, fmt.Errorf("file %s: %w", name, err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return File{}, fmt.Errorf("file %s: %w", name, err)
	}
	return File{Name: name, Digest: digestOf(h), Size: n}, nil
}

// exchange runs the protocol on an open stream: data is req signed.
func exchange(ctx context.Context, st network.Stream, data []byte, req *RunRequest, sources map[string]source, outDir string, onEvent func(Event), o options) (out Outcome, err error) {
	if onEvent == nil {
		onEvent = func(Event) {}
	}
	p := st.Conn().RemotePeer()
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	defer func() {
		if err != nil {
			_ = st.Reset()
			if ctx.Err() != nil {
				err = ctx.Err()
			}
		} else {
			_ = st.Close()
		}
	}()
	lost := func(what string, err error) error { return fmt.Errorf("%w: %s %s: %w", ErrProviderLost, what, p, err) }

	deadline := time.Now().Add(streamTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = st.SetDeadline(deadline)
	if err := frame.Write(st, data); err != nil {
		return out, lost("send the request to", err)
	}
	if o.answer > 0 {
		if d := time.Now().Add(o.answer); d.Before(deadline) {
			_ = st.SetReadDeadline(d)
		}
	}
	r := bufio.NewReader(st)
	b, err := frame.Read(r, maxAckBytes)
	if err != nil {
		if o.answer > 0 && (errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err)) && ctx.Err() == nil {
			return out, fmt.Errorf("%w: no answer from %s to the run request in %s", ErrProviderLost, p, o.answer)
		}
		return out, lost("read the answer of", err)
	}
	ack, err := decodeAck(b)
	if err != nil {
		return out, fmt.Errorf("answer of %s: %w", p, err)
	}
	if !ack.OK && ack.Busy {
		return out, fmt.Errorf("%w: %w by %s: %s", ErrBusy, ErrRefused, p, ack.Reason)
	}
	if !ack.OK {
		return out, fmt.Errorf("%w by %s: %s", ErrRefused, p, ack.Reason)
	}
	now := time.Now()
	out = Outcome{Results: map[int]executor.Result{}, Outputs: map[int][]File{}, Started: now, LastHeard: now, Heartbeat: ack.Heartbeat}

	buf := make([]byte, MaxChunk)
	skip := skipped(req, ack)
	for _, f := range req.Files {
		if skip[f.Name] {
			continue
		}
		if err := sendSource(st, f, sources[f.Name], buf); err != nil {
			return out, err
		}
	}
	if err := st.CloseWrite(); err != nil {
		return out, lost("half-close the stream to", err)
	}

	wait := time.Duration(o.tolerance) * ack.Heartbeat
	ranks := make(map[int]bool, len(req.Ranks))
	for _, rk := range req.Ranks {
		ranks[rk] = true
	}
	var received int64
	for {
		_ = st.SetReadDeadline(time.Now().Add(wait))
		b, err := frame.Read(r, MaxEventBytes)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err) {
				return out, fmt.Errorf("%w: no word from %s for %s", ErrProviderLost, p, wait)
			}
			return out, lost("read events of", err)
		}
		ev, err := decodeEvent(b)
		if err != nil {
			return out, fmt.Errorf("from %s: %w", p, err)
		}
		out.LastHeard = time.Now()
		switch ev.Kind {
		case KindState, KindLog:
			if !ranks[ev.Rank] {
				return out, fmt.Errorf("%w: from %s: an event of rank %d, not one of %v", gossip.ErrMalformed, p, ev.Rank, req.Ranks)
			}
		case KindResult:
			if _, dup := out.Results[ev.Rank]; !ranks[ev.Rank] || dup {
				return out, fmt.Errorf("%w: from %s: a result of rank %d, twice or not one of %v", gossip.ErrMalformed, p, ev.Rank, req.Ranks)
			}
			dir := filepath.Join(outDir, "rank-"+strconv.Itoa(ev.Rank))
			for _, f := range ev.Outputs {
				if f.Truncated {
					continue
				}
				if received += f.Size; received > MaxReceivedOutputBytes {
					return out, fmt.Errorf("%w: from %s: more than %d output bytes", ErrBadOutput, p, int64(MaxReceivedOutputBytes))
				}
				if err := receiveOutput(st, r, dir, f, wait, func() { out.LastHeard = time.Now() }); err != nil {
					if errors.Is(err, errMismatch) || errors.Is(err, frame.ErrTooLarge) {
						return out, fmt.Errorf("%w: from %s: rank %d: %w", ErrBadOutput, p, ev.Rank, err)
					}
					if errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, network.ErrReset) {
						return out, lost("read outputs of", err)
					}
					return out, fmt.Errorf("rank %d: %w", ev.Rank, err)
				}
			}
			out.Results[ev.Rank] = *ev.Result
			out.Outputs[ev.Rank] = ev.Outputs
			if ev.GPU != nil {
				if out.GPU == nil {
					out.GPU = map[int]ledger.GPUUsage{}
				}
				out.GPU[ev.Rank] = *ev.GPU
			}
		case KindEnd:
			out.Ended = time.Now()
			if ev.Error != "" {
				return out, fmt.Errorf("%w by %s: %s", ErrRefused, p, ev.Error)
			}
			if len(out.Results) != len(ranks) {
				return out, fmt.Errorf("%w: from %s: the end with %d of %d results", gossip.ErrMalformed, p, len(out.Results), len(ranks))
			}
			onEvent(ev)
			return out, nil
		}
		onEvent(ev)
	}
}

// isTimeout reports whether err is a deadline's.
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// sendSource sends one file's bytes.
func sendSource(st network.Stream, f File, open source, buf []byte) error {
	rc, err := open()
	if err != nil {
		return fmt.Errorf("file %s: %w", f.Name, err)
	}
	defer rc.Close()
	if err := sendBytes(st, rc, f.Size, buf, func() { _ = st.SetWriteDeadline(time.Now().Add(streamTimeout)) }); err != nil {
		return fmt.Errorf("%w: send file %s to %s: %w", ErrProviderLost, f.Name, st.Conn().RemotePeer(), err)
	}
	return nil
}

// receiveOutput writes output f under dir, through a temporary file
// renamed once its size and digest check (atomicfile). Each frame is a
// sign of life: the provider has wait for the next, and heard is called
// for it.
func receiveOutput(st network.Stream, r *bufio.Reader, dir string, f File, wait time.Duration, heard func()) error {
	if err := validOutputName(f.Name); err != nil { // decodeEvent checked; again, for safety
		return fmt.Errorf("%w: %w", errMismatch, err)
	}
	dst := filepath.Join(dir, filepath.FromSlash(f.Name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	first := true
	return atomicfile.WriteFunc(dst, 0o600, func(w io.Writer) error {
		return receiveBytes(r, w, f, func() {
			if !first {
				heard() // the frame before this one came
			}
			first = false
			_ = st.SetReadDeadline(time.Now().Add(wait))
		})
	})
}
