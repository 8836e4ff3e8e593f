//go:build !(linux && cgo) && !windows

package gpu

import (
	"errors"
	"runtime"
)

// openSystemNVML reports NVML unavailable: go-nvml needs cgo, NVIDIA's
// NVML ships for Linux and Windows only, and Windows has its own loader
// (nvml_windows.go).
func openSystemNVML() (reader, Inventory, error) {
	if runtime.GOOS == "linux" {
		return nil, Inventory{}, errors.New("nvml unavailable: this build has no cgo")
	}
	return nil, Inventory{}, errors.New("nvml unavailable: not supported on " + runtime.GOOS)
}
