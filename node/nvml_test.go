//go:build linux && cgo

package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"

	"github.com/gpumesh/gpumesh/gpu"
	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/nodetest"
)

// TestEightGPUNodeThroughTheAPI runs a node whose NVML is go-nvml's DGX A100
// mock (8 GPUs) and reads its hardware back through the local API: the same
// code path as a real GPU machine, from NVML to JSON.
func TestEightGPUNodeThroughTheAPI(t *testing.T) {
	srv := dgxa100.New()
	for i, d := range srv.Devices {
		md := d.(*dgxa100.Device)
		temp := uint32(40 + i)
		md.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return temp, nvml.SUCCESS }
		md.GetPowerUsageFunc = func() (uint32, nvml.Return) { return 250_000, nvml.SUCCESS } // milliwatts
		md.GetEnforcedPowerLimitFunc = func() (uint32, nvml.Return) { return 400_000, nvml.SUCCESS }
		md.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{Gpu: 87, Memory: 40}, nvml.SUCCESS
		}
		md.GetMemoryInfo_v2Func = func() (nvml.Memory_v2, nvml.Return) {
			return nvml.Memory_v2{Total: md.MemoryInfo.Total, Used: 1 << 30, Free: md.MemoryInfo.Total - 1<<30}, nvml.SUCCESS
		}
		md.GetClockInfoFunc = func(nvml.ClockType) (uint32, nvml.Return) { return 1410, nvml.SUCCESS }
		md.GetMaxPcieLinkGenerationFunc = func() (int, nvml.Return) { return 4, nvml.SUCCESS }
		md.GetMaxPcieLinkWidthFunc = func() (int, nvml.Return) { return 16, nvml.SUCCESS }
		md.GetNvLinkStateFunc = func(link int) (nvml.EnableState, nvml.Return) {
			if link >= 12 {
				return 0, nvml.ERROR_INVALID_ARGUMENT
			}
			return nvml.FEATURE_ENABLED, nvml.SUCCESS
		}
	}
	f := nodetest.Start(t, 1, nodetest.Options{
		Detect: func(ctx context.Context, dir string) (*gpu.Probe, gpu.Inventory, error) {
			return gpu.DetectWithNVML(ctx, dir, srv)
		},
	})
	g, err := api.NewClient(f.Nodes[0].APIURL()).GPU(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	inv := g.Inventory
	if inv.Source != gpu.SourceNVML || len(inv.Devices) != 8 {
		t.Fatalf("source %q with %d devices, want nvml with 8 (nvml error %q)", inv.Source, len(inv.Devices), inv.NVMLError)
	}
	for i, d := range inv.Devices {
		if d.Class != "A100-40GB" || d.Pool != gpu.PoolGPU || d.UUID == "" || d.ComputeCapability != "8.0" || d.NVLinks != 12 || d.PCIeGen != 4 {
			t.Errorf("device %d = class %q pool %q uuid %q cc %q", i, d.Class, d.Pool, d.UUID, d.ComputeCapability)
		}
		tel := d.Telemetry
		if tel.TemperatureC != float64(40+i) || tel.PowerW != 250 || tel.PowerLimitW != 400 || tel.Utilization != 87 {
			t.Errorf("device %d telemetry = %+v", i, tel)
		}
	}
	if g.Labels["nvidia.com/gpu.count"] != "8" || g.Labels["nvidia.com/gpu.family"] != "ampere" {
		t.Errorf("labels = %v", g.Labels)
	}
	// The sampler keeps reading the mock.
	id := inv.Devices[3].ID
	nodetest.WaitFor(t, 10*time.Second, func() bool {
		h, ok := f.Nodes[0].GPUHistory(id)
		return ok && len(h) >= 2 && h[len(h)-1].TemperatureC == 43
	}, func() string { return "no telemetry history for " + id })
}
