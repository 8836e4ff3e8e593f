//go:build !darwin

package gpu

import "context"

// runSystemProfiler is nil: system_profiler exists only on macOS.
var runSystemProfiler func(ctx context.Context) ([]byte, error)
