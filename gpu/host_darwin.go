//go:build darwin

package gpu

import (
	"context"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// readHost reads the host through sysctl and statfs (gopsutil's darwin
// code needs a module this one does not require). What it cannot read is
// zero and comes back as a warning.
func readHost(_ context.Context, dataDir string) (Host, []string) {
	h := Host{OS: runtime.GOOS, Arch: runtime.GOARCH, DiskPath: dataDir}
	var warns []string
	if model, err := unix.Sysctl("machdep.cpu.brand_string"); err == nil {
		h.CPUModel = model
	}
	if n, err := unix.SysctlUint32("hw.physicalcpu"); err == nil {
		h.Cores = int(n)
	}
	if n, err := unix.SysctlUint32("hw.logicalcpu"); err == nil {
		h.Threads = int(n)
	}
	if h.Threads == 0 {
		h.Threads = runtime.NumCPU()
	}
	if h.Cores == 0 {
		h.Cores = h.Threads
	}
	if n, err := unix.SysctlUint64("hw.memsize"); err != nil {
		warns = append(warns, fmt.Sprintf("read memory size: %v", err))
	} else {
		h.MemoryBytes = n
	}
	if dataDir != "" {
		var st unix.Statfs_t
		if err := unix.Statfs(dataDir, &st); err != nil {
			warns = append(warns, fmt.Sprintf("read free space of %s: %v", dataDir, err))
		} else {
			h.DiskFreeBytes = st.Bavail * uint64(st.Bsize)
		}
	}
	return h, warns
}

// readUsage reports nothing on macOS yet: CPU and memory use are unknown
// fields, not errors.
func readUsage(context.Context) (usage, error) {
	return usage{}, nil
}
