//go:build windows

package executor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// envFoldsCase: Windows environment names ignore case, so a job's "Path"
// is the provider's PATH.
const envFoldsCase = true

// processSupported: a job object enforces the process executor's CPU and
// memory limits and kills the whole tree; each output file's size is
// bounded only by the outputs watcher (Windows has no RLIMIT_FSIZE).
func processSupported() error { return nil }

// osEnv is the part of a job's base environment Windows programs need:
// the system folders (many programs fail without SystemRoot) and the
// job's folder for temporary files and the profile.
func osEnv(dir string) map[string]string {
	root := os.Getenv("SystemRoot")
	if root == "" {
		root = `C:\Windows`
	}
	sys32 := filepath.Join(root, "System32")
	return map[string]string{"PATH": sys32 + ";" + root, "SystemRoot": root, "windir": root,
		"TEMP": dir, "TMP": dir, "USERPROFILE": dir}
}

// errQuota is the exit status Windows gives the processes of a job object
// it ends for going over its CPU time (ERROR_NOT_ENOUGH_QUOTA).
const errQuota = 1816

// startGroup starts the command newCmd makes suspended, puts it in a new
// job object holding lim's CPU time and memory limits and killing every
// process in it when closed, and only then lets it run: nothing it starts
// escapes the job. If the job object cannot hold it, it is killed before
// it ran an instruction, and err says why. A job network is refused:
// Windows has no network namespaces.
func startGroup(newCmd func() *exec.Cmd, lim Limits, _ []Device, network *Network) (cmd *exec.Cmd, g procGroup, limitsErr, err error) {
	if network != nil {
		return nil, nil, nil, fmt.Errorf("%w: job networks need Linux's network namespaces", ErrNotAllowed)
	}
	job, err := newJobObject(lim)
	if err != nil {
		return nil, nil, nil, err
	}
	cmd = newCmd()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		CreationFlags: windows.CREATE_SUSPENDED | windows.CREATE_NEW_PROCESS_GROUP,
		HideWindow:    true,
	}
	if err := cmd.Start(); err != nil {
		_ = windows.CloseHandle(job)
		return nil, nil, nil, err
	}
	if err := assignAndResume(job, uint32(cmd.Process.Pid)); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = windows.CloseHandle(job)
		return nil, nil, nil, fmt.Errorf("put the job in a job object: %w", err)
	}
	return cmd, &jobGroup{job: job, lim: lim}, nil, nil
}

// newJobObject makes a job object that kills its processes when closed
// and holds lim's CPU time (user time of all its processes together) and
// committed memory (of all its processes together).
func newJobObject(lim Limits) (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, fmt.Errorf("create job object: %w", err)
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | windows.JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION
	if lim.CPU > 0 {
		info.BasicLimitInformation.LimitFlags |= windows.JOB_OBJECT_LIMIT_JOB_TIME
		info.BasicLimitInformation.PerJobUserTimeLimit = int64(lim.CPU / 100) // in 100 ns
	}
	if lim.MemoryBytes > 0 {
		info.BasicLimitInformation.LimitFlags |= windows.JOB_OBJECT_LIMIT_JOB_MEMORY
		info.JobMemoryLimit = uintptr(lim.MemoryBytes)
	}
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		_ = windows.CloseHandle(job)
		return 0, fmt.Errorf("set job object limits: %w", err)
	}
	return job, nil
}

// assignAndResume puts the suspended process pid in job and resumes its
// threads (a process created suspended has one).
func assignAndResume(job windows.Handle, pid uint32) error {
	proc, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, pid)
	if err != nil {
		return fmt.Errorf("open process %d: %w", pid, err)
	}
	defer windows.CloseHandle(proc)
	if err := windows.AssignProcessToJobObject(job, proc); err != nil {
		return fmt.Errorf("assign process %d: %w", pid, err)
	}
	return resumeThreads(pid)
}

// resumeThreads resumes every thread of process pid, found through a
// thread snapshot (os/exec keeps no handle to the first thread).
func resumeThreads(pid uint32) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return fmt.Errorf("snapshot threads: %w", err)
	}
	defer windows.CloseHandle(snap)
	te := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	resumed := 0
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != pid {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if err != nil {
			return fmt.Errorf("open thread %d: %w", te.ThreadID, err)
		}
		_, err = windows.ResumeThread(th)
		_ = windows.CloseHandle(th)
		if err != nil {
			return fmt.Errorf("resume thread %d: %w", te.ThreadID, err)
		}
		resumed++
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return fmt.Errorf("list threads: %w", err)
	}
	if resumed == 0 {
		return fmt.Errorf("process %d has no thread to resume", pid)
	}
	return nil
}

// jobGroup is a job's processes in a job object.
type jobGroup struct {
	lim Limits

	mu  sync.Mutex
	job windows.Handle // 0 once released
}

// Kill implements procGroup: every process in the job object ends.
func (g *jobGroup) Kill() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.job != 0 {
		_ = windows.TerminateJobObject(g.job, 1)
	}
}

// Release implements procGroup: closing the job object kills what is
// left in it (KILL_ON_JOB_CLOSE).
func (g *jobGroup) Release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.job != 0 {
		_ = windows.TerminateJobObject(g.job, 1)
		_ = windows.CloseHandle(g.job)
		g.job = 0
	}
}

// Limit implements procGroup: the job object ends its processes with
// ERROR_NOT_ENOUGH_QUOTA at its CPU limit; at its memory limit
// allocations fail, so a failed job whose peak commit reached the limit
// is over it.
func (g *jobGroup) Limit(ps *os.ProcessState) (string, bool) {
	if ps.ExitCode() == errQuota && g.lim.CPU > 0 {
		return fmt.Sprintf("CPU time over %s", g.lim.CPU.Round(time.Second)), true
	}
	if ps.Success() || g.lim.MemoryBytes <= 0 {
		return "", false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.job == 0 {
		return "", false
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	if err := windows.QueryInformationJobObject(g.job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), nil); err != nil {
		return "", false
	}
	// A refused allocation leaves the peak just under the limit.
	if int64(info.PeakJobMemoryUsed) >= g.lim.MemoryBytes-(1<<20) {
		return fmt.Sprintf("memory over %d bytes", g.lim.MemoryBytes), true
	}
	return "", false
}

// openNetNS: only Linux gives a job a network namespace.
func openNetNS(int) (*os.File, error) {
	return nil, fmt.Errorf("%w: network namespaces are Linux's", ErrUnavailable)
}
