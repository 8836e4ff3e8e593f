package run

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/p2p/frame"
	"github.com/gpumesh/gpumesh/scheduler/executor"
)

// Protocol is the run protocol's stream protocol ID.
const Protocol = protocol.ID("/gpumesh/run/1")

// Domain and payload type of a signed RunRequest.
const (
	RequestDomain = "gpumesh-run-request"
	RequestCodec  = "/gpumesh/run-request/1"
)

// Limits of the protocol, whatever a provider's configuration.
const (
	// MaxWorldSize is the most workers of one cluster.
	MaxWorldSize = gossip.MaxWorkers
	// MaxFiles is the most files one request may carry.
	MaxFiles = 64
	// MaxInputBytes bounds the total size of a request's files; a
	// provider's ServerConfig.MaxTotalBytes is usually much lower.
	MaxInputBytes = 64 << 30
	// MaxChunk is the largest frame of a file's bytes.
	MaxChunk = 1 << 20
	// MaxRequestBytes is the largest signed RunRequest.
	MaxRequestBytes = 2 << 20
	// MaxEventBytes is the largest event frame.
	MaxEventBytes = 4 << 20
	// MaxEnv bounds the extra environment of a request: entries, key and
	// value lengths.
	MaxEnv         = 64
	MaxEnvKeyBytes = 128
	MaxEnvValBytes = 4096
	// MaxOutputFiles is the most outputs one rank's result lists.
	MaxOutputFiles = 1000
	// MaxNameBytes bounds a file's name (an input's base name, or an
	// output's path relative to outputs/).
	MaxNameBytes = 512
	// RequestLife is how long a signed request stays valid after Sent.
	RequestLife = 5 * time.Minute
	// HeartbeatTolerance is how many heartbeat intervals a requester
	// waits for a frame before it calls the provider lost.
	HeartbeatTolerance = 3
	// MaxHeartbeat is the longest heartbeat interval a provider may ask for.
	MaxHeartbeat = time.Minute
	// MaxGeneration bounds RunRequest.Generation.
	MaxGeneration = 1000
)

// ModuleFile is the name of the file that holds a wasm job's module.
const ModuleFile = "module"

// InputPrefix starts the name of every input file: inputs/<name> is the
// job's /inputs/<name>.
const InputPrefix = "inputs/"

// reservedEnvPrefix starts the environment variables the provider sets.
const reservedEnvPrefix = "GPUMESH_"

var (
	digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	envKeyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// File is a content-addressed file: an input the requester sends, or an
// output the provider sends back.
type File struct {
	// Name is "module" or "inputs/<name>" for a request's file; for an
	// output its slash-separated path under outputs/.
	Name string `json:"name"`
	// Digest is "sha256:<hex>" of its bytes; Size their count.
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	// Truncated marks an output over the provider's MaxOutputBytes: it is
	// listed, its bytes are neither read nor sent, and its Digest may be
	// empty.
	Truncated bool `json:"truncated,omitempty"`
}

// RunRequest asks a provider to run some ranks of a formed cluster's job.
// It travels signed by the requester (RequestDomain).
type RunRequest struct {
	// Job is the job's ID: 32 hex digits.
	Job string `json:"job"`
	// Seq increases with every message the requester signs.
	Seq uint64 `json:"seq"`
	// Sent is when it was signed; it is valid for RequestLife.
	Sent time.Time `json:"sent"`
	// Ranks are the ranks this provider runs, in [0, WorldSize).
	Ranks []int `json:"ranks"`
	// WorldSize is the number of workers in the cluster.
	WorldSize int `json:"world_size"`
	// Peers are the cluster's providers by rank (rank i runs on Peers[i]).
	Peers []string `json:"peers"`
	// Spec is what each rank runs. A wasm spec's Module is empty: the
	// module travels as the file named "module", and Wasm.Digest is its.
	Spec executor.Spec `json:"spec"`
	// Files are the module or image archive and the inputs, sent in this
	// order after the Ack.
	Files []File `json:"files,omitempty"`
	// Env is extra environment for the work; GPUMESH_ names are reserved,
	// loader, path and interpreter names (executor.EnvNeverAllowed) are
	// refused, and a process provider runs only the names it allows.
	Env map[string]string `json:"env,omitempty"`
	// SkipCached says the requester leaves out the files the provider's
	// Ack lists as Cached (an image archive it already holds). A provider
	// that does not know it sends no such list and gets every file.
	SkipCached bool `json:"skip_cached,omitempty"`
	// Network is the ID of the job network the ranks join, where it is
	// not Job: a replacement's request names the failover request it
	// won, and its ranks take over the lost ranks' addresses on the
	// original job's network. Empty means Job.
	Network string `json:"network,omitempty"`
	// Generation is how many times a failover changed the job network's
	// members before this run: the ranks' GPUMESH_NET_GENERATION starts
	// there, and each restart a membership update asks for adds one.
	Generation int `json:"generation,omitempty"`
	// Payer is the requester's settlement wallet (0x and 40 hex digits),
	// whose escrow pays for the run; empty without settlement. A provider
	// that settles checks that its escrow covers the run's cap.
	Payer string `json:"payer,omitempty"`
}

// NetworkID is the ID of the job network req's ranks join.
func (m *RunRequest) NetworkID() string {
	if m.Network != "" {
		return m.Network
	}
	return m.Job
}

// RequestType is RunRequest's gossip type, for gossip.Decode.
var RequestType = gossip.Type{Name: "run-request", New: func() gossip.Message { return new(RunRequest) }}

// Domain implements record.Record.
func (*RunRequest) Domain() string { return RequestDomain }

// Codec implements record.Record.
func (*RunRequest) Codec() []byte { return []byte(RequestCodec) }

// MarshalRecord implements record.Record.
func (m *RunRequest) MarshalRecord() ([]byte, error) { return json.Marshal(m) }

// UnmarshalRecord implements record.Record.
func (m *RunRequest) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, m) }

// TotalSize is the sum of the sizes of the request's files.
func (m *RunRequest) TotalSize() int64 {
	var n int64
	for _, f := range m.Files {
		if f.Size > 0 {
			n += f.Size
		}
	}
	return n
}

// Validate implements gossip.Message: it returns every problem with the
// request's contents, and an error wrapping gossip.ErrExpired when it is
// dated ahead of now by more than maxSkew or older than RequestLife.
func (m *RunRequest) Validate(now time.Time, maxSkew time.Duration) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !gossip.ValidJobID(m.Job) {
		bad("job id %.40q is not 32 hex digits", m.Job)
	}
	if m.Generation < 0 || m.Generation > MaxGeneration {
		bad("generation %d not in [0, %d]", m.Generation, MaxGeneration)
	}
	if m.Network != "" && !gossip.ValidJobID(m.Network) {
		bad("network id %.40q is not 32 hex digits", m.Network)
	}
	if m.Seq == 0 {
		bad("seq must be positive")
	}
	if m.Payer != "" && !validPayer(m.Payer) {
		bad("payer %.50q is not 0x and 40 hex digits", m.Payer)
	}
	if m.WorldSize < 1 || m.WorldSize > MaxWorldSize {
		bad("world size %d not in [1, %d]", m.WorldSize, MaxWorldSize)
	}
	if len(m.Peers) != m.WorldSize {
		bad("%d peers for a world of %d", len(m.Peers), m.WorldSize)
	}
	for _, p := range m.Peers {
		if len(p) > 128 {
			bad("peer ID too long")
			break
		}
		if _, err := peer.Decode(p); err != nil {
			bad("peer %.60q is not a peer ID", p)
			break
		}
	}
	if len(m.Ranks) == 0 || len(m.Ranks) > max(m.WorldSize, 0) || len(m.Ranks) > MaxWorldSize {
		bad("%d ranks for a world of %d", len(m.Ranks), m.WorldSize)
	} else {
		seen := make(map[int]bool, len(m.Ranks))
		for _, r := range m.Ranks {
			if r < 0 || r >= m.WorldSize {
				bad("rank %d not in [0, %d)", r, m.WorldSize)
			} else if seen[r] {
				bad("rank %d twice", r)
			}
			seen[r] = true
		}
	}
	if err := m.Spec.Validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, m.validateFiles()...)
	if err := CheckEnv(m.Env); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if m.Sent.After(now.Add(maxSkew)) {
		return fmt.Errorf("%w: sent %s ahead of our clock", gossip.ErrExpired, m.Sent.Sub(now))
	}
	if until := m.Sent.Add(RequestLife); !now.Before(until) {
		return fmt.Errorf("%w: expired %s ago", gossip.ErrExpired, now.Sub(until))
	}
	return nil
}

// validateFiles checks the files' names, digests and sizes, and that the
// module file is there exactly when a wasm spec needs it.
func (m *RunRequest) validateFiles() []error {
	var errs []error
	if len(m.Files) > MaxFiles {
		return []error{fmt.Errorf("%d files, at most %d", len(m.Files), MaxFiles)}
	}
	names := make(map[string]bool, len(m.Files))
	var total int64
	var module, image *File
	for i := range m.Files {
		f := &m.Files[i]
		if err := validInputName(f.Name); err != nil {
			errs = append(errs, err)
		}
		if names[f.Name] {
			errs = append(errs, fmt.Errorf("file %.60q twice", f.Name))
		}
		names[f.Name] = true
		if !digestPattern.MatchString(f.Digest) {
			errs = append(errs, fmt.Errorf("file %.60q: digest %.80q is not sha256:<hex>", f.Name, f.Digest))
		}
		if f.Size < 0 || f.Size > MaxInputBytes {
			errs = append(errs, fmt.Errorf("file %.60q: size %d not in [0, %d]", f.Name, f.Size, int64(MaxInputBytes)))
		} else {
			total += f.Size
		}
		if f.Truncated {
			errs = append(errs, fmt.Errorf("file %.60q marked truncated", f.Name))
		}
		if f.Name == ModuleFile {
			module = f
		}
		if f.Name == ImageFile {
			image = f
		}
	}
	errs = append(errs, m.validateImageFile(image)...)
	if total > MaxInputBytes {
		errs = append(errs, fmt.Errorf("files of %d bytes in all, at most %d", total, int64(MaxInputBytes)))
	}
	switch w := m.Spec.Wasm; {
	case w != nil && len(w.Module) > 0:
		errs = append(errs, errors.New("the wasm module travels as the file \"module\", not in the spec"))
	case w != nil && module == nil:
		errs = append(errs, errors.New("a wasm spec without a \"module\" file"))
	case w != nil && w.Digest != module.Digest:
		errs = append(errs, fmt.Errorf("wasm digest %.80q is not the module file's %s", w.Digest, module.Digest))
	case w == nil && module != nil:
		errs = append(errs, errors.New("a \"module\" file for a spec that is not wasm"))
	}
	return errs
}

// validInputName accepts "module", "image" and "inputs/<base>" with a
// safe base.
func validInputName(name string) error {
	if name == ModuleFile || name == ImageFile {
		return nil
	}
	base, ok := strings.CutPrefix(name, InputPrefix)
	if !ok {
		return fmt.Errorf("file name %.60q is neither %q, %q nor %s<name>", name, ModuleFile, ImageFile, InputPrefix)
	}
	if err := validBase(base); err != nil {
		return fmt.Errorf("file name %.60q: %w", name, err)
	}
	return nil
}

// validBase accepts one path element that is safe on every host: not
// empty, "." or "..", no separator, no "..", NUL or control character,
// valid UTF-8, at most MaxNameBytes.
func validBase(base string) error {
	switch {
	case base == "" || base == "." || base == "..":
		return errors.New("empty, \".\" or \"..\"")
	case len(base) > MaxNameBytes:
		return fmt.Errorf("%d bytes, at most %d", len(base), MaxNameBytes)
	case !utf8.ValidString(base):
		return errors.New("not UTF-8")
	case strings.ContainsAny(base, `/\`) || strings.Contains(base, ".."):
		return errors.New("a separator or \"..\"")
	case strings.IndexFunc(base, unicode.IsControl) >= 0:
		return errors.New("a control character")
	}
	return nil
}

// validOutputName accepts a slash-separated relative path whose elements
// are all safe bases, at most MaxNameBytes in all.
func validOutputName(name string) error {
	if name == "" || len(name) > MaxNameBytes {
		return fmt.Errorf("output name of %d bytes, want 1 to %d", len(name), MaxNameBytes)
	}
	for _, el := range strings.Split(name, "/") {
		if err := validBase(el); err != nil {
			return fmt.Errorf("output name %.60q: %w", name, err)
		}
	}
	return nil
}

// Ack answers a RunRequest.
type Ack struct {
	// OK is whether the provider takes the job; Reason says why not.
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
	// Busy marks a refusal for want of capacity (too many requests not
	// yet authorized, no memory): nothing the requester or the job did,
	// and nothing the provider is to blame for; the requester may try
	// again.
	Busy bool `json:"busy,omitempty"`
	// Heartbeat is the interval of the provider's heartbeats.
	Heartbeat time.Duration `json:"heartbeat_ns,omitempty"`
	// Cached, only for a request that set SkipCached, names the request's
	// files the provider already holds: the requester does not send them.
	Cached []string `json:"cached,omitempty"`
}

// maxAckBytes bounds an Ack frame.
const maxAckBytes = 4 << 10

// maxReasonBytes bounds a reason in an Ack or an event.
const maxReasonBytes = 1024

// decodeAck parses and checks an Ack.
func decodeAck(b []byte) (Ack, error) {
	var a Ack
	if err := json.Unmarshal(b, &a); err != nil {
		return Ack{}, fmt.Errorf("%w: ack: %w", gossip.ErrMalformed, err)
	}
	if len(a.Reason) > maxReasonBytes {
		return Ack{}, fmt.Errorf("%w: ack reason of %d bytes", gossip.ErrMalformed, len(a.Reason))
	}
	if a.OK && (a.Heartbeat <= 0 || a.Heartbeat > MaxHeartbeat) {
		return Ack{}, fmt.Errorf("%w: heartbeat %s not in (0, %s]", gossip.ErrMalformed, a.Heartbeat, MaxHeartbeat)
	}
	if err := validateCached(a.Cached); err != nil {
		return Ack{}, fmt.Errorf("%w: ack: %w", gossip.ErrMalformed, err)
	}
	if len(a.Cached) == 0 {
		a.Cached = nil
	}
	return a, nil
}

// Kinds of events.
const (
	KindState     = "state"
	KindLog       = "log"
	KindHeartbeat = "heartbeat"
	KindResult    = "result"
	KindEnd       = "end"
)

// StateRunning is the state of a rank whose work started.
const StateRunning = "running"

// Event is one frame the provider streams back after the files.
type Event struct {
	// Kind is state, log, heartbeat, result or end.
	Kind string `json:"kind"`
	// Rank is the rank a state, log or result is about.
	Rank int `json:"rank"`
	// State is a state event's state: running.
	State string `json:"state,omitempty"`
	// Line is a log event's line.
	Line *executor.Line `json:"line,omitempty"`
	// At is when a heartbeat was sent.
	At time.Time `json:"at,omitzero"`
	// Result is a result event's result.
	Result *executor.Result `json:"result,omitempty"`
	// Outputs are a result's output files; the bytes of each one not
	// Truncated follow the event, in this order.
	Outputs []File `json:"outputs,omitempty"`
	// Omitted counts outputs past MaxOutputFiles, or with names that are
	// not safe, that a result does not list.
	Omitted int `json:"omitted,omitempty"`
	// GPU, on a result event, is what the rank's GPUs did while its work
	// ran, metered by the provider; absent for work without GPUs and from
	// providers that meter none (older ones included).
	GPU *ledger.GPUUsage `json:"gpu,omitempty"`
	// Error, on an end event, says why the provider gave up (a file that
	// did not match its digest); empty when every rank has its result.
	Error string `json:"error,omitempty"`
	// Net, on a heartbeat or end event of a run on a job network, is the
	// provider's counters of that network for the run so far.
	Net *NetCounters `json:"net,omitempty"`
}

var statuses = map[executor.Status]bool{executor.StatusSucceeded: true, executor.StatusFailed: true,
	executor.StatusLimit: true, executor.StatusCancelled: true}

// Validate returns every problem with the event's contents.
func (e *Event) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if e.Rank < 0 || e.Rank >= MaxWorldSize {
		bad("rank %d not in [0, %d)", e.Rank, MaxWorldSize)
	}
	if len(e.Error) > maxReasonBytes {
		bad("error of %d bytes", len(e.Error))
	}
	if e.Net != nil {
		if err := e.Net.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	switch e.Kind {
	case KindState:
		if e.State != StateRunning {
			bad("state %.40q", e.State)
		}
	case KindLog:
		if e.Line == nil {
			bad("a log event without a line")
		} else if len(e.Line.Text) > executor.MaxLine || (e.Line.Stream != "stdout" && e.Line.Stream != "stderr") {
			bad("a log line of %d bytes on stream %.20q", len(e.Line.Text), e.Line.Stream)
		}
	case KindHeartbeat, KindEnd:
	case KindResult:
		switch {
		case e.Result == nil:
			bad("a result event without a result")
		case !statuses[e.Result.Status]:
			bad("result status %.20q", e.Result.Status)
		case len(e.Result.Reason) > maxReasonBytes:
			bad("result reason of %d bytes", len(e.Result.Reason))
		}
		if len(e.Outputs) > MaxOutputFiles {
			bad("%d outputs, at most %d", len(e.Outputs), MaxOutputFiles)
			break
		}
		names := make(map[string]bool, len(e.Outputs))
		for _, f := range e.Outputs {
			if err := validOutputName(f.Name); err != nil {
				errs = append(errs, err)
			}
			if names[f.Name] {
				bad("output %.60q twice", f.Name)
			}
			names[f.Name] = true
			if (!digestPattern.MatchString(f.Digest) && !(f.Truncated && f.Digest == "")) || f.Size < 0 {
				bad("output %.60q: digest %.80q, size %d", f.Name, f.Digest, f.Size)
			}
		}
		if e.Omitted < 0 {
			bad("omitted %d", e.Omitted)
		}
		if e.GPU != nil {
			errs = append(errs, e.GPU.Check()...)
		}
	default:
		bad("kind %.20q", e.Kind)
	}
	if e.GPU != nil && e.Kind != KindResult {
		bad("gpu figures on a %.20s event", e.Kind)
	}
	return errors.Join(errs...)
}

// decodeEvent parses and checks an event frame. Every error wraps
// gossip.ErrMalformed.
func decodeEvent(b []byte) (Event, error) {
	if len(b) > MaxEventBytes {
		return Event{}, fmt.Errorf("%w: event of %d bytes", gossip.ErrMalformed, len(b))
	}
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return Event{}, fmt.Errorf("%w: event: %w", gossip.ErrMalformed, err)
	}
	if err := e.Validate(); err != nil {
		return Event{}, fmt.Errorf("%w: event: %w", gossip.ErrMalformed, err)
	}
	return e, nil
}

// digestOf is the "sha256:<hex>" of a finished hash.
func digestOf(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// sendBytes writes size bytes of r as frames of at most MaxChunk; before
// each frame it calls before (to set a write deadline).
func sendBytes(w io.Writer, r io.Reader, size int64, buf []byte, before func()) error {
	for size > 0 {
		n := int(min(size, int64(len(buf))))
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		before()
		if err := frame.Write(w, buf[:n]); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		size -= int64(n)
	}
	return nil
}

// errMismatch: received bytes that are not what their File said.
var errMismatch = errors.New("bytes do not match")

// receiveBytes reads f's bytes as frames (each at most MaxChunk and no more
// than what is left) into w and checks their size and digest; before is
// called before each frame (to set a read deadline).
func receiveBytes(r *bufio.Reader, w io.Writer, f File, before func()) error {
	h := sha256.New()
	left := f.Size
	for left > 0 {
		before()
		b, err := frame.Read(r, int(min(left, MaxChunk)))
		if err != nil {
			return fmt.Errorf("file %s: %w", f.Name, err)
		}
		if len(b) == 0 {
			return fmt.Errorf("file %s: %w: an empty frame", f.Name, errMismatch)
		}
		h.Write(b)
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("file %s: write: %w", f.Name, err)
		}
		left -= int64(len(b))
	}
	if d := digestOf(h); d != f.Digest {
		return fmt.Errorf("file %s: %w: its digest is %s, not %s", f.Name, errMismatch, d, f.Digest)
	}
	return nil
}

// ResultDigest is "sha256:<hex>" over what a rank's result states: its
// status, exit code and outputs (names, digests, sizes, truncation), in a
// canonical form. Provider and requester compute it from the same result
// event, so a receipt's result digest is checkable by both.
func ResultDigest(res executor.Result, outputs []File) string {
	h := sha256.New()
	fmt.Fprintf(h, "gpumesh-result/1\nstatus=%s\nexit=%d\n", res.Status, res.ExitCode)
	sorted := slices.Clone(outputs)
	slices.SortFunc(sorted, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	for _, f := range sorted {
		fmt.Fprintf(h, "%q\t%s\t%d\t%t\n", f.Name, f.Digest, f.Size, f.Truncated)
	}
	return digestOf(h)
}

// validPayer reports whether s is 0x and 40 hex digits.
func validPayer(s string) bool {
	if len(s) != 42 || (s[:2] != "0x" && s[:2] != "0X") {
		return false
	}
	for _, c := range s[2:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
