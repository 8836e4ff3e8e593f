//go:build linux

package executor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// envFoldsCase: Linux environment names are case-sensitive.
const envFoldsCase = false

// processSupported: Linux enforces every limit the process executor has.
func processSupported() error { return nil }

// osEnv is the part of a job's base environment Linux programs need.
func osEnv(string) map[string]string {
	return map[string]string{"PATH": "/usr/local/bin:/usr/bin:/bin"}
}

// startGroup starts the command newCmd makes as the leader of a process
// group of its own, with lim's rlimits in force from its first
// instruction (see startLimited). limitsErr is why the limits could not
// be set (the job must then not run on); err is why nothing started.
// With a network, the command starts in a network namespace of its own
// (CLONE_NEWNET: the kernel makes it as it forks, no thread of the
// provider ever enters it) and network.Attach gives that namespace the
// job's interface before the command runs.
func startGroup(newCmd func() *exec.Cmd, lim Limits, devs []Device, network *Network) (cmd *exec.Cmd, g procGroup, limitsErr, err error) {
	if network != nil && network.joinNS != nil {
		return startJoined(newCmd, lim, devs, network.joinNS)
	}
	grouped := func() *exec.Cmd {
		c := newCmd()
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if network != nil {
			c.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET
		}
		return c
	}
	var attach func(int) error
	if network != nil {
		attach = network.Attach
	}
	cmd, limitsErr, err = startLimited(grouped, lim, memoryRlimit(devs), attach)
	if err != nil {
		if network != nil && errors.Is(err, syscall.EPERM) {
			err = fmt.Errorf("a network namespace of its own needs root (CAP_SYS_ADMIN): %w", err)
		}
		return nil, nil, nil, err
	}
	return cmd, &pgroup{pid: cmd.Process.Pid, lim: lim}, limitsErr, nil
}

// startJoined is startGroup for a process that joins the network
// namespace ns another of the job's processes runs in. The command is
// started from an OS thread locked to a goroutine of its own that enters
// ns first (a child inherits its parent thread's namespace) and goes back
// to its own after; a thread that could not go back is never handed back
// to the runtime (it ends with its goroutine), so no other goroutine of
// the provider ever runs in the job's namespace.
func startJoined(newCmd func() *exec.Cmd, lim Limits, devs []Device, ns *os.File) (*exec.Cmd, procGroup, error, error) {
	type started struct {
		cmd       *exec.Cmd
		limitsErr error
		err       error
	}
	done := make(chan started, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- started{err: fmt.Errorf("the provider's network namespace: %w", err)}
			return
		}
		defer own.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- started{err: fmt.Errorf("enter the job's network namespace: %w", err)}
			return
		}
		grouped := func() *exec.Cmd {
			c := newCmd()
			c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			return c
		}
		cmd, limitsErr, err := startLimited(grouped, lim, memoryRlimit(devs), nil)
		if unix.Setns(int(own.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread() // back in the provider's namespace
		}
		done <- started{cmd, limitsErr, err}
	}()
	s := <-done
	if s.err != nil {
		return nil, nil, nil, s.err
	}
	return s.cmd, &pgroup{pid: s.cmd.Process.Pid, lim: lim}, s.limitsErr, nil
}

// openNetNS opens the network namespace process pid runs in, for
// startJoined.
func openNetNS(pid int) (*os.File, error) {
	return os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
}

// pgroup is a job's process group under rlimits.
type pgroup struct {
	pid int // the leader's, which is the group's id
	lim Limits
}

// Kill implements procGroup: SIGKILL to the whole group.
func (g *pgroup) Kill() { _ = syscall.Kill(-g.pid, syscall.SIGKILL) }

// Release implements procGroup: the group may have children left, which
// end with the leader.
func (g *pgroup) Release() { g.Kill() }

// Limit implements procGroup: SIGXCPU is RLIMIT_CPU, SIGXFSZ RLIMIT_FSIZE.
func (g *pgroup) Limit(ps *os.ProcessState) (string, bool) {
	switch {
	case signalled(ps, syscall.SIGXCPU):
		return fmt.Sprintf("CPU time over %s", g.lim.CPU), true
	case signalled(ps, syscall.SIGXFSZ):
		return fmt.Sprintf("an output file over %d bytes", g.lim.OutputBytes), true
	}
	return "", false
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
// attach, if set, is called with the child's pid at the same point as
// its limits are set; an error kills the child and is err.
func startLimited(newCmd func() *exec.Cmd, lim Limits, memory int, attach func(int) error) (cmd *exec.Cmd, limitsErr, err error) {
	cmd = newCmd()
	cmd.SysProcAttr.Ptrace = true
	runtime.LockOSThread() // ptrace requests must come from the tracing thread
	defer runtime.UnlockOSThread()
	if err = cmd.Start(); errors.Is(err, syscall.EPERM) {
		cmd = newCmd()
		if err = cmd.Start(); err != nil {
			return nil, nil, err
		}
		if err := attachTo(cmd, attach); err != nil {
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
	if err := attachTo(cmd, attach); err != nil {
		return nil, nil, err
	}
	if err := unix.PtraceDetach(pid); err != nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return nil, nil, fmt.Errorf("let the child go: %w", err)
	}
	return cmd, limitsErr, nil
}

// attachTo calls attach, if set, with cmd's pid; on an error it kills
// cmd's group and reaps it.
func attachTo(cmd *exec.Cmd, attach func(int) error) error {
	if attach == nil {
		return nil
	}
	pid := cmd.Process.Pid
	if err := attach(pid); err != nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return fmt.Errorf("attach the job's network: %w", err)
	}
	return nil
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

func signalled(ps *os.ProcessState, sig syscall.Signal) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// The process executor's memory limit. RLIMIT_AS bounds a process's
// address space, which is what CPU work's memory limit should be, but
// the CUDA driver reserves tens of GiB of address space at start-up
// (PROT_NONE mappings for unified addressing, sized by the GPUs' memory),
// so CUDA cannot start under a few GiB of RLIMIT_AS. RLIMIT_DATA (Linux
// 4.7 and later) counts only private writable mappings, the heap and
// anonymous memory a program can write: CUDA's reservations, and device
// memory mapped shared from /dev/nvidia*, are not counted, while every
// byte of host memory the job can write is. So a job that holds GPUs
// gets RLIMIT_DATA at the memory limit, and a job without GPUs keeps
// RLIMIT_AS.

// memoryRlimit is the resource that bounds the memory of a process job
// holding devs: RLIMIT_DATA for GPU work, RLIMIT_AS otherwise.
func memoryRlimit(devs []Device) int {
	if len(devs) > 0 {
		return unix.RLIMIT_DATA
	}
	return unix.RLIMIT_AS
}
