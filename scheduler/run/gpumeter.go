package run

import (
	"context"

	"github.com/gpumesh/gpumesh/gpu"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/scheduler/executor"
)

// rankMeter meters what one rank's GPUs do while its work runs: the
// provider's ServerConfig.GPU tracking the devices the work holds. A nil
// *rankMeter meters nothing (no accountant, or work without GPUs).
type rankMeter struct {
	m *gpu.JobMeter
}

// meterRank starts metering job's devices, or returns nil when the
// provider meters no GPUs or the job holds none. The meter's goroutine
// ends with stop, or with ctx.
func (s *Server) meterRank(ctx context.Context, job executor.Job) *rankMeter {
	if s.cfg.GPU == nil || len(job.Devices) == 0 {
		return nil
	}
	refs := make([]gpu.DeviceRef, len(job.Devices))
	for i, d := range job.Devices {
		refs[i] = gpu.DeviceRef{Index: d.Index, UUID: d.UUID}
	}
	return &rankMeter{m: s.cfg.GPU.Track(ctx, refs)}
}

// stop ends the metering and returns the figures for the rank's result
// event: nil when nothing was metered. It is safe on a nil meter and to
// call more than once.
func (r *rankMeter) stop() *ledger.GPUUsage {
	if r == nil {
		return nil
	}
	return usageFigures(r.m.Stop())
}

// usageFigures turns a meter's usage into the figures a result event and a
// receipt carry; nil when no device was metered.
func usageFigures(u gpu.JobUsage) *ledger.GPUUsage {
	if u.Devices == 0 {
		return nil
	}
	return &ledger.GPUUsage{
		Devices:         u.Devices,
		Samples:         int64(u.Samples),
		BusyMillis:      u.Busy.Milliseconds(),
		PeakMemoryBytes: u.PeakMemoryBytes,
		MeanUtilPercent: u.MeanUtilPercent,
	}
}
