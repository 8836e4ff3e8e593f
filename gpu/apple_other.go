//go:build !darwin

package gpu

import "context"

// runSystemProfiler is nil: system_profiler exists only on macOS.
var runSystemProfiler func(ctx context.Context) ([]byte, error)

// runIOReg is nil: ioreg exists only on macOS.
var runIOReg func(ctx context.Context) ([]byte, error)
