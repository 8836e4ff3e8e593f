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
