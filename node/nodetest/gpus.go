//go:build linux && cgo

package nodetest

import (
	"context"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"

	"github.com/gpumesh/gpumesh/gpu"
)

// MockGPUs is hardware detection for a node with count GPUs of model, through
// go-nvml's mock server and the real NVML code path (gpu.DetectWithNVML):
// the way a fleet of mixed GPU machines is built without a GPU. Every
// telemetry call the node makes answers with plausible steady values, and
// no process runs on any GPU.
func MockGPUs(model gpus.Config, count int) DetectFunc {
	return MockGPUsScripted(model, count, nil)
}

// MockGPUsScripted is MockGPUs whose devices script then changes, before
// the node reads them: to report a job's utilisation and processes, say.
func MockGPUsScripted(model gpus.Config, count int, script func(index int, d *server.Device)) DetectFunc {
	return func(ctx context.Context, dir string) (*gpu.Probe, gpu.Inventory, error) {
		srv := dgxa100.NewWithGPUs(gpus.Multiple(count, model)...)
		for i, d := range srv.Devices {
			md := d.(*server.Device)
			md.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 45, nvml.SUCCESS }
			md.GetPowerUsageFunc = func() (uint32, nvml.Return) { return 90_000, nvml.SUCCESS } // milliwatts
			md.GetEnforcedPowerLimitFunc = func() (uint32, nvml.Return) { return 400_000, nvml.SUCCESS }
			md.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{}, nvml.SUCCESS }
			md.GetMemoryInfo_v2Func = func() (nvml.Memory_v2, nvml.Return) {
				return nvml.Memory_v2{Total: md.MemoryInfo.Total, Free: md.MemoryInfo.Total}, nvml.SUCCESS
			}
			md.GetClockInfoFunc = func(nvml.ClockType) (uint32, nvml.Return) { return 1410, nvml.SUCCESS }
			md.GetMaxPcieLinkGenerationFunc = func() (int, nvml.Return) { return 4, nvml.SUCCESS }
			md.GetMaxPcieLinkWidthFunc = func() (int, nvml.Return) { return 16, nvml.SUCCESS }
			md.GetNvLinkStateFunc = func(int) (nvml.EnableState, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
			md.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) { return nil, nvml.SUCCESS }
			if script != nil {
				script(i, md)
			}
		}
		return gpu.DetectWithNVML(ctx, dir, srv)
	}
}
