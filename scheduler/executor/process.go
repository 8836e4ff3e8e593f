package executor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// ProcessConfig is what the process executor may run.
type ProcessConfig struct {
	// Allow maps a command name a job may ask for to the program and fixed
	// arguments it runs: {"train": {"/opt/stack/bin/train", "--quiet"}}.
	// Nothing else runs.
	Allow map[string][]string
	// Env names the job environment variables a job may set: exact names
	// or path.Match patterns ("OMP_*"). Empty, the default, lets a job set
	// none of its own; the provider's GPUMESH_ variables always pass.
	// Loader, path and interpreter variables (see EnvNeverAllowed) are
	// refused whatever Env says. A job setting any other name is refused
	// at Start (ErrEnvRefused), not run with the name dropped.
	Env []string
	// Limits cap every job's; zero fields take DefaultProcessLimits'.
	Limits Limits
}

// ErrOSUnsupported is wrapped by NewProcess on a system where the process
// executor cannot enforce its limits (macOS, the BSDs): it refuses rather
// than run a job unbounded.
var ErrOSUnsupported = errors.New("cannot enforce the process executor's limits on this operating system")

// DefaultProcessLimits are the process executor's limits when the
// provider sets none.
var DefaultProcessLimits = Limits{Wall: time.Hour, CPU: time.Hour, MemoryBytes: 2 << 30, OutputBytes: 64 << 20}

// Process runs allowlisted commands as child processes, for data centers
// with preinstalled stacks. It is a trust boundary only as far as the
// allowlist is: the command sees the host as the provider's user does.
// Limits: wall time (the whole group is killed), logs (OutputBytes) and
// the outputs folder's apparent size, watched every 100 ms (see
// watchOutputs), on every OS; CPU time, memory and each output file's size
// as the OS allows (see startGroup in process_linux.go and
// process_windows.go): on Linux by rlimits in force from the child's
// first instruction, on Windows by a job object. On other systems (macOS:
// its kernel enforces no memory rlimit) NewProcess refuses with
// ErrOSUnsupported rather than run a job unbounded. PIDs is not enforced.
type Process struct {
	cfg ProcessConfig
}

// NewProcess returns a process executor for cfg.
func NewProcess(cfg ProcessConfig) (*Process, error) {
	if err := processSupported(); err != nil {
		return nil, fmt.Errorf("process executor: %w", err)
	}
	for name, argv := range cfg.Allow {
		if len(argv) == 0 || !filepath.IsAbs(argv[0]) {
			return nil, fmt.Errorf("process executor: command %q must map to an absolute program path", name)
		}
	}
	if err := validateEnvAllow(cfg.Env); err != nil {
		return nil, fmt.Errorf("process executor: %w", err)
	}
	cfg.Limits = cfg.Limits.Or(DefaultProcessLimits)
	return &Process{cfg: cfg}, nil
}

// Name implements Executor.
func (*Process) Name() string { return "process" }

// Commands lists the allowlisted command names, sorted.
func (p *Process) Commands() []string {
	out := make([]string, 0, len(p.cfg.Allow))
	for name := range p.cfg.Allow {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Start implements Executor.
func (p *Process) Start(ctx context.Context, job Job) (Handle, error) {
	if job.Spec.Process == nil {
		return nil, fmt.Errorf("%w: no process section", ErrBadSpec)
	}
	argv, ok := p.cfg.Allow[job.Spec.Process.Command]
	if !ok {
		return nil, fmt.Errorf("%w: command %q is not allowlisted (allowed: %v)", ErrNotAllowed, job.Spec.Process.Command, p.Commands())
	}
	if err := stripExec(filepath.Join(job.Dir, "inputs")); err != nil {
		return nil, fmt.Errorf("%w: inputs: %w", ErrUnavailable, err)
	}
	if refused := refusedEnv(job.Env, p.cfg.Env, true); len(refused) > 0 {
		return nil, envRefusedErr(refused, p.cfg.Env)
	}
	if err := checkDevices(job.Devices); err != nil {
		return nil, err
	}
	lim := job.Limits.Cap(p.cfg.Limits)
	if job.Spec.Process.PerDevice && len(job.Devices) > 1 {
		return startPerDevice(job, argv, lim)
	}
	h := &procHandle{limits: lim, dir: job.Dir}
	h.outcome = newOutcome(h.stop)
	h.logs = NewLogs(lim.OutputBytes, func() { h.stop(StatusLimit, fmt.Sprintf("output over %d bytes", lim.OutputBytes)) })
	if err := h.start(argv, job, processEnv(job), "", job.Devices, job.Network); err != nil {
		return nil, err
	}
	return h, nil
}

// start starts h's process: argv with the job's arguments, in the job's
// folder, with env, writing to h's logs (each line after prefix), holding
// devs and in network. h.logs and h.outcome are set already.
func (h *procHandle) start(argv []string, job Job, env []string, prefix string, devs []Device, network *Network) error {
	lim := h.limits
	newCmd := func() *exec.Cmd {
		cmd := exec.Command(argv[0], append(append([]string{}, argv[1:]...), job.Spec.Args...)...)
		cmd.Dir = job.Dir
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = h.logs.PrefixWriter("stdout", prefix), h.logs.PrefixWriter("stderr", prefix)
		return cmd
	}
	cmd, group, limitsErr, err := startGroup(newCmd, lim, devs, network)
	if err != nil {
		return fmt.Errorf("%w: start %s: %w", ErrUnavailable, argv[0], err)
	}
	h.cmd = cmd
	h.started = time.Now()
	h.mu.Lock()
	h.group = group
	stopped := h.status != ""
	h.mu.Unlock()
	if stopped { // the logs hit their limit before the group was known
		group.Kill()
	}
	if limitsErr != nil {
		h.stop(StatusFailed, "could not set limits: "+limitsErr.Error())
	}
	go h.run(lim.Wall)
	go h.watchOutputs(lim.OutputBytes)
	return nil
}

// processEnv is the child's whole environment, built by the provider:
// its fixed base (PATH, HOME, where the job's folders are) over the job's
// variables, which Start has checked against the allowlist. The host's
// environment is not passed on.
func processEnv(job Job) []string {
	base := map[string]string{"HOME": job.Dir,
		"GPUMESH_INPUTS": filepath.Join(job.Dir, "inputs"), "GPUMESH_OUTPUTS": filepath.Join(job.Dir, "outputs")}
	maps.Copy(base, osEnv(job.Dir))         // PATH and what the OS's programs need
	maps.Copy(base, DeviceEnv(job.Devices)) // exactly its GPUs, none when it holds none
	if job.Network != nil {
		maps.Copy(base, job.Network.Env) // the job's network: addresses and ranks
	}
	env := make([]string, 0, len(base)+len(job.Env))
	for k, v := range job.Env {
		if !fixedEnv(base, k) {
			env = append(env, k+"="+v)
		}
	}
	for k, v := range base {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// fixedEnv says whether name is one of base's names, which a job cannot
// set: on Windows, whose environment names ignore case, in any case.
func fixedEnv(base map[string]string, name string) bool {
	if _, ok := base[name]; ok {
		return true
	}
	if envFoldsCase {
		for k := range base {
			if strings.EqualFold(k, name) {
				return true
			}
		}
	}
	return false
}

// stripExec clears the execute bits of every file under dir, so no input
// a requester sent can be run as a program by an allowlisted command
// (the run server stages them 0444 already; this holds whoever staged
// them). Symbolic links are not followed.
func stripExec(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if m := info.Mode().Perm(); m&0o111 != 0 {
			return os.Chmod(p, m&^0o111)
		}
		return nil
	})
}

// procHandle is a running process.
type procHandle struct {
	cmd     *exec.Cmd
	limits  Limits
	dir     string
	started time.Time
	outcome

	// sharedLogs: logs belong to a perDevice handle, which closes them
	// once every process ended.
	sharedLogs bool

	mu     sync.Mutex
	group  procGroup // the job's processes, once started
	status Status    // set by stop before the process ends
	reason string
}

// stop kills the job's processes, recording why, once.
func (h *procHandle) stop(status Status, reason string) {
	h.mu.Lock()
	if h.status == "" {
		h.status, h.reason = status, reason
	}
	g := h.group
	h.mu.Unlock()
	if g != nil {
		g.Kill()
	}
}

// run waits for the process, enforcing the wall limit, and records the result.
func (h *procHandle) run(wall time.Duration) {
	var timer *time.Timer
	if wall > 0 {
		timer = time.AfterFunc(wall, func() { h.stop(StatusLimit, fmt.Sprintf("wall time over %s", wall)) })
	}
	err := h.cmd.Wait()
	if timer != nil {
		timer.Stop()
	}
	h.mu.Lock()
	g := h.group
	h.mu.Unlock()
	// The group may have children left: end them with the leader.
	limitReason, overLimit := g.Limit(h.cmd.ProcessState)
	g.Release()
	if !h.sharedLogs {
		h.logs.Close()
	}
	res := Result{Started: h.started, Ended: time.Now(), ExitCode: h.cmd.ProcessState.ExitCode()}
	h.mu.Lock()
	status, reason := h.status, h.reason
	h.mu.Unlock()
	switch {
	case status != "":
		res.Status, res.Reason = status, reason
	case overLimit:
		res.Status, res.Reason = StatusLimit, limitReason
	case err != nil && h.outputsFull():
		// A child of the command (a shell's) may be the one RLIMIT_FSIZE
		// stopped: a failure with the outputs at their limit is the limit.
		res.Status, res.Reason = StatusLimit, fmt.Sprintf("an output file over %d bytes", h.limits.OutputBytes)
	case err == nil:
		res.Status = StatusSucceeded
	default:
		res.Status, res.Reason = StatusFailed, err.Error()
	}
	h.finish(res, filepath.Join(h.dir, "outputs"), h.limits.OutputBytes)
}

// outputsFull says whether the outputs folder is at its limit.
func (h *procHandle) outputsFull() bool {
	n, err := dirSize(filepath.Join(h.dir, "outputs"))
	return err == nil && h.limits.OutputBytes > 0 && n >= h.limits.OutputBytes
}

// processOutputsEvery is how often a process job's outputs folder is
// measured while it runs.
const processOutputsEvery = 100 * time.Millisecond

// watchOutputs stops the job once its outputs folder's apparent size (a
// sparse file counts whole) is over limit, measuring it every
// processOutputsEvery until the job ends. RLIMIT_FSIZE bounds each file
// exactly; this bounds the total, to within what the job writes between
// two measures.
func (h *procHandle) watchOutputs(limit int64) {
	if limit <= 0 {
		return
	}
	t := time.NewTicker(processOutputsEvery)
	defer t.Stop()
	outputs := filepath.Join(h.dir, "outputs")
	for {
		select {
		case <-h.done:
			return
		case <-t.C:
			if n, err := dirSize(outputs); err == nil && n > limit {
				h.stop(StatusLimit, fmt.Sprintf("outputs of %d bytes, over %d", n, limit))
				return
			}
		}
	}
}

// procGroup is a started job's processes as the OS holds them together
// (a process group under rlimits on Linux, a job object on Windows), so
// that they end together and their limits can be told apart from a plain
// failure.
type procGroup interface {
	// Kill ends every process of the group; it may be called any number
	// of times, before or after the leader ends.
	Kill()
	// Limit says whether the leader, ended as ps says, was stopped by one
	// of the group's limits, and which.
	Limit(ps *os.ProcessState) (reason string, ok bool)
	// Release kills what is left of the group and frees what the OS
	// holds for it, once the leader has ended.
	Release()
}

// dirSize is the total size of the regular files under dir, not following
// symbolic links.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}
