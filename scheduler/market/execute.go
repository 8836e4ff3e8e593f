package market

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/pricing"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// work is what every provider of a running job gets: the executor spec,
// the files, where outputs go, and the peers of each rank (which change
// when a lost provider is replaced; guarded by Market.mu).
type work struct {
	spec    executor.Spec
	files   map[string]string
	out     string
	peers   []string
	members []*member // the provider now serving each slot of the cluster
	lost    map[peer.ID]bool
	// audited are the ranks run again here to check their outputs, and
	// auditor the executor that runs them (nil when none are).
	audited map[int]bool
	auditor executor.Executor
}

// others are the members serving besides mb; m.mu must be held.
func (w *work) others(mb *member) []*member {
	var out []*member
	for _, o := range w.members {
		if o != mb {
			out = append(out, o)
		}
	}
	return out
}

// execute runs the job's work on its formed cluster over /gpumesh/run/1,
// one stream per provider, replaces providers lost mid-job (failover),
// and records each rank's result and outputs and each provider's time.
func (m *Market) execute(ctx context.Context, j *job, cluster []*member) {
	spec, files, err := m.workSpec(j)
	if err != nil {
		m.releaseAll(ctx, j, heldOf(cluster), "the work could not be prepared")
		m.finish(j, StateFailed, "the work could not be prepared: "+err.Error())
		return
	}
	w := &work{spec: spec, files: files, out: filepath.Join(m.d.ResultsDir, j.req.ID),
		peers: make([]string, j.req.Workers), members: slices.Clone(cluster), lost: map[peer.ID]bool{}}
	for _, mb := range cluster {
		for _, r := range mb.ranks {
			w.peers[r] = mb.peer.String()
		}
	}
	sample := auditSample(j.view.Spec.auditShare(), j.req.Workers)
	if len(sample) > 0 {
		w.auditor, w.audited = m.d.Auditor, map[int]bool{}
		if w.auditor == nil {
			auditor, err := newAuditor()
			if err != nil {
				m.releaseAll(ctx, j, heldOf(cluster), "the audit could not be prepared")
				m.finish(j, StateFailed, "the audit could not be prepared: "+err.Error())
				return
			}
			defer auditor.Close()
			w.auditor = auditor
		}
		for _, r := range sample {
			w.audited[r] = true
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	m.mu.Lock()
	j.view.State = StateRunning
	j.view.Results = w.out
	j.view.Charged = &Cost{}
	j.log = newJobLog(m.logsDir(), j.req.ID, m.logCap())
	j.event("run", "", "starting the work on %s: %s %s", plural(len(cluster), "provider"), spec.Executor, j.req.Workload)
	if len(sample) > 0 {
		j.event("audit", "", "ranks %v (%d of %d, drawn at random) also run here, to check their providers' outputs", sample, len(sample), j.req.Workers)
	}
	m.mu.Unlock()
	defer cancel(nil)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for slot := range cluster {
		wg.Go(func() {
			if err := m.serve(ctx, j, w, slot); err != nil {
				mu.Lock()
				failures = append(failures, err.Error())
				mu.Unlock()
				// One worker failing ends the cluster's work.
				cancel(fmt.Errorf("stopped: %w", err))
			}
		})
	}
	wg.Wait()
	j.awaitSettlements()
	m.mu.Lock()
	if c := j.log.counts(); c.Dropped > 0 {
		j.event("logs", "", "%d log lines (%d bytes) kept; %d later lines dropped past the cap of %d MiB per job (market.job_log_mb)",
			c.Lines, c.Bytes, c.Dropped, c.Cap>>20)
	}
	sort.SliceStable(j.view.Workers, func(a, b int) bool { return j.view.Workers[a].Rank < j.view.Workers[b].Rank })
	m.mu.Unlock()
	if len(failures) > 0 {
		sort.Strings(failures)
		m.finish(j, StateFailed, "the work failed: "+strings.Join(failures, "; "))
		return
	}
	m.mu.Lock()
	j.event("done", "", "every worker succeeded; outputs under %s; charged %s for the time served%s", w.out,
		j.view.Charged.RequesterPays, prefixed(", failovers: ", failoverCount(j.view.Failovers)))
	m.mu.Unlock()
	m.finish(j, StateSucceeded, "")
}

// failoverCount is n as text, empty for none.
func failoverCount(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

// serve runs the ranks of one slot of the cluster to their end, on its
// provider and, when that one is lost, on replacements. It returns why the
// ranks failed, or nil.
func (m *Market) serve(ctx context.Context, j *job, w *work, slot int) error {
	busy := 0
	for {
		m.mu.Lock()
		mb := w.members[slot]
		m.mu.Unlock()
		o, err := m.runOn(ctx, j, w, mb)
		if err == nil && succeeded(o, mb.ranks) {
			return nil
		}
		if errors.Is(err, run.ErrBusy) && ctx.Err() == nil && busy < maxBusyRetries {
			// Refused for want of capacity, holding nothing: ask again soon.
			busy++
			if !m.waitBusy(ctx, j, mb, busy, err) {
				return ctx.Err()
			}
			continue
		}
		busy = 0
		audit := refusedResults(err)
		if (!errors.Is(err, run.ErrProviderLost) && !errors.Is(err, run.ErrBusy) && !audit) || ctx.Err() != nil {
			return fmt.Errorf("%s (ranks %v): %s", short(mb.peer), mb.ranks, failureText(o, mb.ranks, err))
		}
		if !audit && succeeded(o, mb.ranks) { // every result came, and passed any audit, before the connection broke
			return nil
		}
		next, ferr := m.replace(ctx, j, w, mb, err)
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
		m.mu.Lock()
		w.members[slot] = next
		for _, r := range next.ranks {
			w.peers[r] = next.peer.String()
			_ = os.RemoveAll(filepath.Join(w.out, "rank-"+strconv.Itoa(r))) // a lost provider's outputs, if any
		}
		m.mu.Unlock()
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
func (m *Market) waitBusy(ctx context.Context, j *job, mb *member, try int, err error) bool {
	d := busyBackoff << (try - 1)
	m.mu.Lock()
	j.event("busy", mb.peer, "%s refused the run as busy (%v); asking again in %s (%d of %d)", short(mb.peer), err, d, try, maxBusyRetries)
	m.mu.Unlock()
	t := time.NewTimer(d)
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

// runOn runs mb's ranks on mb and records their results, the provider's
// time served and the outcome in its reputation.
func (m *Market) runOn(ctx context.Context, j *job, w *work, mb *member) (run.Outcome, error) {
	m.mu.Lock()
	req := &run.RunRequest{Job: mb.req, Ranks: mb.ranks, WorldSize: j.req.Workers, Peers: slices.Clone(w.peers), Spec: w.spec}
	m.mu.Unlock()
	audits := m.startAudits(ctx, w, mb, req)
	o, err := run.Run(ctx, m.d.Host, m.d.Key, mb.peer, req, w.files, w.out, func(e run.Event) { m.onRunEvent(j, mb, e) },
		run.WithTolerance(m.cfg.HeartbeatTolerance), run.WithAnswerTimeout(m.answerTimeout()))
	if err != nil && ctx.Err() != nil && context.Cause(ctx) != nil {
		err = context.Cause(ctx)
	}
	lost := errors.Is(err, run.ErrProviderLost) && ctx.Err() == nil
	// Nothing heard after its answer (or no answer): it never ran the work.
	neverRan := lost && !o.LastHeard.After(o.Started)
	if neverRan {
		err = fmt.Errorf("%w: %w", errNeverRan, err)
	}
	// Results that all came, even before the connection broke, are
	// checked before anything is paid for them; results refused as
	// malformed are worth nothing either. refused says why mb's results
	// are refused: it is not paid, it gets a violation, and its ranks
	// fail over.
	var refused error
	if succeeded(o, mb.ranks) && (err == nil || lost) {
		refused = m.finishAudits(j, mb, o, audits)
	} else {
		audits.stop()
	}
	if refused == nil && ctx.Err() == nil && malformedResults(err) {
		refused = m.refuseMalformed(j, mb, err)
	}
	if refused != nil {
		err = refused
		for _, r := range mb.ranks { // the outputs of a provider caught lying are not kept
			_ = os.RemoveAll(filepath.Join(w.out, "rank-"+strconv.Itoa(r)))
		}
	}
	end := o.Ended
	switch {
	case !end.IsZero():
	case lost:
		end = o.LastHeard // paid until last heard from
	default:
		end = time.Now() // stopped by us, or it failed: paid until we let go
	}
	served := 0.0
	if !o.Started.IsZero() && !end.IsZero() {
		served = end.Sub(o.Started).Seconds()
	}
	m.mu.Lock()
	for _, r := range mb.ranks {
		wr := WorkerResult{Rank: r, Peer: mb.peer.String(), Attempt: mb.attempt, Seconds: served}
		if res, ok := o.Results[r]; ok {
			wr.Result = res
		}
		if refused == nil {
			for _, f := range o.Outputs[r] {
				wr.Outputs = append(wr.Outputs, f.Name)
			}
		}
		if err != nil {
			wr.Error = err.Error()
		}
		j.view.Workers = append(j.view.Workers, wr)
	}
	if !o.Started.IsZero() {
		u := Usage{Peer: mb.peer.String(), Ranks: mb.ranks, Attempt: mb.attempt, Request: mb.req, Start: o.Started, End: end,
			Devices: len(mb.ranks) * devicesPerWorker(j.req), Price: mb.price}
		if mb.replaces != "" {
			u.Replaces = mb.replaces.String()
		}
		switch {
		case refused != nil:
			u.Status = UsageFailed
		case err == nil && succeeded(o, mb.ranks):
			u.Status = UsageServed
		case lost:
			u.Status = UsageLost
		case ctx.Err() != nil:
			u.Status = UsageStopped
		default:
			u.Status = UsageFailed
		}
		if err != nil {
			u.Error = err.Error()
		}
		if price, perr := pricing.FromFloat(mb.price); perr == nil {
			// The receipts' arithmetic: milliseconds, rounded half up.
			u.GPUMillis = int64(u.Devices) * end.UTC().Truncate(time.Millisecond).Sub(o.Started.UTC().Truncate(time.Millisecond)).Milliseconds()
			if amount, ok := ledger.Cost(ledger.Micros(price), u.GPUMillis); ok && refused == nil {
				// Refused outputs (a failed audit, malformed) are worth nothing.
				u.Amount = pricing.Micros(amount)
				u.RequesterFee = pricing.Micros(ledger.Fee(amount))
				u.ProviderFee = u.RequesterFee
			}
			j.view.Charged.addUsage(u)
		}
		j.view.Usage = append(j.view.Usage, u)
		disputed := ""
		if refused != nil {
			disputed = "refused: " + refused.Error()
		}
		if neverRan {
			j.view.Usage[len(j.view.Usage)-1].Settlement = "nothing served: no receipt"
		} else {
			m.settle(j, mb, len(j.view.Usage)-1, o, lost, disputed)
		}
	}
	m.mu.Unlock()
	switch {
	case refused != nil:
		m.d.Book.Record(mb.peer, reputation.Violation, refused.Error())
		m.d.Book.Record(mb.peer, reputation.JobFailed, refused.Error())
	case errors.Is(err, run.ErrBusy):
		// Refused for want of capacity, before anything ran: not its fault.
	case lost:
		m.d.Book.Record(mb.peer, reputation.JobFailed, "lost mid-job: "+err.Error())
	case err != nil && ctx.Err() == nil:
		m.d.Book.Record(mb.peer, reputation.JobFailed, err.Error())
	case err == nil:
		m.d.Book.Record(mb.peer, reputation.JobCompleted, j.req.ID)
	}
	return o, err
}

// errNeverRan: a provider lost before it was heard from after answering
// the run request, or before it answered.
var errNeverRan = errors.New("never started the work")

// minAnswerTimeout is the least time a provider has to answer a run request.
const minAnswerTimeout = time.Second

// answerTimeout is how long a provider has to answer a run request: as
// long as it may stay silent while it runs, at least minAnswerTimeout.
func (m *Market) answerTimeout() time.Duration {
	return max(time.Duration(m.cfg.HeartbeatTolerance)*time.Duration(m.cfg.HeartbeatInterval), minAnswerTimeout)
}

// failureText says why a provider's ranks did not succeed.
func failureText(o run.Outcome, ranks []int, err error) string {
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
func (m *Market) onRunEvent(j *job, mb *member, e run.Event) {
	if e.Kind == run.KindLog {
		if e.Line != nil {
			m.addLog(j, LogLine{At: e.Line.At, Rank: e.Rank, Peer: mb.peer.String(), Stream: e.Line.Stream, Text: e.Line.Text})
		}
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch e.Kind {
	case run.KindState:
		j.event("started", mb.peer, "rank %d %s on %s", e.Rank, e.State, short(mb.peer))
	case run.KindResult:
		if e.Result != nil {
			j.event("result", mb.peer, "rank %d %s, exit %d%s; %s", e.Rank, e.Result.Status, e.Result.ExitCode,
				prefixed(": ", e.Result.Reason), plural(len(e.Outputs), "output"))
		}
	}
}

// workSpec is the executor spec and the files of the job's work.
func (m *Market) workSpec(j *job) (executor.Spec, map[string]string, error) {
	s := j.view.Spec
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
	case s.Image != "":
		spec.Docker = &executor.DockerSpec{Image: s.Image}
	case s.Command != "":
		spec.Process = &executor.ProcessSpec{Command: s.Command}
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

// Cancel stops a job this node requested: bidding ends, held awards are
// released, running work is cancelled on every provider.
func (m *Market) Cancel(id string) error {
	m.mu.Lock()
	j := m.jobs[id]
	if j == nil {
		m.mu.Unlock()
		return ErrUnknownJob
	}
	cancel := j.cancel
	j.closed = true
	m.mu.Unlock()
	m.finish(j, StateFailed, "cancelled by the requester")
	if cancel != nil {
		cancel() // awards held are released, running work is cancelled
	}
	return nil
}
