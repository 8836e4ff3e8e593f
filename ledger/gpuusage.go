package ledger

import (
	"fmt"
	"math"
)

// Bounds of GPUUsage.
const (
	// MaxGPUMemoryPerDevice bounds PeakMemoryBytes per device: 16 TiB,
	// far above any GPU's.
	MaxGPUMemoryPerDevice = uint64(16) << 40
	// MaxGPUSamples bounds Samples: one a millisecond for MaxDuration.
	MaxGPUSamples = int64(MaxDuration / 1e6)
)

// GPUUsage is what the GPUs of one rank did, as the provider measured it
// through NVML while the rank's work held them: the figures a receipt
// signs next to the wall time it charges, and the run protocol's result
// event carries. It is absent for work that held no GPU.
type GPUUsage struct {
	// Devices is the number of GPUs metered.
	Devices int `json:"devices"`
	// Samples is the number of sampling rounds that read the devices.
	Samples int64 `json:"samples"`
	// BusyMillis is the GPU time in which kernels ran, in milliseconds,
	// all devices together: utilisation integrated over time.
	BusyMillis int64 `json:"busy_millis"`
	// PeakMemoryBytes is the most memory the work's processes used at one
	// sample, all devices together.
	PeakMemoryBytes uint64 `json:"peak_memory_bytes"`
	// MeanUtilPercent is the mean utilisation of every device reading, in
	// [0, 100], to a tenth.
	MeanUtilPercent float64 `json:"mean_util_percent"`
}

// Check reports every problem with u's bounds, each naming its field and
// wrapping ErrInvalid.
func (u *GPUUsage) Check() []error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: gpu.%s: %s", ErrInvalid, field, fmt.Sprintf(format, a...)))
	}
	devOK := u.Devices >= 1 && u.Devices <= MaxDevices
	if !devOK {
		bad("devices", "%d outside [1, %d]", u.Devices, MaxDevices)
	}
	if u.Samples < 0 || u.Samples > MaxGPUSamples {
		bad("samples", "%d outside [0, %d]", u.Samples, MaxGPUSamples)
	}
	if maxBusy := int64(MaxDevices) * MaxDuration.Milliseconds(); u.BusyMillis < 0 || u.BusyMillis > maxBusy {
		bad("busy_millis", "%d outside [0, %d]", u.BusyMillis, maxBusy)
	} else if devOK && u.BusyMillis > int64(u.Devices)*MaxDuration.Milliseconds() {
		bad("busy_millis", "%d, more than %d devices can be busy", u.BusyMillis, u.Devices)
	}
	if devOK && u.PeakMemoryBytes > uint64(u.Devices)*MaxGPUMemoryPerDevice {
		bad("peak_memory_bytes", "%d, over %d per device", u.PeakMemoryBytes, MaxGPUMemoryPerDevice)
	}
	if math.IsNaN(u.MeanUtilPercent) || u.MeanUtilPercent < 0 || u.MeanUtilPercent > 100 {
		bad("mean_util_percent", "%v outside [0, 100]", u.MeanUtilPercent)
	}
	return errs
}
