package market

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// Output audits. A requester checks a provider's outputs by running some
// of the job's ranks again itself (Spec.Audit): the same module,
// arguments, environment (the GPUMESH_ variables the provider was given:
// rank, world size, the job or failover request ID, the peers by rank)
// and inputs, in a wasm executor of its own, through run.Replay, which
// prepares the rank exactly as a provider's run server does. The result
// digest of the replay (run.ResultDigest: status, exit code, each
// output's name, size and digest) must equal the provider's. The replay
// runs while the provider runs, so an audit adds little to the job's time
// when the requester has a core to spare.
//
// An audit is meaningful only for deterministic work: outputs that are a
// function of the arguments, the environment and the inputs alone. The
// wasm executor gives a module the host's clocks and crypto randomness
// (scheduler/executor/wasm.go), on providers and requesters alike, so a
// module that writes the time, a random number or anything derived from
// them into its outputs differs on every run and fails every audit through
// no fault of its provider; so does a module whose outputs depend on its
// logs' size or its memory (the two runs' limits are their own executors').
// Logs are not compared.
//
// Which ranks are audited is drawn with crypto randomness when the work
// starts and never sent: a provider cannot tell whether its ranks are
// checked. (Seeding the draw from the job ID, as placement seeds its
// choices, would let every provider compute it.)

// errAuditFailed: a provider's result for a rank differs from the
// requester's own run of it.
var errAuditFailed = errors.New("outputs failed the audit")

// errOutputsRefused: a provider's results or outputs were refused as
// malformed when they came (run.ErrBadOutput: bytes that are not what was
// listed, too many of them; gossip.ErrMalformed: bad names, too many
// files, events that break the protocol).
var errOutputsRefused = errors.New("outputs refused as malformed")

// refusedResults reports whether err refuses a provider's results: they
// failed the audit or were malformed. Such a provider is not paid (its
// receipts are refused with the reason), gets a violation and a failed
// job in reputation, and its ranks fail over.
func refusedResults(err error) bool {
	return errors.Is(err, errAuditFailed) || errors.Is(err, errOutputsRefused)
}

// malformedResults reports whether err from run.Run refuses what the
// provider sent as malformed.
func malformedResults(err error) bool {
	return errors.Is(err, run.ErrBadOutput) || errors.Is(err, gossip.ErrMalformed)
}

// refuseMalformed records on the job that mb's results were refused as malformed
// (err says how) and returns the error that refuses them.
func (d *driver) refuseMalformed(mb *member, err error) error {
	d.j.note("outputs_refused", mb.peer, "%s sent results that were refused (%v); they are not kept or paid for", short(mb.peer), err)
	return fmt.Errorf("%w: %w", errOutputsRefused, err)
}

// auditSample draws the ranks to audit among workers: share of them,
// rounded up, in increasing order; none for share 0.
func auditSample(share float64, workers int) []int {
	if !(share > 0) || workers <= 0 {
		return nil
	}
	n := min(int(math.Ceil(share*float64(workers)-1e-9)), workers)
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	perm := rand.New(rand.NewChaCha8(seed)).Perm(workers)[:max(n, 1)]
	slices.Sort(perm)
	return perm
}

// newAuditor is the wasm executor a job's audits run in, with the
// executor's default limits.
func newAuditor() (*executor.Wasm, error) {
	return executor.NewWasm(executor.WasmConfig{})
}

// replayed is one rank's replay: its result digest, or why there is none.
type replayed struct {
	rank   int
	digest string
	took   time.Duration
	err    error
}

// audits are the replays of one provider's audited ranks, running.
type audits struct {
	cancel context.CancelFunc
	done   chan replayed
	n      int
}

// startAudits starts replaying the audited ranks of mb's run req, if any;
// the returned audits (nil for none) must be finished or stopped.
func (d *driver) startAudits(ctx context.Context, w *work, mb *member, req *run.RunRequest) *audits {
	var ranks []int
	for _, r := range mb.ranks {
		if w.audited[r] {
			ranks = append(ranks, r)
		}
	}
	if len(ranks) == 0 || w.auditor == nil {
		return nil
	}
	base := d.d.ResultsDir
	if base == "" {
		base = os.TempDir()
	}
	actx, cancel := context.WithCancel(ctx)
	a := &audits{cancel: cancel, done: make(chan replayed, len(ranks)), n: len(ranks)}
	for _, r := range ranks {
		go func() { // owned by a: finish and stop wait for it
			start := time.Now()
			out := replayed{rank: r}
			defer func() { out.took = time.Since(start); a.done <- out }()
			if err := os.MkdirAll(base, 0o755); err != nil {
				out.err = err
				return
			}
			dir, err := os.MkdirTemp(base, ".audit-")
			if err != nil {
				out.err = err
				return
			}
			defer os.RemoveAll(dir)
			res, outputs, err := run.Replay(actx, w.auditor, req, r, w.files, dir, 0)
			if err != nil {
				out.err = err
				return
			}
			out.digest = run.ResultDigest(res, outputs)
		}()
	}
	return a
}

// stop cancels the replays and waits for them.
func (a *audits) stop() {
	if a == nil {
		return
	}
	a.cancel()
	for range a.n {
		<-a.done
	}
}

// finishAudits waits for the replays of mb's audited ranks and compares
// each with the result o holds; it records a verdict per rank and returns
// an error wrapping errAuditFailed at the first mismatch (nil when every
// replay matched, or could not run here, which is no fault of mb's).
func (d *driver) finishAudits(mb *member, o run.Outcome, a *audits) error {
	if a == nil {
		return nil
	}
	defer a.cancel()
	var got []replayed
	for range a.n {
		got = append(got, <-a.done)
	}
	slices.SortFunc(got, func(x, y replayed) int { return x.rank - y.rank })
	j := d.j
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, r := range got {
		theirs := run.ResultDigest(o.Results[r.rank], o.Outputs[r.rank])
		switch {
		case r.err != nil:
			j.event("audit", mb.peer, "rank %d of %s could not be run again here (%v): not audited", r.rank, short(mb.peer), r.err)
		case r.digest == theirs:
			j.event("audit", mb.peer, "rank %d on %s passed the audit: its result digest %s matches this node's own run (%s)",
				r.rank, short(mb.peer), theirs, r.took.Round(time.Millisecond))
		default:
			err := fmt.Errorf("%w: rank %d on %s returned result digest %s, this node's own run of it gives %s", errAuditFailed, r.rank, short(mb.peer), theirs, r.digest)
			j.event("audit_failed", mb.peer, "rank %d on %s failed the audit: its result digest %s, this node's own run of the rank %s; its results are refused and not paid for",
				r.rank, short(mb.peer), theirs, r.digest)
			return err
		}
	}
	return nil
}
