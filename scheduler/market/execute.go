package market

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// maxLogEvents bounds the log lines a job keeps as events; later lines
// are counted, not kept.
const maxLogEvents = 10000

// execute runs the job's work on its formed cluster over /gpumesh/run/1,
// one stream per provider, and records each rank's result and outputs.
func (m *Market) execute(ctx context.Context, j *job, cluster []*member) {
	spec, files, err := m.workSpec(j)
	if err != nil {
		m.releaseAll(ctx, j, heldOf(cluster), "the work could not be prepared")
		m.finish(j, StateFailed, "the work could not be prepared: "+err.Error())
		return
	}
	peers := make([]string, j.req.Workers)
	for _, mb := range cluster {
		for _, r := range mb.ranks {
			peers[r] = mb.peer.String()
		}
	}
	out := filepath.Join(m.d.ResultsDir, j.req.ID)
	ctx, cancel := context.WithCancelCause(ctx)
	m.mu.Lock()
	j.view.State = StateRunning
	j.view.Results = out
	j.event("run", "", "starting the work on %s: %s %s", plural(len(cluster), "provider"), spec.Executor, j.req.Workload)
	m.mu.Unlock()
	defer cancel(nil)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for _, mb := range cluster {
		wg.Go(func() {
			req := &run.RunRequest{Job: j.req.ID, Ranks: mb.ranks, WorldSize: j.req.Workers, Peers: peers, Spec: spec}
			o, err := run.Run(ctx, m.d.Host, m.d.Key, mb.peer, req, files, out, func(e run.Event) { m.onRunEvent(j, mb, e) })
			if err != nil && ctx.Err() != nil && context.Cause(ctx) != nil {
				err = context.Cause(ctx)
			}
			served := 0.0
			if !o.Started.IsZero() && !o.Ended.IsZero() {
				served = o.Ended.Sub(o.Started).Seconds()
			}
			m.mu.Lock()
			for _, r := range mb.ranks {
				w := WorkerResult{Rank: r, Peer: mb.peer.String(), Seconds: served}
				if res, ok := o.Results[r]; ok {
					w.Result = res
				}
				for _, f := range o.Outputs[r] {
					w.Outputs = append(w.Outputs, f.Name)
				}
				if err != nil {
					w.Error = err.Error()
				}
				j.view.Workers = append(j.view.Workers, w)
			}
			m.mu.Unlock()
			ok := err == nil
			for _, r := range mb.ranks {
				if res, has := o.Results[r]; !has || res.Status != executor.StatusSucceeded {
					ok = false
				}
			}
			switch {
			case errors.Is(err, run.ErrProviderLost):
				m.d.Book.Record(mb.peer, reputation.JobFailed, "lost mid-job: "+err.Error())
			case err != nil && ctx.Err() == nil:
				m.d.Book.Record(mb.peer, reputation.JobFailed, err.Error())
			case err == nil:
				m.d.Book.Record(mb.peer, reputation.JobCompleted, j.req.ID)
			}
			if !ok {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("%s (ranks %v): %s", short(mb.peer), mb.ranks, failureText(o, mb.ranks, err)))
				mu.Unlock()
				// One worker failing ends the cluster's work.
				cancel(fmt.Errorf("stopped: the work of %s failed", short(mb.peer)))
			}
		})
	}
	wg.Wait()
	m.mu.Lock()
	sort.Slice(j.view.Workers, func(a, b int) bool { return j.view.Workers[a].Rank < j.view.Workers[b].Rank })
	m.mu.Unlock()
	if len(failures) > 0 {
		sort.Strings(failures)
		m.finish(j, StateFailed, "the work failed: "+strings.Join(failures, "; "))
		return
	}
	m.mu.Lock()
	j.event("done", "", "every worker succeeded; outputs under %s", out)
	m.mu.Unlock()
	m.finish(j, StateSucceeded, "")
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

// onRunEvent turns a provider's run event into a job event.
func (m *Market) onRunEvent(j *job, mb *member, e run.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch e.Kind {
	case run.KindState:
		j.event("started", mb.peer, "rank %d %s on %s", e.Rank, e.State, short(mb.peer))
	case run.KindLog:
		if e.Line == nil {
			return
		}
		if j.logs >= maxLogEvents {
			j.dropped++
			return
		}
		j.logs++
		j.event("log", mb.peer, "[%d] %s", e.Rank, e.Line.Text)
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
