//go:build linux

package gpu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/mem"
)

// readHost reads the host's processors from /proc/cpuinfo and its memory
// and the free space of dataDir through gopsutil. What it cannot read is
// zero and comes back as a warning.
func readHost(ctx context.Context, dataDir string) (Host, []string) {
	h := Host{OS: runtime.GOOS, Arch: runtime.GOARCH, DiskPath: dataDir}
	var warns []string
	info := parseCPUInfo(readSmall(os.DirFS("/"), "proc/cpuinfo", 8<<20))
	h.CPUModel, h.Cores, h.Threads = info.model, info.cores, info.threads
	if h.Threads == 0 {
		h.Threads = runtime.NumCPU()
	}
	if h.Cores == 0 {
		h.Cores = h.Threads
	}
	if vm, err := mem.VirtualMemoryWithContext(ctx); err != nil {
		warns = append(warns, fmt.Sprintf("read memory size: %v", err))
	} else {
		h.MemoryBytes = vm.Total
	}
	if dataDir != "" {
		if du, err := disk.UsageWithContext(ctx, dataDir); err != nil {
			warns = append(warns, fmt.Sprintf("read free space of %s: %v", dataDir, err))
		} else {
			h.DiskFreeBytes = du.Free
		}
	}
	return h, warns
}

// readUsage reads the CPU time counters from /proc/stat and the memory in
// use (all but what the kernel reports available) through gopsutil.
func readUsage(ctx context.Context) (usage, error) {
	var u usage
	var errs []error
	f, err := os.Open("/proc/stat")
	if err == nil {
		buf := make([]byte, 4<<10) // the aggregate line comes first
		n, rerr := f.Read(buf)
		f.Close()
		if n == 0 && rerr != nil {
			err = rerr
		} else if u.cpu, err = parseProcStat(buf[:n]); err == nil {
			u.cpuOK = true
		}
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("read cpu times: %w", err))
	}
	if vm, err := mem.VirtualMemoryWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("read memory use: %w", err))
	} else {
		u.memUsed, u.memOK = vm.Total-min(vm.Available, vm.Total), true
	}
	return u, errors.Join(errs...)
}
