//go:build darwin

package gpu

import (
	"context"
	"fmt"
	"os/exec"
	"time"
)

// runSystemProfiler runs `system_profiler SPDisplaysDataType
// SPHardwareDataType -json`, which takes a second or two.
func runSystemProfiler(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "system_profiler", "SPDisplaysDataType", "SPHardwareDataType", "-json").Output()
	if err != nil {
		return nil, fmt.Errorf("run system_profiler: %w", err)
	}
	return out, nil
}

// ioregPath is macOS's ioreg, named in full so that no other program of
// that name on PATH runs instead.
const ioregPath = "/usr/sbin/ioreg"

// maxIORegRun bounds one ioreg run; it answers in milliseconds.
const maxIORegRun = 5 * time.Second

// runIOReg runs `ioreg -r -d 1 -w 0 -c IOAccelerator`, which prints the
// Apple GPU's PerformanceStatistics for any user, root or not.
func runIOReg(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, maxIORegRun)
	defer cancel()
	out, err := exec.CommandContext(ctx, ioregPath, "-r", "-d", "1", "-w", "0", "-c", "IOAccelerator").Output()
	if err != nil {
		return nil, fmt.Errorf("run ioreg: %w", err)
	}
	return out, nil
}
