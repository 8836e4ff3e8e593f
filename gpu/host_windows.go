//go:build windows

package gpu

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// kernel32 calls golang.org/x/sys/windows does not wrap.
var (
	kernel32                 = windows.NewLazySystemDLL("kernel32.dll")
	procGlobalMemoryStatusEx = kernel32.NewProc("GlobalMemoryStatusEx")
	procGetSystemTimes       = kernel32.NewProc("GetSystemTimes")
)

// memoryStatusEx is Windows' MEMORYSTATUSEX.
type memoryStatusEx struct {
	Length               uint32
	MemoryLoad           uint32
	TotalPhys            uint64
	AvailPhys            uint64
	TotalPageFile        uint64
	AvailPageFile        uint64
	TotalVirtual         uint64
	AvailVirtual         uint64
	AvailExtendedVirtual uint64
}

func globalMemory() (memoryStatusEx, error) {
	var m memoryStatusEx
	m.Length = uint32(unsafe.Sizeof(m))
	if r, _, err := procGlobalMemoryStatusEx.Call(uintptr(unsafe.Pointer(&m))); r == 0 {
		return m, fmt.Errorf("call GlobalMemoryStatusEx: %w", err)
	}
	return m, nil
}

// readHost reads the processor name from the registry, the memory and the
// free space of dataDir from kernel32 (gopsutil's Windows code needs
// modules this one does not require). Physical cores are not read: Cores
// counts logical CPUs. What it cannot read is zero and comes back as a
// warning.
func readHost(_ context.Context, dataDir string) (Host, []string) {
	n := runtime.NumCPU()
	h := Host{OS: runtime.GOOS, Arch: runtime.GOARCH, Cores: n, Threads: n, DiskPath: dataDir}
	var warns []string
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, `HARDWARE\DESCRIPTION\System\CentralProcessor\0`, registry.QUERY_VALUE); err == nil {
		if s, _, err := k.GetStringValue("ProcessorNameString"); err == nil {
			h.CPUModel = strings.TrimSpace(s)
		}
		k.Close()
	}
	if m, err := globalMemory(); err != nil {
		warns = append(warns, fmt.Sprintf("read memory size: %v", err))
	} else {
		h.MemoryBytes = m.TotalPhys
	}
	if dataDir != "" {
		var free, total, totalFree uint64
		p, err := windows.UTF16PtrFromString(dataDir)
		if err == nil {
			err = windows.GetDiskFreeSpaceEx(p, &free, &total, &totalFree)
		}
		if err != nil {
			warns = append(warns, fmt.Sprintf("read free space of %s: %v", dataDir, err))
		} else {
			h.DiskFreeBytes = free
		}
	}
	return h, warns
}

// readUsage reads the CPU times (GetSystemTimes, whose kernel time includes
// idle time) and the memory in use.
func readUsage(context.Context) (usage, error) {
	var u usage
	var errs []error
	var idle, kernel, user windows.Filetime
	if r, _, err := procGetSystemTimes.Call(uintptr(unsafe.Pointer(&idle)), uintptr(unsafe.Pointer(&kernel)), uintptr(unsafe.Pointer(&user))); r == 0 {
		errs = append(errs, fmt.Errorf("call GetSystemTimes: %w", err))
	} else {
		ticks := func(ft windows.Filetime) uint64 { return uint64(ft.HighDateTime)<<32 | uint64(ft.LowDateTime) }
		u.cpu = cpuTimes{idle: ticks(idle), total: ticks(kernel) + ticks(user)}
		u.cpuOK = true
	}
	if m, err := globalMemory(); err != nil {
		errs = append(errs, fmt.Errorf("read memory use: %w", err))
	} else {
		u.memUsed, u.memOK = m.TotalPhys-min(m.AvailPhys, m.TotalPhys), true
	}
	return u, errors.Join(errs...)
}
