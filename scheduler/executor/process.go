package executor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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

// DefaultProcessLimits are the process executor's limits when the
// provider sets none.
var DefaultProcessLimits = Limits{Wall: time.Hour, CPU: time.Hour, MemoryBytes: 2 << 30, OutputBytes: 64 << 20}

// Process runs allowlisted commands as child processes, for data centers
// with preinstalled stacks. It is a trust boundary only as far as the
// allowlist is: the command sees the host as the provider's user does.
// Limits: wall time (the process group is killed), CPU time and memory
// (RLIMIT_CPU; RLIMIT_AS, or RLIMIT_DATA for a job holding GPUs, which
// CUDA's address-space reservations would break under RLIMIT_AS: see
// memoryRlimit; set on the child right after it starts),
// logs (OutputBytes), and the outputs folder (OutputBytes): each file by
// RLIMIT_FSIZE at write time, the folder's apparent size watched every
// 100 ms (see watchOutputs). PIDs is not enforced
// (RLIMIT_NPROC counts the whole user, not the job).
type Process struct {
	cfg ProcessConfig
}

// NewProcess returns a process executor for cfg.
func NewProcess(cfg ProcessConfig) (*Process, error) {
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
	h := &procHandle{limits: lim, dir: job.Dir}
	h.outcome = newOutcome(h.stop)
	h.logs = NewLogs(lim.OutputBytes, func() { h.stop(StatusLimit, fmt.Sprintf("output over %d bytes", lim.OutputBytes)) })
	newCmd := func() *exec.Cmd {
		cmd := exec.Command(argv[0], append(append([]string{}, argv[1:]...), job.Spec.Args...)...)
		cmd.Dir = job.Dir
		cmd.Env = processEnv(job)
		cmd.Stdout, cmd.Stderr = h.logs.Writer("stdout"), h.logs.Writer("stderr")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd
	}
	cmd, limitsErr, err := startLimited(newCmd, lim, memoryRlimit(job.Devices))
	if err != nil {
		return nil, fmt.Errorf("%w: start %s: %w", ErrUnavailable, argv[0], err)
	}
	h.cmd = cmd
	h.started = time.Now()
	pid := cmd.Process.Pid
	h.pid.Store(int64(pid))
	h.mu.Lock()
	stopped := h.status != ""
	h.mu.Unlock()
	if stopped { // the logs hit their limit before the pid was known
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	if limitsErr != nil {
		h.stop(StatusFailed, "could not set limits: "+limitsErr.Error())
	}
	go h.run(lim.Wall)
	go h.watchOutputs(lim.OutputBytes)
	return h, nil
}

// startLimited starts the command newCmd makes with lim's rlimits in
// force from its first instruction: the child is traced, so it stops
// right after its exec, gets its limits, and is let go untraced. Limits
// set after the program runs would let it write (truncate an output to 8
// GiB, say) before they hold. Where tracing is not permitted (EPERM: a
// seccomp policy, Yama) the command starts untraced and gets its limits
// right after, as before. limitsErr is why the limits could not be set
// (the job must then not run on); err is why nothing started. A traced
// exec does not take a set-user-ID bit unless the provider may trace the
// new identity: an allowlisted setuid program runs as the provider.
func startLimited(newCmd func() *exec.Cmd, lim Limits, memory int) (cmd *exec.Cmd, limitsErr, err error) {
	cmd = newCmd()
	cmd.SysProcAttr.Ptrace = true
	runtime.LockOSThread() // ptrace requests must come from the tracing thread
	defer runtime.UnlockOSThread()
	if err = cmd.Start(); errors.Is(err, syscall.EPERM) {
		cmd = newCmd()
		if err = cmd.Start(); err != nil {
			return nil, nil, err
		}
		return cmd, setLimits(cmd.Process.Pid, lim, memory), nil
	} else if err != nil {
		return nil, nil, err
	}
	pid := cmd.Process.Pid
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil || !ws.Stopped() {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return nil, nil, fmt.Errorf("child did not stop after exec (status %v): %w", ws, err)
	}
	limitsErr = setLimits(pid, lim, memory)
	if err := unix.PtraceDetach(pid); err != nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return nil, nil, fmt.Errorf("let the child go: %w", err)
	}
	return cmd, limitsErr, nil
}

// setLimits sets the rlimits of lim on process pid: CPU time, memory (as
// the resource memory, RLIMIT_AS or RLIMIT_DATA: see memoryRlimit), and
// the size of any file it writes.
func setLimits(pid int, lim Limits, memory int) error {
	var errs []error
	if lim.CPU > 0 {
		secs := uint64((lim.CPU + time.Second - 1) / time.Second)
		errs = append(errs, unix.Prlimit(pid, unix.RLIMIT_CPU, &unix.Rlimit{Cur: secs, Max: secs + 1}, nil))
	}
	if lim.MemoryBytes > 0 {
		m := uint64(lim.MemoryBytes)
		errs = append(errs, unix.Prlimit(pid, memory, &unix.Rlimit{Cur: m, Max: m}, nil))
	}
	if lim.OutputBytes > 0 {
		// No file the job writes may grow past the outputs limit, sparse
		// or not (the kernel refuses with EFBIG and SIGXFSZ); the total
		// of the outputs folder is watched by watchOutputs.
		f := uint64(lim.OutputBytes)
		errs = append(errs, unix.Prlimit(pid, unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: f, Max: f}, nil))
	}
	return errors.Join(errs...)
}

// processEnv is the child's whole environment, built by the provider:
// its fixed base (PATH, HOME, where the job's folders are) over the job's
// variables, which Start has checked against the allowlist. The host's
// environment is not passed on.
func processEnv(job Job) []string {
	base := map[string]string{"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": job.Dir,
		"GPUMESH_INPUTS": filepath.Join(job.Dir, "inputs"), "GPUMESH_OUTPUTS": filepath.Join(job.Dir, "outputs")}
	maps.Copy(base, DeviceEnv(job.Devices)) // exactly its GPUs, none when it holds none
	env := make([]string, 0, len(base)+len(job.Env))
	for k, v := range job.Env {
		if _, fixed := base[k]; !fixed {
			env = append(env, k+"="+v)
		}
	}
	for k, v := range base {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
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
	pid atomic.Int64 // the process group, once started

	mu     sync.Mutex
	status Status // set by stop before the process ends
	reason string
}

// stop kills the process group, recording why, once.
func (h *procHandle) stop(status Status, reason string) {
	h.mu.Lock()
	if h.status == "" {
		h.status, h.reason = status, reason
	}
	h.mu.Unlock()
	if pid := h.pid.Load(); pid > 0 {
		_ = syscall.Kill(-int(pid), syscall.SIGKILL)
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
	// The group may have children left: end them with the leader.
	_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
	h.logs.Close()
	res := Result{Started: h.started, Ended: time.Now(), ExitCode: h.cmd.ProcessState.ExitCode()}
	h.mu.Lock()
	status, reason := h.status, h.reason
	h.mu.Unlock()
	switch {
	case status != "":
		res.Status, res.Reason = status, reason
	case signalled(h.cmd.ProcessState, syscall.SIGXCPU):
		res.Status, res.Reason = StatusLimit, fmt.Sprintf("CPU time over %s", h.limits.CPU)
	case signalled(h.cmd.ProcessState, syscall.SIGXFSZ), err != nil && h.outputsFull():
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

func signalled(ps *os.ProcessState, sig syscall.Signal) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
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
