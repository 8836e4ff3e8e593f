//go:build !(linux && cgo)

package gpu

import (
	"errors"
	"runtime"
)

// openSystemNVML reports NVML unavailable: go-nvml needs cgo, and NVIDIA's
// NVML for data-center GPUs ships for Linux only.
func openSystemNVML() (reader, Inventory, error) {
	if runtime.GOOS != "linux" {
		return nil, Inventory{}, errors.New("nvml unavailable: not supported on " + runtime.GOOS)
	}
	return nil, Inventory{}, errors.New("nvml unavailable: this build has no cgo")
}
