//go:build !(linux && cgo)

package gpu

import (
	"errors"
	"runtime"
)

// openSystemNVML reports NVML unavailable: go-nvml needs cgo, and NVIDIA's
// NVML for data-center GPUs ships for Linux only.
func openSystemNVML() (reader, Inventory, error) {
	switch runtime.GOOS {
	case "linux":
	case "windows":
		// NVIDIA ships nvml.dll with its Windows driver, but go-nvml
		// binds libnvidia-ml.so through cgo only: this build reads no
		// NVIDIA GPU on Windows (see docs/hardware.md).
		return nil, Inventory{}, errors.New("nvml unavailable: NVIDIA GPUs are not read on Windows yet (go-nvml is Linux-only)")
	default:
		return nil, Inventory{}, errors.New("nvml unavailable: not supported on " + runtime.GOOS)
	}
	return nil, Inventory{}, errors.New("nvml unavailable: this build has no cgo")
}
