package market

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/internal/human"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/pricing"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// The execute stage: the formed cluster runs the job's work over
// /gpumesh/run/1, one stream per provider; a provider lost mid-job is
// replaced (failover.go), some ranks are run again here to check their
// outputs (audit.go), and each run's time is billed and its receipts
// exchanged (settle.go).

// work is what every provider of a running job gets: the executor spec,
// the files, where outputs go, and the peers of each rank.
type work struct {
	spec  executor.Spec
	files map[string]string
	out   string
	// audited are the ranks run again here to check their outputs, and
	// auditor the executor that runs them (nil when none are); closer
	// closes an auditor made for this job alone.
	audited map[int]bool
	auditor executor.Executor
	closer  func()

	// Guarded by the job's lock: they change when a lost provider is
	// replaced.
	peers   []string
	members []*member // the provider now serving each slot of the cluster
	lost    map[peer.ID]bool
}

// others are the members serving besides mb; the job's lock must be held.
func (w *work) others(mb *member) []*member {
	var out []*member
	for _, o := range w.members {
		if o != mb {
			out = append(out, o)
		}
	}
	return out
}

// close frees what the work holds here.
func (w *work) close() {
	if w.closer != nil {
		w.closer()
	}
}

// prepare builds the work for cluster, draws the ranks to audit and puts
// the job in StateRunning; false when the job failed instead.
func (d *driver) prepare(ctx context.Context, cluster []*member) (*work, bool) {
	j := d.j
	req := j.request()
	spec, files, err := workSpec(j.view.Spec)
	if err != nil {
		d.releaseAll(ctx, heldOf(cluster), "the work could not be prepared")
		d.finish(j, StateFailed, fmt.Errorf("%w: %w", errNotPrepared, err))
		return nil, false
	}
	w := &work{spec: spec, files: files, out: filepath.Join(d.d.ResultsDir, req.ID),
		peers: make([]string, req.Workers), members: slices.Clone(cluster), lost: map[peer.ID]bool{}}
	for _, mb := range cluster {
		for _, r := range mb.ranks {
			w.peers[r] = mb.peer.String()
		}
	}
	sample := auditSample(j.view.Spec.auditShare(), req.Workers)
	if len(sample) > 0 {
		w.auditor, w.audited = d.d.Auditor, map[int]bool{}
		if w.auditor == nil {
			auditor, err := newAuditor()
			if err != nil {
				d.releaseAll(ctx, heldOf(cluster), "the audit could not be prepared")
				d.finish(j, StateFailed, fmt.Errorf("%w: %w", errAuditNotPrepared, err))
				return nil, false
			}
			w.auditor, w.closer = auditor, func() { auditor.Close() }
		}
		for _, r := range sample {
			w.audited[r] = true
		}
	}
	g := newJobLog(d.logsDir(), req.ID, d.logCap())
	j.mu.Lock()
	defer j.mu.Unlock()
	j.view.State = StateRunning
	j.view.Results = w.out
	j.view.Charged = &Cost{}
	j.log = g
	j.event("run", "", "starting the work on %s: %s %s", human.Plural(len(cluster), "provider"), spec.Executor, req.Workload)
	if len(sample) > 0 {
		j.event("audit", "", "ranks %v (%d of %d, drawn at random) also run here, to check their providers' outputs", sample, len(sample), req.Workers)
	}
	return w, true
}

// execute runs the work on every slot of the cluster at once and returns
// why slots failed; one failing ends the others.
func (d *driver) execute(ctx context.Context, w *work) []error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	for slot := range w.members {
		wg.Go(func() {
			if err := d.serve(ctx, w, slot); err != nil {
				mu.Lock()
				failures = append(failures, err)
				mu.Unlock()
				// One worker failing ends the cluster's work.
				cancel(fmt.Errorf("stopped: %w", err))
			}
		})
	}
	wg.Wait()
	return failures
}

// serve runs the ranks of one slot of the cluster to their end, on its
// provider and, when that one is lost, on replacements. It returns why the
// ranks failed, or nil.
func (d *driver) serve(ctx context.Context, w *work, slot int) error {
	busy := 0
	for {
		d.j.mu.Lock()
		mb := w.members[slot]
		d.j.mu.Unlock()
		o, err := d.runOn(ctx, w, mb)
		if err == nil && succeeded(o, mb.ranks) {
			return nil
		}
		if errors.Is(err, run.ErrBusy) && ctx.Err() == nil && busy < maxBusyRetries {
			// Refused for want of capacity, holding nothing: ask again soon.
			busy++
			if !d.waitBusy(ctx, mb, busy, err) {
				return ctx.Err()
			}
			continue
		}
		busy = 0
		audit := refusedResults(err)
		if (!errors.Is(err, run.ErrProviderLost) && !errors.Is(err, run.ErrBusy) && !audit) || ctx.Err() != nil {
			return fmt.Errorf("%s (ranks %v): %s", short(mb.peer), mb.ranks, ranksFailure(o, mb.ranks, err))
		}
		if !audit && succeeded(o, mb.ranks) { // every result came, and passed any audit, before the connection broke
			return nil
		}
		next, ferr := d.replace(ctx, w, mb, err)
		if ferr != nil {
			what := "was lost"
			switch {
			case errors.Is(err, errAuditFailed):
				what = "failed the audit"
			case errors.Is(err, errOutputsRefused):
				what = "sent outputs that were refused"
			}
			return fmt.Errorf("%s (ranks %v) %s (%v) and was not replaced: %w", short(mb.peer), mb.ranks, what, err, ferr)
		}
		d.j.mu.Lock()
		w.members[slot] = next
		for _, r := range next.ranks {
			w.peers[r] = next.peer.String()
		}
		d.j.mu.Unlock()
		removeRanks(w.out, next.ranks) // a lost provider's outputs, if any
		d.announce(ctx, w, next)
	}
}

// removeRanks deletes the output folders of ranks under out.
func removeRanks(out string, ranks []int) {
	for _, r := range ranks {
		_ = os.RemoveAll(filepath.Join(out, "rank-"+strconv.Itoa(r)))
	}
}

// maxBusyRetries bounds how many times in a row a provider that refused
// a run as busy (run.ErrBusy) is asked again before it is replaced;
// busyBackoff is the first wait, doubled each time.
const (
	maxBusyRetries = 3
	busyBackoff    = 250 * time.Millisecond
)

// waitBusy waits before the try-th new request to mb, which refused the
// last as busy (err); false if ctx ended first.
func (d *driver) waitBusy(ctx context.Context, mb *member, try int, err error) bool {
	wait := busyBackoff << (try - 1)
	d.j.note("busy", mb.peer, "%s refused the run as busy (%v); asking again in %s (%d of %d)", short(mb.peer), err, wait, try, maxBusyRetries)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// succeeded reports whether every rank has a succeeded result.
func succeeded(o run.Outcome, ranks []int) bool {
	for _, r := range ranks {
		if res, ok := o.Results[r]; !ok || res.Status != executor.StatusSucceeded {
			return false
		}
	}
	return true
}

// ran is one run of a member's ranks, as judged once it ended.
type ran struct {
	o        run.Outcome
	err      error // why the ranks did not all succeed (refused included); nil if they did
	lost     bool  // the provider dropped or fell silent mid-job
	neverRan bool  // lost before it was heard from after answering
	refused  error // why its results are refused (a failed audit, malformed), nil if not
}

// runOn runs mb's ranks on mb, then judges the run (audits, malformed
// results), bills it and records it in mb's reputation.
func (d *driver) runOn(ctx context.Context, w *work, mb *member) (run.Outcome, error) {
	d.j.mu.Lock()
	req := &run.RunRequest{Job: mb.req, Network: d.networkOf(mb), Generation: d.generation(mb), Ranks: mb.ranks, WorldSize: len(w.peers), Peers: slices.Clone(w.peers), Spec: w.spec,
		Env: maps.Clone(d.j.view.Spec.Env)}
	d.j.mu.Unlock()
	if st := d.d.Settle; st != nil {
		req.Payer = st.address().Hex()
	}
	audits := d.startAudits(ctx, w, mb, req)
	r := d.runRanks(ctx, w, mb, req)
	d.judge(ctx, r, mb, audits)
	if r.refused != nil {
		removeRanks(w.out, mb.ranks) // the outputs of a provider caught lying are not kept
	}
	d.bill(ctx, r, mb)
	d.rate(ctx, r, mb)
	return r.o, r.err
}

// runRanks runs req on mb over /gpumesh/run/1.
func (d *driver) runRanks(ctx context.Context, w *work, mb *member, req *run.RunRequest) *ran {
	var o run.Outcome
	err := d.directPath(ctx, mb)
	if err == nil {
		o, err = run.Run(ctx, d.d.Host, d.d.Key, mb.peer, req, w.files, w.out, func(e run.Event) { d.onRunEvent(mb, e) },
			run.WithTolerance(d.cfg.HeartbeatTolerance), run.WithAnswerTimeout(d.answerTimeout()))
	}
	if err != nil && ctx.Err() != nil && context.Cause(ctx) != nil {
		err = context.Cause(ctx)
	}
	r := &ran{o: o, err: err}
	r.lost = errors.Is(err, run.ErrProviderLost) && ctx.Err() == nil
	// Nothing heard after its answer (or no answer): it never ran the work.
	r.neverRan = r.lost && !o.LastHeard.After(o.Started)
	if r.neverRan {
		r.err = fmt.Errorf("%w: %w", errNeverRan, err)
	}
	return r
}

// judge checks r's results before anything is paid for them: results that
// all came, even before the connection broke, are audited; results refused
// as malformed are worth nothing either. r.refused then says why: mb is
// not paid, gets a violation, and its ranks fail over.
func (d *driver) judge(ctx context.Context, r *ran, mb *member, audits *audits) {
	if succeeded(r.o, mb.ranks) && (r.err == nil || r.lost) {
		r.refused = d.finishAudits(mb, r.o, audits)
	} else {
		audits.stop()
	}
	if r.refused == nil && ctx.Err() == nil && malformedResults(r.err) {
		r.refused = d.refuseMalformed(mb, r.err)
	}
	if r.refused != nil {
		r.err = r.refused
	}
}

// served is the span mb is paid for: from its acceptance of the run to
// its end, to when it was last heard from if it was lost, else to now
// (stopped by us, or it failed: paid until we let go).
func (r *ran) served() (start, end time.Time) {
	end = r.o.Ended
	switch {
	case !end.IsZero():
	case r.lost:
		end = r.o.LastHeard
	default:
		end = time.Now()
	}
	return r.o.Started, end
}

// bill records r on the job: each rank's result, mb's time served and
// what it costs, and starts the exchange of its receipts.
func (d *driver) bill(ctx context.Context, r *ran, mb *member) {
	j := d.j
	start, end := r.served()
	seconds := 0.0
	if !start.IsZero() && !end.IsZero() {
		seconds = end.Sub(start).Seconds()
	}
	j.mu.Lock()
	for _, rk := range mb.ranks {
		wr := WorkerResult{Rank: rk, Peer: mb.peer.String(), Attempt: mb.attempt, Seconds: seconds}
		if res, ok := r.o.Results[rk]; ok {
			wr.Result = res
		}
		if r.refused == nil {
			for _, f := range r.o.Outputs[rk] {
				wr.Outputs = append(wr.Outputs, f.Name)
			}
		}
		if r.err != nil {
			wr.Error = r.err.Error()
		}
		j.view.Workers = append(j.view.Workers, wr)
	}
	if start.IsZero() {
		j.mu.Unlock()
		return
	}
	u, priced := d.usage(ctx, r, mb, start, end)
	if priced {
		j.view.Charged.addUsage(u)
	}
	j.view.Usage = append(j.view.Usage, u)
	k := len(j.view.Usage) - 1
	if r.neverRan {
		j.view.Usage[k].Settlement = "nothing served: no receipt"
	}
	j.mu.Unlock()
	if r.neverRan {
		return
	}
	disputed := ""
	if r.refused != nil {
		disputed = "refused: " + r.refused.Error()
	}
	d.exchangeReceipts(mb, k, r.o, r.lost, disputed)
}

// usage is mb's time served from start to end, as the receipts count
// it; priced is false when mb's price has no price in micros.
func (d *driver) usage(ctx context.Context, r *ran, mb *member, start, end time.Time) (u Usage, priced bool) {
	u = Usage{Peer: mb.peer.String(), Ranks: mb.ranks, Attempt: mb.attempt, Request: mb.req, Start: start, End: end,
		Devices: len(mb.ranks) * devicesPerWorker(d.j.req), Price: mb.price}
	if mb.replaces != "" {
		u.Replaces = mb.replaces.String()
	}
	u.GPU = rankGPU(r.o, mb.ranks)
	switch {
	case r.refused != nil:
		u.Status = UsageFailed
	case r.err == nil && succeeded(r.o, mb.ranks):
		u.Status = UsageServed
	case r.lost:
		u.Status = UsageLost
	case ctx.Err() != nil:
		u.Status = UsageStopped
	default:
		u.Status = UsageFailed
	}
	if r.err != nil {
		u.Error = r.err.Error()
	}
	price, err := pricing.FromFloat(mb.price)
	if err == nil {
		// The receipts' arithmetic: milliseconds, rounded half up.
		u.GPUMillis = int64(u.Devices) * end.UTC().Truncate(time.Millisecond).Sub(start.UTC().Truncate(time.Millisecond)).Milliseconds()
		if amount, ok := ledger.Cost(ledger.Micros(price), u.GPUMillis); ok && r.refused == nil {
			// Refused outputs (a failed audit, malformed) are worth nothing.
			u.Amount = pricing.Micros(amount)
			u.RequesterFee = pricing.Micros(ledger.Fee(amount))
			u.ProviderFee = u.RequesterFee
		}
	}
	return u, err == nil
}

// rate records how mb's run went in its reputation.
func (d *driver) rate(ctx context.Context, r *ran, mb *member) {
	book := d.d.Book
	switch {
	case r.refused != nil:
		book.Record(mb.peer, reputation.Violation, r.refused.Error())
		book.Record(mb.peer, reputation.JobFailed, r.refused.Error())
	case errors.Is(r.err, run.ErrBusy):
		// Refused for want of capacity, before anything ran: not its fault.
	case errors.Is(r.err, p2p.ErrRelayedOnly):
		// No direct path between us: our NAT may be the one to blame.
	case r.lost:
		book.Record(mb.peer, reputation.JobFailed, "lost mid-job: "+r.err.Error())
	case r.err != nil && ctx.Err() == nil:
		book.Record(mb.peer, reputation.JobFailed, r.err.Error())
	case r.err == nil:
		book.Record(mb.peer, reputation.JobCompleted, d.j.view.ID)
	}
}

// errNeverRan: a provider lost before it was heard from after answering
// the run request, or before it answered.
var errNeverRan = errors.New("never started the work")

// minAnswerTimeout is the least time a provider has to answer a run request.
const minAnswerTimeout = time.Second

// answerTimeout is how long a provider has to answer a run request: as
// long as it may stay silent while it runs, at least minAnswerTimeout.
func (r *requester) answerTimeout() time.Duration {
	return max(time.Duration(r.cfg.HeartbeatTolerance)*time.Duration(r.cfg.HeartbeatInterval), minAnswerTimeout)
}

// ranksFailure says why a provider's ranks did not succeed.
func ranksFailure(o run.Outcome, ranks []int, err error) string {
	if err != nil {
		return err.Error()
	}
	for _, r := range ranks {
		if res := o.Results[r]; res.Status != executor.StatusSucceeded {
			return fmt.Sprintf("rank %d %s (exit %d) %s", r, res.Status, res.ExitCode, res.Reason)
		}
	}
	return "no result"
}

// onRunEvent turns a provider's run event into a job event, or a log
// line into a line of the job's log file (bounded by market.job_log_mb).
func (d *driver) onRunEvent(mb *member, e run.Event) {
	j := d.j
	if e.Kind == run.KindLog {
		if e.Line != nil {
			j.addLog(LogLine{At: e.Line.At, Rank: e.Rank, Peer: mb.peer.String(), Stream: e.Line.Stream, Text: e.Line.Text})
		}
		return
	}
	if e.Net != nil {
		j.netCounters(mb, *e.Net)
	}
	switch e.Kind {
	case run.KindState:
		j.note("started", mb.peer, "rank %d %s on %s", e.Rank, e.State, short(mb.peer))
	case run.KindResult:
		if e.Result != nil {
			j.note("result", mb.peer, "rank %d %s, exit %d%s; %s", e.Rank, e.Result.Status, e.Result.ExitCode,
				prefixed(": ", e.Result.Reason), human.Plural(len(e.Outputs), "output"))
		}
	}
}

// workSpec is the executor spec and the files of the work s describes.
func workSpec(s Spec) (executor.Spec, map[string]string, error) {
	spec := executor.Spec{Version: executor.SpecVersion, Executor: s.Executor, Args: slices.Clone(s.Args),
		Limits: executor.Limits{Wall: time.Duration(s.Duration)}}
	files := map[string]string{}
	switch {
	case s.Module != "":
		data, err := os.ReadFile(s.Module)
		if err != nil {
			return spec, nil, err
		}
		spec.Wasm = &executor.WasmSpec{Module: data}
	case IsImageArchive(s.Image):
		spec.Docker = &executor.DockerSpec{Archive: s.Workload, PerDevice: s.PerDevice} // the digest Normalize read
		files[run.ImageFile] = s.Image
	case s.Image != "":
		spec.Docker = &executor.DockerSpec{Image: s.Image, PerDevice: s.PerDevice}
		if s.Pool == "gpu" && s.GPUs != nil { // the provider must hand over exactly these
			spec.Docker.GPUs = *s.GPUs
		}
	case s.Command != "":
		spec.Process = &executor.ProcessSpec{Command: s.Command, PerDevice: s.PerDevice}
	}
	for _, in := range s.Inputs {
		files[run.InputPrefix+filepath.Base(in)] = in
	}
	return spec, files, nil
}

// heldOf is the members of cluster as held awards, for releasing them.
func heldOf(cluster []*member) map[int]*member {
	out := map[int]*member{}
	for _, mb := range cluster {
		out[mb.bid] = mb
	}
	return out
}
