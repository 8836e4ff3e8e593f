package executor

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A per-device worker (ProcessSpec.PerDevice or DockerSpec.PerDevice,
// holding several devices) runs one process of its command, or one
// container of its image, per device, as torchrun's
// --nproc-per-node does: process i sees only device i
// (CUDA_VISIBLE_DEVICES), and its environment says where it stands:
//
//   - LOCAL_RANK = i, LOCAL_WORLD_SIZE = the worker's devices (n);
//   - NODE_RANK = the worker's rank, GROUP_RANK the same;
//   - RANK = NODE_RANK*n + i and WORLD_SIZE = workers*n: every worker of
//     a job holds the same number of devices (the job's gpus), so the
//     processes of earlier workers number NODE_RANK*n;
//   - MASTER_ADDR and MASTER_PORT as the job's network gives them, or
//     127.0.0.1:29500 for a job of one worker without one.
//
// All of them run in one network namespace (the first process's, or the
// holder container's, which gets the job's interface), so they reach each other on loopback and
// the other workers on the job's network. Each line of their logs starts
// "[local_rank i] "; their outputs share the worker's outputs folder. The
// worker fails if any process fails: the others are then stopped, and the
// result says which process failed first.

// perDeviceMasterPort is MASTER_PORT for a one-worker job without a job
// network: torch.distributed's default.
const perDeviceMasterPort = "29500"

// localRank is one process or container of a per-device worker: a
// procHandle or a dockerHandle writing to the worker's logs.
type localRank interface {
	Wait(ctx context.Context) (Result, error)
	stop(status Status, reason string)
}

// perDevice is a per-device worker's handle over its processes or
// containers.
type perDevice struct {
	outputs     string // the worker's outputs folder
	outputLimit int64  // its limit (Limits.OutputBytes)
	cleanup     func() // run once every local rank ended, before the result is set; may be nil

	mu    sync.Mutex
	procs []localRank // grows while Start runs, under mu
	outcome
}

// newPerDevice returns a per-device worker's handle with logs under lim,
// for its local ranks to be added to.
func newPerDevice(outputs string, lim Limits, cleanup func()) *perDevice {
	h := &perDevice{outputs: outputs, outputLimit: lim.OutputBytes, cleanup: cleanup}
	h.outcome = newOutcome(h.stopAll)
	h.logs = NewLogs(lim.OutputBytes, func() { h.stopAll(StatusLimit, fmt.Sprintf("output over %d bytes", lim.OutputBytes)) })
	return h
}

// add records local rank p, started.
func (h *perDevice) add(p localRank) {
	h.mu.Lock()
	h.procs = append(h.procs, p)
	h.mu.Unlock()
}

// all is the local ranks started so far.
func (h *perDevice) all() []localRank {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.procs)
}

// localRankPrefix starts each log line of local rank i.
func localRankPrefix(i int) string { return fmt.Sprintf("[local_rank %d] ", i) }

// startPerDevice starts one process of argv per device of job; lim
// bounds each process.
func startPerDevice(job Job, argv []string, lim Limits) (Handle, error) {
	h := newPerDevice(filepath.Join(job.Dir, "outputs"), lim, nil)
	network := job.Network
	var ns *os.File // the job's namespace, once the first process is in it
	defer func() {
		if ns != nil {
			_ = ns.Close() // the other processes are started by then
		}
	}()
	if network != nil {
		// The namespace is opened while the first process is held before
		// its first instruction: a process that already ended has none.
		attach := network.Attach
		network = &Network{Env: network.Env, Attach: func(pid int) error {
			if attach != nil {
				if err := attach(pid); err != nil {
					return err
				}
			}
			var err error
			if ns, err = openNetNS(pid); err != nil {
				return fmt.Errorf("the job's network namespace: %w", err)
			}
			return nil
		}}
	}
	for i, d := range job.Devices {
		p := &procHandle{limits: lim, dir: job.Dir, sharedLogs: true}
		p.outcome = newOutcome(p.stop)
		p.logs = h.logs
		env := overrideEnv(processEnv(job), perDeviceEnv(job, i, d))
		if err := p.start(argv, job, env, localRankPrefix(i), []Device{d}, network); err != nil {
			h.abort()
			return nil, fmt.Errorf("local rank %d: %w", i, err)
		}
		h.add(p)
		if i == 0 && network != nil {
			if ns == nil { // Attach was not called: never start the others in a namespace without the job's network
				h.abort()
				return nil, fmt.Errorf("%w: the first process's network namespace is unknown", ErrUnavailable)
			}
			network = &Network{Env: job.Network.Env, joinNS: ns}
		}
	}
	go h.wait()
	return h, nil
}

// perDeviceEnv is the environment process i of job's worker, holding
// device d, gets over the worker's own (see the comment above perDevice).
func perDeviceEnv(job Job, i int, d Device) map[string]string {
	n := len(job.Devices)
	rankOf := func(names ...string) int { // the worker's rank and world size as the network or the run gives them
		for _, name := range names {
			v, ok := job.Env[name]
			if job.Network != nil {
				if nv, nok := job.Network.Env[name]; nok {
					v, ok = nv, true
				}
			}
			if n, err := strconv.Atoi(v); ok && err == nil && n >= 0 {
				return n
			}
		}
		return -1
	}
	node, workers := max(rankOf("NODE_RANK", "GPUMESH_RANK"), 0), max(rankOf("GPUMESH_WORLD_SIZE", "WORLD_SIZE"), 1)
	env := DeviceEnv([]Device{d})
	maps.Copy(env, map[string]string{
		"LOCAL_RANK":         strconv.Itoa(i),
		"LOCAL_WORLD_SIZE":   strconv.Itoa(n),
		"NODE_RANK":          strconv.Itoa(node),
		"GROUP_RANK":         strconv.Itoa(node),
		"RANK":               strconv.Itoa(node*n + i),
		"WORLD_SIZE":         strconv.Itoa(workers * n),
		"GPUMESH_LOCAL_RANK": strconv.Itoa(i),
	})
	if job.Network == nil && workers == 1 {
		env["MASTER_ADDR"], env["MASTER_PORT"] = "127.0.0.1", perDeviceMasterPort
	}
	return env
}

// overrideEnv is env ("K=V" lines) with over's names set to over's values.
func overrideEnv(env []string, over map[string]string) []string {
	out := make([]string, 0, len(env)+len(over))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := over[k]; !ok {
			out = append(out, kv)
		}
	}
	for k, v := range over {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// stopAll stops every process, recording why on each.
func (h *perDevice) stopAll(status Status, reason string) {
	for _, p := range h.all() {
		p.stop(status, reason)
	}
}

// abort kills the local ranks started so far and waits for them, when a
// later one could not start, then runs the cleanup.
func (h *perDevice) abort() {
	h.stopAll(StatusFailed, "another local rank of the worker did not start")
	for _, p := range h.all() {
		_, _ = p.Wait(context.Background())
	}
	h.logs.Close()
	if h.cleanup != nil {
		h.cleanup()
	}
}

// wait waits for every process and records the worker's result: the
// first process to end without succeeding decides it (the others are
// stopped then), else the worker succeeded.
func (h *perDevice) wait() {
	type ended struct {
		i   int
		res Result
	}
	ends := make(chan ended, len(h.procs))
	for i, p := range h.procs {
		go func() {
			res, _ := p.Wait(context.Background()) // never ends early: the context never does
			ends <- ended{i, res}
		}()
	}
	var first *ended
	started, last := time.Now(), time.Time{}
	for range h.procs {
		e := <-ends
		started = minTime(started, e.res.Started)
		last = maxTime(last, e.res.Ended)
		if e.res.Status != StatusSucceeded && first == nil {
			first = &e
			for j, p := range h.procs {
				if j != e.i {
					p.stop(StatusCancelled, fmt.Sprintf("local rank %d ended %s", e.i, e.res.Status))
				}
			}
		}
	}
	h.logs.Close()
	if h.cleanup != nil {
		h.cleanup()
	}
	res := Result{Status: StatusSucceeded, Started: started, Ended: last}
	if first != nil {
		res.Status, res.ExitCode = first.res.Status, first.res.ExitCode
		res.Reason = fmt.Sprintf("local rank %d of %d: %s", first.i, len(h.procs), first.res.Reason)
	}
	h.finish(res, h.outputs, h.outputLimit)
}

func minTime(a, b time.Time) time.Time {
	if !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
