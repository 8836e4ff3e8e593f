//go:build !linux && !darwin && !windows

package gpu

import (
	"context"
	"runtime"
)

// readHost knows only what the Go runtime knows on this system.
func readHost(_ context.Context, dataDir string) (Host, []string) {
	n := runtime.NumCPU()
	h := Host{OS: runtime.GOOS, Arch: runtime.GOARCH, Cores: n, Threads: n, DiskPath: dataDir}
	return h, []string{"memory size and free disk space are not read on " + runtime.GOOS}
}

// readUsage reports nothing: CPU and memory use are unknown fields.
func readUsage(context.Context) (usage, error) {
	return usage{}, nil
}
