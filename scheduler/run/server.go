package run

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/gpu"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/p2p/frame"
	"github.com/gpumesh/gpumesh/p2p/overlay"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/internal/lifetime"
)

// Authorizer decides whether a peer may run a job's ranks here, and holds
// what the job uses while it runs. The node's market implements it: an
// accepted award's reservation for that requester and those ranks, not
// lapsed.
type Authorizer interface {
	// BeginRun holds what requester's run of ranks of job uses and
	// returns the grant (each rank's devices), or an error whose text is
	// the refusal's reason.
	BeginRun(job string, requester peer.ID, ranks []int) (Grant, error)
	// EndRun is called once for every BeginRun that returned nil, when the
	// run ends for any reason, with what was served: the provider's side of
	// the receipt.
	EndRun(job string, requester peer.ID, end RunEnd)
}

// PayerChecker is implemented by an Authorizer that settles runs on
// chain: the server asks it, before it answers, whether the request's
// payer can pay for the run (its escrow covers the run's cap); an error's
// text is the refusal's reason.
type PayerChecker interface {
	// CheckPayer checks req's payer for requester's run.
	CheckPayer(ctx context.Context, requester peer.ID, req *RunRequest) error
}

// RunChecker is implemented by an Authorizer that can tell whether
// BeginRun would accept a run without holding anything: the server asks
// it before it reserves a run's memory, and a run refused for want of
// memory then leaves the award as it was.
type RunChecker interface {
	// CheckRun returns the grant BeginRun would hold now, or its refusal.
	CheckRun(job string, requester peer.ID, ranks []int) (Grant, error)
}

// AwardHolder is implemented by an Authorizer that can tell, cheaply and
// holding nothing, whether a peer holds an award here that has not run
// yet. Such a peer's streams are bounded per peer only, not counted
// against MaxPending: a crowd of fresh identities that fills the shared
// bound cannot keep an awarded requester out.
type AwardHolder interface {
	// HoldsAward reports whether requester holds an accepted award here
	// that has not started running.
	HoldsAward(requester peer.ID) bool
}

// RunEnd is what one run served, as the provider saw it.
type RunEnd struct {
	// Reason is "completed" or why the run stopped.
	Reason string
	// Started is when the provider accepted the run (its ack); Ended when
	// it sent the end, or stopped.
	Started, Ended time.Time
	// Results are the ranks whose results were sent, with the digest the
	// requester computes from the same event (ResultDigest).
	Results map[int]RankEnd
}

// ServerKnobs are the server's interception points for tests (the bad
// actors of node/nodetest, and this package's tests); every field is nil
// in production, where the server calls none. Each is named for where it
// hooks in.
type ServerKnobs struct {
	// BeforeAnswer, if set, is called with each authorized request before
	// the server answers it, with the run's stream, the stream's reader
	// and a context that ends when the server closes. A non-empty stop
	// takes the request over: the server neither answers nor runs it, but
	// resets the stream and ends the run with stop as its reason.
	BeforeAnswer func(ctx context.Context, st network.Stream, r io.Reader, req *RunRequest) (stop string)
	// BeforeRun, if set, is called once the request's files are in, before
	// any rank starts, with a context that ends when the server closes. A
	// non-empty stop ends the run there: the stream is reset and stop is
	// the run's reason.
	BeforeRun func(ctx context.Context, req *RunRequest) (stop string)
	// BeforeStart, if set, is called with each rank's job before its work
	// starts; it may change the job (the devices it holds, say).
	BeforeStart func(req *RunRequest, rank int, job *executor.Job)
	// BeforeList, if set, is called with the folder of a rank's outputs
	// once its work ended, before they are listed.
	BeforeList func(req *RunRequest, rank int, dir string)
	// BeforeSend, if set, is called with a rank's outputs as listed, before
	// they are sent; it may change them in place.
	BeforeSend func(req *RunRequest, rank int, outs []File)
}

// RankEnd is one rank's result as sent.
type RankEnd struct {
	Result executor.Result
	Digest string
	// GPU is what the rank's GPUs did, as its result event said; nil for
	// work that held none, or a provider that meters no GPUs.
	GPU *ledger.GPUUsage
}

// Defaults of ServerConfig.
const (
	DefaultMaxFileBytes   = 64 << 20
	DefaultMaxTotalBytes  = 256 << 20
	DefaultMaxOutputBytes = 64 << 20
	DefaultHeartbeat      = 5 * time.Second
	// DefaultRequestTimeout bounds the read of a run request, before it
	// is authorized.
	DefaultRequestTimeout = 5 * time.Second
	// DefaultMaxPendingPerPeer and DefaultMaxPending bound the run streams
	// not yet authorized, from one peer and in all.
	DefaultMaxPendingPerPeer = 2
	DefaultMaxPending        = 16
)

// RunMemory is what each authorized run stream reserves in its libp2p
// resource scope: one chunk buffer and one event in flight. A stream not
// yet authorized reserves MaxRequestBytes only.
const RunMemory = MaxChunk + MaxEventBytes

// streamTimeout bounds each read and write of the exchange except the
// wait for events, which heartbeats bound.
const streamTimeout = 30 * time.Second

// ServerConfig is a provider's configuration of the run protocol.
type ServerConfig struct {
	// Dir holds the jobs: Dir/<job>/rank-<r>/{inputs,outputs}. Required.
	Dir string
	// MaxFileBytes bounds each file of a request but an image archive, which
	// its executor bounds (ArchiveTaker) (DefaultMaxFileBytes).
	MaxFileBytes int64
	// MaxTotalBytes bounds all files of a request but an image archive
	// (DefaultMaxTotalBytes).
	MaxTotalBytes int64
	// MaxOutputBytes bounds the output bytes sent back for one request,
	// all ranks together (DefaultMaxOutputBytes); outputs past it are
	// listed as truncated.
	MaxOutputBytes int64
	// Heartbeat is the interval of heartbeats (DefaultHeartbeat).
	Heartbeat time.Duration
	// Limits cap every spec's limits; zero fields leave the executor's.
	Limits executor.Limits
	// Keep keeps a job's folder after its run; by default it is removed.
	Keep bool
	// RequestTimeout bounds the wait for a stream's request, which is read
	// and authorized before anything else is reserved for it
	// (DefaultRequestTimeout).
	RequestTimeout time.Duration
	// MaxPendingPerPeer and MaxPending bound the streams whose request is
	// not yet authorized, from one peer and in all
	// (DefaultMaxPendingPerPeer, DefaultMaxPending); streams past them are
	// refused as busy.
	MaxPendingPerPeer int
	MaxPending        int
	// GPU meters the GPUs each rank's work holds (gpumeter.go); nil on a
	// host without NVML, which then reports no GPU figures.
	GPU *gpu.Accountant
	// Overlay, if set, gives the ranks of every process or container job
	// of more than one rank a job network (network.go): each rank runs in
	// a network namespace of its own holding the job's overlay interface. Nil: no
	// job networks, ranks run as before.
	Overlay *overlay.Service
	// Knobs are interception points for tests; zero in production.
	Knobs ServerKnobs
}

// withDefaults fills zero fields with their defaults.
func (c ServerConfig) withDefaults() ServerConfig {
	if c.MaxFileBytes <= 0 {
		c.MaxFileBytes = DefaultMaxFileBytes
	}
	if c.MaxTotalBytes <= 0 {
		c.MaxTotalBytes = DefaultMaxTotalBytes
	}
	if c.MaxOutputBytes <= 0 {
		c.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	c.Heartbeat = min(c.Heartbeat, MaxHeartbeat)
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.MaxPendingPerPeer <= 0 {
		c.MaxPendingPerPeer = DefaultMaxPendingPerPeer
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
	return c
}

// Server is the provider's side of the run protocol. Create it with
// NewServer, Start it, Close it.
type Server struct {
	h     host.Host
	execs map[string]executor.Executor
	auth  Authorizer
	cfg   ServerConfig
	log   *slog.Logger

	life lifetime.Group // every stream handler; Close ends and waits for them

	mu      sync.Mutex
	active  map[string]bool         // job IDs running here
	grants  map[string]Grant        // what BeginRun granted each job running here
	nets    map[string]*overlay.Net // the job networks of jobs running here
	ended   endedNets               // the final counters of job networks whose runs ended here
	netRuns netRuns                 // the same by network, for membership updates (member.go)
	pending map[peer.ID]int         // streams not yet authorized, by peer
	npend   int                     // their sum
}

// NewServer returns a server that has not started. execs are the
// executors offered, by name; auth is required.
func NewServer(h host.Host, execs map[string]executor.Executor, auth Authorizer, cfg ServerConfig, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{h: h, execs: execs, auth: auth, cfg: cfg.withDefaults(), log: log,
		active: map[string]bool{}, grants: map[string]Grant{}, nets: map[string]*overlay.Net{}, pending: map[peer.ID]int{}}
}

// Start registers the stream handler. Each run's work lives until Close,
// or until ctx ends.
func (s *Server) Start(ctx context.Context) {
	s.h.SetStreamHandler(Protocol, func(st network.Stream) {
		if !s.life.Do(ctx, func(ctx context.Context) { s.handle(ctx, st) }) {
			_ = st.Reset() // closed
		}
	})
	s.startMembers(ctx)
}

// Close removes the handler, refuses streams still arriving, cancels the
// work running and waits for every stream's handler to end (EndRun
// called). It is safe to call more than once.
func (s *Server) Close() error {
	s.h.RemoveStreamHandler(Protocol)
	s.h.RemoveStreamHandler(MemberProtocol)
	s.life.Close()
	return nil
}

// refusal is an error whose text the requester reads in the Ack.
type refusal struct{ reason string }

func (r refusal) Error() string { return r.reason }

func refuse(format string, args ...any) error { return refusal{fmt.Sprintf(format, args...)} }

// handle serves one run stream: it reads and authorizes the request under
// a small reservation and a short deadline, and only then reserves what
// the run needs.
func (s *Server) handle(ctx context.Context, st network.Stream) {
	remote := st.Conn().RemotePeer()
	r := bufio.NewReader(st)
	req, ok := s.authorize(ctx, st, r, remote)
	if !ok {
		return
	}
	defer s.forget(req.Job)
	defer st.Scope().ReleaseMemory(RunMemory)
	log := s.log.With("job", req.Job, "requester", remote.String(), "ranks", req.Ranks)
	_ = st.SetDeadline(time.Now().Add(streamTimeout))
	var end RunEnd
	if stop := s.beforeAnswer(ctx, st, r, req); stop != "" {
		_ = st.Reset()
		end = RunEnd{Reason: stop}
	} else {
		end = s.serve(ctx, st, r, req, log)
	}
	s.auth.EndRun(req.Job, remote, end)
	log.Info("run ended", "reason", end.Reason)
}

// authorize reads, checks and authorizes the request of st as one of the
// streams not yet authorized, under MaxRequestBytes of its scope and
// RequestTimeout. It answers a refusal itself and returns false; on true
// the job is active here and BeginRun held it.
func (s *Server) authorize(ctx context.Context, st network.Stream, r *bufio.Reader, remote peer.ID) (*RunRequest, bool) {
	release, err := s.takePending(remote)
	if err != nil {
		s.log.Debug("run stream refused", "peer", remote, "err", err)
		s.refuseStream(st, Ack{Reason: err.Error(), Busy: true})
		return nil, false
	}
	defer release()
	if err := st.Scope().ReserveMemory(MaxRequestBytes, network.ReservationPriorityMedium); err != nil {
		s.log.Debug("run stream refused: no memory", "peer", remote, "err", err)
		s.refuseStream(st, Ack{Reason: truncate("busy: no memory for a run request: " + err.Error()), Busy: true})
		return nil, false
	}
	defer st.Scope().ReleaseMemory(MaxRequestBytes)
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() }) // Close ends the wait
	defer stop()
	_ = st.SetDeadline(time.Now().Add(s.cfg.RequestTimeout))
	req, err := s.admit(r, remote)
	if err == nil {
		if pc, ok := s.auth.(PayerChecker); ok {
			err = pc.CheckPayer(ctx, remote, req)
		}
	}
	if err != nil {
		s.log.Debug("run refused", "peer", remote, "err", err)
		s.refuseStream(st, Ack{Reason: truncate(err.Error())})
		return nil, false
	}
	if err := s.begin(st, req, remote); err != nil {
		s.forget(req.Job)
		s.refuseStream(st, ackOf(err))
		return nil, false
	}
	return req, true
}

// errBusy marks a refusal for want of capacity (Ack.Busy).
var errBusy = errors.New("busy")

// ackOf is the refusal that answers err.
func ackOf(err error) Ack {
	return Ack{Reason: truncate(err.Error()), Busy: errors.Is(err, errBusy)}
}

// begin checks the award and its grant (RunChecker; Grant.check: each
// rank's devices against what the work asks) before it reserves RunMemory
// in st's scope, then holds the award (BeginRun) and keeps its grant for
// the ranks' work. On nil the caller releases RunMemory and calls EndRun;
// on an error nothing is held.
func (s *Server) begin(st network.Stream, req *RunRequest, remote peer.ID) error {
	if c, ok := s.auth.(RunChecker); ok {
		g, err := c.CheckRun(req.Job, remote, slices.Clone(req.Ranks))
		if err == nil {
			err = g.check(req)
		}
		if err != nil {
			s.log.Info("run refused by authorizer", "job", req.Job, "requester", remote, "err", err)
			return err
		}
	}
	if err := st.Scope().ReserveMemory(RunMemory, network.ReservationPriorityMedium); err != nil {
		s.log.Info("authorized run refused: no memory", "job", req.Job, "requester", remote, "err", err)
		return fmt.Errorf("%w: no memory for the run: %w", errBusy, err)
	}
	g, err := s.auth.BeginRun(req.Job, remote, slices.Clone(req.Ranks))
	if err != nil {
		st.Scope().ReleaseMemory(RunMemory)
		s.log.Info("run refused by authorizer", "job", req.Job, "requester", remote, "err", err)
		return err
	}
	if err := g.check(req); err != nil { // what it held goes back at once
		st.Scope().ReleaseMemory(RunMemory)
		now := time.Now()
		s.auth.EndRun(req.Job, remote, RunEnd{Reason: "refused: " + err.Error(), Started: now, Ended: now})
		s.log.Info("run refused: grant does not fit", "job", req.Job, "requester", remote, "err", err)
		return err
	}
	s.mu.Lock()
	s.grants[req.Job] = g
	s.mu.Unlock()
	return nil
}

// ErrTooManyPending refuses a stream past ServerConfig.MaxPendingPerPeer
// or MaxPending.
var ErrTooManyPending = refusal{"busy: too many unauthenticated run streams"}

// takePending counts a stream of remote as not yet authorized, within the
// bounds; release uncounts it. A peer that holds an award here
// (AwardHolder) is bounded per peer only: the shared bound is for
// strangers.
func (s *Server) takePending(remote peer.ID) (release func(), err error) {
	awarded := false
	if a, ok := s.auth.(AwardHolder); ok {
		awarded = a.HoldsAward(remote) // outside s.mu: the market takes its own lock
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[remote] >= s.cfg.MaxPendingPerPeer {
		return nil, fmt.Errorf("%w from this peer (at most %d)", ErrTooManyPending, s.cfg.MaxPendingPerPeer)
	}
	if !awarded && s.npend >= s.cfg.MaxPending {
		return nil, fmt.Errorf("%w (at most %d)", ErrTooManyPending, s.cfg.MaxPending)
	}
	s.pending[remote]++
	if !awarded {
		s.npend++
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !awarded {
			s.npend--
		}
		if s.pending[remote]--; s.pending[remote] <= 0 {
			delete(s.pending, remote)
		}
	}, nil
}

// refuseStream answers a with a short write deadline and closes st.
func (s *Server) refuseStream(st network.Stream, a Ack) {
	b, _ := json.Marshal(a)
	_ = st.SetWriteDeadline(time.Now().Add(s.cfg.RequestTimeout))
	if frame.Write(st, b) != nil {
		_ = st.Reset()
		return
	}
	_ = st.Close()
}

// beforeAnswer calls Knobs.BeforeAnswer, if set, and returns its stop.
func (s *Server) beforeAnswer(ctx context.Context, st network.Stream, r io.Reader, req *RunRequest) string {
	if k := s.cfg.Knobs.BeforeAnswer; k != nil {
		return k(ctx, st, r, req)
	}
	return ""
}

// truncate cuts a reason to maxReasonBytes.
func truncate(s string) string {
	if len(s) > maxReasonBytes {
		return s[:maxReasonBytes]
	}
	return s
}

// ack writes a, with its write deadline.
func (s *Server) ack(st network.Stream, a Ack) error {
	b, _ := json.Marshal(a)
	_ = st.SetWriteDeadline(time.Now().Add(streamTimeout))
	return frame.Write(st, b)
}

// admit reads and checks the request; it marks the job active here.
func (s *Server) admit(r *bufio.Reader, remote peer.ID) (*RunRequest, error) {
	data, err := frame.Read(r, MaxRequestBytes)
	if err != nil {
		return nil, fmt.Errorf("read run request: %w", err)
	}
	msg, signer, err := gossip.Decode(data, []gossip.Type{RequestType}, time.Now(), MaxRequestBytes, time.Minute)
	if err != nil {
		return nil, err
	}
	if signer != remote {
		return nil, refuse("signed by someone else: %s, sent by %s", signer, remote)
	}
	req := msg.(*RunRequest)
	var errs []error
	self := s.h.ID().String()
	for _, rk := range req.Ranks {
		if req.Peers[rk] != self {
			errs = append(errs, fmt.Errorf("rank %d is not this provider's", rk))
		}
	}
	if _, ok := s.execs[req.Spec.Executor]; !ok {
		errs = append(errs, fmt.Errorf("executor %s not offered", req.Spec.Executor))
	}
	for _, f := range req.Files {
		if err := s.checkFileSize(req, f); err != nil {
			errs = append(errs, err)
		}
	}
	if t := req.inputsSize(); t > s.cfg.MaxTotalBytes {
		errs = append(errs, fmt.Errorf("files of %d bytes in all, size over the limit of %d", t, s.cfg.MaxTotalBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active[req.Job] {
		return nil, refuse("job %s is already running here", req.Job)
	}
	s.active[req.Job] = true
	return req, nil
}

// forget marks job as no longer running here.
func (s *Server) forget(job string) {
	s.mu.Lock()
	delete(s.active, job)
	delete(s.grants, job)
	delete(s.nets, job)
	s.mu.Unlock()
}

// serve runs an admitted, authorized request and returns what it served
// and why it ended.
func (s *Server) serve(ctx context.Context, st network.Stream, r *bufio.Reader, req *RunRequest, log *slog.Logger) (end RunEnd) {
	jobDir := filepath.Join(s.cfg.Dir, req.Job)
	if !s.cfg.Keep {
		defer os.RemoveAll(jobDir)
	}
	end = RunEnd{Started: time.Now(), Results: map[int]RankEnd{}}
	defer func() { end.Ended = time.Now() }()
	if s.wantsNetwork(req) {
		n, err := s.joinNetwork(req, st.Conn().RemotePeer())
		if err != nil {
			_ = s.ack(st, Ack{Reason: truncate("job network: " + err.Error())})
			_ = st.Close()
			end.Reason = "job network: " + err.Error()
			return end
		}
		defer s.leaveNetwork(req, n) // after the ranks' work ended: the network goes with the run
	}
	cached, recv := s.cachedFiles(ctx, req)
	if err := s.ack(st, Ack{OK: true, Heartbeat: s.cfg.Heartbeat, Cached: cached}); err != nil {
		_ = st.Reset()
		end.Reason = "ack: " + err.Error()
		return end
	}
	module, err := s.receiveFiles(st, r, recv, jobDir)
	if err != nil {
		var mismatch bool
		if mismatch = errors.Is(err, errMismatch) || errors.Is(err, frame.ErrTooLarge); mismatch {
			// Tell the requester why, then let it go: it may still be writing.
			b, _ := json.Marshal(Event{Kind: KindEnd, Error: truncate(err.Error())})
			_ = st.SetWriteDeadline(time.Now().Add(streamTimeout))
			if frame.Write(st, b) == nil {
				_ = st.CloseWrite()
				_ = st.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, _ = io.Copy(io.Discard, io.LimitReader(r, req.TotalSize()))
			}
		}
		_ = st.Reset()
		log.Info("run inputs refused", "err", err, "mismatch", mismatch)
		end.Reason = "inputs: " + err.Error()
		return end
	}
	if k := s.cfg.Knobs.BeforeRun; k != nil {
		if stop := k(ctx, req); stop != "" {
			_ = st.Reset()
			end.Reason = stop
			return end
		}
	}
	// The requester half-closes after the files; anything else ends the work.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var reader sync.WaitGroup
	defer reader.Wait() // the stream is closed or reset by then, which ends the read
	reader.Go(func() {
		_ = st.SetReadDeadline(time.Now().Add(streamTimeout))
		if _, err := r.ReadByte(); err != io.EOF {
			cancel(fmt.Errorf("requester: %v", err))
		}
	})

	reason := s.runRanks(ctx, cancel, st, req, jobDir, module, end.Results, log)
	if reason != "" {
		_ = st.Reset()
		end.Reason = reason
		return end
	}
	_ = st.Close()
	end.Reason = "completed"
	return end
}

// receiveFiles reads the request's files into jobDir/files/, checking each
// one's size and digest, and returns the module's bytes if there is one.
func (s *Server) receiveFiles(st network.Stream, r *bufio.Reader, req *RunRequest, jobDir string) ([]byte, error) {
	if err := os.RemoveAll(jobDir); err != nil {
		return nil, fmt.Errorf("clear job folder: %w", err)
	}
	staging := filepath.Join(jobDir, "files")
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return nil, fmt.Errorf("job folder: %w", err)
	}
	var module []byte
	deadline := func() { _ = st.SetReadDeadline(time.Now().Add(streamTimeout)) }
	for _, f := range req.Files {
		out, err := os.Create(filepath.Join(staging, stagedName(f.Name)))
		if err != nil {
			return nil, fmt.Errorf("file %s: %w", f.Name, err)
		}
		var w io.Writer = out
		var buf bytes.Buffer
		if f.Name == ModuleFile {
			w = io.MultiWriter(out, &buf)
		}
		err = receiveBytes(r, w, f, deadline)
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("file %s: %w", f.Name, cerr)
		}
		if err != nil {
			return nil, err
		}
		// Ranks share these bytes through hard links: none may change them.
		if err := os.Chmod(out.Name(), 0o444); err != nil {
			return nil, fmt.Errorf("file %s: %w", f.Name, err)
		}
		if f.Name == ModuleFile {
			module = buf.Bytes()
		}
	}
	return module, nil
}

// stagedName is where file name is kept in the staging folder.
func stagedName(name string) string {
	if name == ModuleFile || name == ImageFile {
		return name
	}
	return "input-" + strings.TrimPrefix(name, InputPrefix)
}

// item is what a rank's goroutine hands the writer: an event, or for a
// result the rank's outputs folder too.
type item struct {
	ev      Event
	outputs string
}

// runRanks starts every rank, streams their events, records each result
// sent in sent, and returns "" when all results went out, or why it
// stopped. Heartbeats go out from their own goroutine: listing and
// hashing outputs never holds them back, and a result's event and files
// go out as one, between two heartbeats.
func (s *Server) runRanks(ctx context.Context, cancel context.CancelCauseFunc, st network.Stream, req *RunRequest, jobDir string, module []byte, sent map[int]RankEnd, log *slog.Logger) string {
	items := make(chan item, 64)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel (deferred later, runs first) stops the work
	defer cancel(errors.New("run over"))
	rs := s.restarterOf(req)
	for _, rk := range req.Ranks {
		wg.Go(func() { s.rankAgain(ctx, req, rk, jobDir, module, items, log, rs) })
	}
	w := &eventWriter{st: st, net: s.netCounters(req)}
	fail := func(err error) string {
		if c := context.Cause(ctx); errors.Is(c, errRequesterGone) {
			return c.Error()
		}
		if c := context.Cause(ctx); c != nil && ctx.Err() != nil {
			if s.life.Closed() {
				return "provider closed"
			}
			return "cancelled: " + c.Error()
		}
		return fmt.Errorf("%w: %w", errRequesterGone, err).Error()
	}
	if err := w.event(Event{Kind: KindHeartbeat, At: time.Now()}); err != nil {
		return fail(err)
	}
	hbCtx, stopHB := context.WithCancel(ctx)
	hbErr := make(chan error, 1)
	var hb sync.WaitGroup
	hb.Go(func() {
		if err := w.heartbeats(hbCtx, s.cfg.Heartbeat); err != nil {
			hbErr <- err
			cancel(fmt.Errorf("%w: %w", errRequesterGone, err)) // stops the work, hashing included
		}
	})
	defer hb.Wait()
	defer stopHB()
	budget := s.cfg.MaxOutputBytes
	buf := make([]byte, MaxChunk)
	for left := len(req.Ranks); left > 0; {
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case err := <-hbErr:
			return fail(err)
		case it := <-items:
			if it.ev.Kind != KindResult {
				if err := w.event(it.ev); err != nil {
					return fail(err)
				}
				continue
			}
			left--
			ev := it.ev
			if k := s.cfg.Knobs.BeforeList; k != nil {
				k(req, ev.Rank, it.outputs)
			}
			var paths []string
			ev.Outputs, paths, ev.Omitted = listOutputs(ctx, it.outputs, &budget)
			if ctx.Err() != nil {
				return fail(ctx.Err())
			}
			if k := s.cfg.Knobs.BeforeSend; k != nil {
				k(req, ev.Rank, ev.Outputs)
			}
			if err := w.result(ev, paths, buf); err != nil {
				return fail(err)
			}
			sent[ev.Rank] = RankEnd{Result: *ev.Result, Digest: ResultDigest(*ev.Result, ev.Outputs), GPU: ev.GPU}
		}
	}
	stopHB()
	hb.Wait()
	if err := w.event(Event{Kind: KindEnd, Net: w.netNow()}); err != nil {
		return fail(err)
	}
	return ""
}

// sendFile sends size bytes of the file at path as frames.
func sendFile(st network.Stream, path string, size int64, buf []byte) error {
	f, err := openNoFollow(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return sendBytes(st, f, size, buf, func() { _ = st.SetWriteDeadline(time.Now().Add(streamTimeout)) })
}

// rank prepares, starts and follows one rank's work, handing its events
// to items. It returns once the work ended and its result is handed over,
// or once ctx ends and the work is stopped.
func (s *Server) rank(ctx context.Context, req *RunRequest, rk int, jobDir string, module []byte, items chan<- item, log *slog.Logger) {
	dir := filepath.Join(jobDir, "rank-"+strconv.Itoa(rk))
	send := func(it item) bool {
		select {
		case items <- it:
			return true
		case <-ctx.Done():
			return false
		}
	}
	failed := func(err error) {
		now := time.Now()
		log.Info("rank did not start", "rank", rk, "err", err)
		send(item{ev: Event{Kind: KindResult, Rank: rk, Result: &executor.Result{Status: executor.StatusFailed, ExitCode: -1,
			Reason: truncate("start: " + err.Error()), Started: now, Ended: now}}, outputs: filepath.Join(dir, "outputs")})
	}
	if err := prepareRank(dir, filepath.Join(jobDir, "files"), req); err != nil {
		failed(err)
		return
	}
	job := s.job(req, rk, dir, module)
	if k := s.cfg.Knobs.BeforeStart; k != nil {
		k(req, rk, &job)
	}
	h, err := s.execs[req.Spec.Executor].Start(ctx, job)
	if err != nil {
		failed(err)
		return
	}
	meter := s.meterRank(ctx, job)
	defer meter.stop()
	done := make(chan struct{})
	var res executor.Result
	go func() { // ends when the work does: below, ctx's end cancels it
		res, _ = h.Wait(context.Background())
		close(done)
	}()
	stop := func() {
		c, cancel := context.WithTimeout(context.Background(), streamTimeout)
		defer cancel()
		if err := h.Cancel(c); err != nil {
			log.Warn("cancel rank", "rank", rk, "err", err)
		}
		select {
		case <-done:
		case <-c.Done():
		}
	}
	if !send(item{ev: Event{Kind: KindState, Rank: rk, State: StateRunning}}) {
		stop()
		return
	}
	from, ended := 0, false
	for {
		lines, changed, closed := h.Logs().Lines(from)
		for i := range lines {
			if !send(item{ev: Event{Kind: KindLog, Rank: rk, Line: &lines[i]}}) {
				stop()
				return
			}
		}
		from += len(lines)
		if closed || ended {
			break
		}
		select {
		case <-changed:
		case <-done:
			ended = true // one last look at the lines
		case <-ctx.Done():
			stop()
			return
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		stop()
		return
	}
	send(item{ev: Event{Kind: KindResult, Rank: rk, Result: &res, GPU: meter.stop()}, outputs: filepath.Join(dir, "outputs")})
}

// job is the executor's view of rank rk, under this provider's limits.
func (s *Server) job(req *RunRequest, rk int, dir string, module []byte) executor.Job {
	job := rankJob(req, rk, dir, module)
	job.Limits = job.Limits.Cap(s.cfg.Limits)
	s.mu.Lock()
	job.Devices = s.grants[req.Job].of(rk)
	n := s.nets[req.Job]
	s.mu.Unlock()
	if n != nil {
		job.Network = networkOf(n, req.WorldSize, rk, req.Generation+s.netRuns.restarts(req.NetworkID()))
	}
	return job
}

// rankJob is the executor's view of rank rk of req in dir, with module's
// bytes for wasm work and the request's own limits: what a provider runs
// and what Replay runs again.
func rankJob(req *RunRequest, rk int, dir string, module []byte) executor.Job {
	spec := req.Spec
	if spec.Wasm != nil {
		spec.Wasm = &executor.WasmSpec{Module: module, Digest: spec.Wasm.Digest}
	}
	env := make(map[string]string, len(req.Env)+4)
	for k, v := range req.Env {
		env[k] = v
	}
	env["GPUMESH_RANK"] = strconv.Itoa(rk)
	env["GPUMESH_WORLD_SIZE"] = strconv.Itoa(req.WorldSize)
	env["GPUMESH_JOB_ID"] = req.Job
	env["GPUMESH_PEERS"] = strings.Join(req.Peers, ",")
	return executor.Job{ID: req.Job, Dir: dir, Spec: spec, Env: env, Limits: spec.Limits}
}

// prepareRank makes dir's inputs/ and outputs/ and puts every input in
// inputs/, and an image archive beside them, hard-linked from staging
// (copied where links fail).
func prepareRank(dir, staging string, req *RunRequest) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := linkImage(dir, staging, req); err != nil {
		return err
	}
	inputs := filepath.Join(dir, "inputs")
	for _, d := range []string{inputs, filepath.Join(dir, "outputs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	for _, f := range req.Files {
		base, ok := strings.CutPrefix(f.Name, InputPrefix)
		if !ok {
			continue
		}
		src, dst := filepath.Join(staging, stagedName(f.Name)), filepath.Join(inputs, base)
		if err := os.Link(src, dst); err == nil {
			continue
		}
		if err := copyFile(src, dst); err != nil {
			return fmt.Errorf("input %s: %w", f.Name, err)
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// openNoFollow opens path for reading only if it is a regular file and not
// a symlink, and is still the file it checked once opened.
func openNoFollow(path string) (*os.File, error) {
	before, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	after, err := f.Stat()
	if err != nil || !os.SameFile(before, after) {
		f.Close()
		return nil, fmt.Errorf("%s changed while opened", path)
	}
	return f, nil
}
