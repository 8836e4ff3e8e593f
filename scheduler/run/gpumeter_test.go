//go:build linux && cgo

package run

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"github.com/libp2p/go-libp2p/core/peer"
	"go.uber.org/goleak"

	"github.com/gpumesh/gpumesh/gpu"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/scheduler/executor"
)

// mockAccountant is an accountant over a DGX A100 mock opened through the
// real NVML path, whose devices 3 and 6 run a job at full utilisation with
// 3 GiB and 5 GiB of process memory, and whose others are idle.
func mockAccountant(t *testing.T, report func(gpu.JobUsage)) (*gpu.Accountant, []executor.Device) {
	t.Helper()
	srv := dgxa100.New()
	var held []executor.Device
	for i, d := range srv.Devices {
		md := d.(*server.Device)
		util, procs := uint32(0), []nvml.ProcessInfo(nil)
		switch i {
		case 3:
			util, procs = 100, []nvml.ProcessInfo{{Pid: 100, UsedGpuMemory: 3 << 30}}
			held = append(held, executor.Device{Index: i, UUID: md.UUID})
		case 6:
			util, procs = 100, []nvml.ProcessInfo{{Pid: 101, UsedGpuMemory: 4 << 30}, {Pid: 102, UsedGpuMemory: 1 << 30}}
			held = append(held, executor.Device{Index: i, UUID: md.UUID})
		}
		md.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{Gpu: util}, nvml.SUCCESS }
		md.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) { return procs, nvml.SUCCESS }
		md.GetMemoryInfo_v2Func = func() (nvml.Memory_v2, nvml.Return) { return nvml.Memory_v2{Total: md.MemoryInfo.Total}, nvml.SUCCESS }
		ns := func() (uint32, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
		md.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return ns() }
		md.GetPowerUsageFunc = ns
		md.GetEnforcedPowerLimitFunc = ns
		md.GetClockInfoFunc = func(nvml.ClockType) (uint32, nvml.Return) { return ns() }
		md.GetMaxPcieLinkGenerationFunc = func() (int, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
		md.GetMaxPcieLinkWidthFunc = func() (int, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
		md.GetNvLinkStateFunc = func(int) (nvml.EnableState, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
	}
	probe, inv, err := gpu.DetectWithNVML(context.Background(), t.TempDir(), srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { probe.Close() })
	if inv.Source != gpu.SourceNVML {
		t.Fatalf("mock inventory from %s (%s), want nvml", inv.Source, inv.NVMLError)
	}
	acc, err := gpu.NewAccountant(probe, 50*time.Millisecond, report)
	if err != nil {
		t.Fatal(err)
	}
	return acc, held
}

// A rank holding two GPUs of a metered provider: its result event carries
// what the mock's devices reported, and the provider's RunEnd has the same
// figures; a rank holding none carries none.
func TestRunReportsGPUFigures(t *testing.T) {
	acc, held := mockAccountant(t, nil)
	module := wasmModule(t, "copy")
	prov := newProvider(t, ServerConfig{GPU: acc, Knobs: ServerKnobs{
		BeforeStart: func(_ *RunRequest, rank int, job *executor.Job) {
			if rank == 0 {
				job.Devices = held
			}
		},
	}})
	req := newNode(t)
	connect(req, prov.node)
	in := writeFile(t, "in.txt", "gpu\n")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := Run(ctx, req, req.key, prov.ID(), wasmRequest(jobID(t), []int{0, 1}, []peer.ID{prov.ID(), prov.ID()}),
		map[string]string{ModuleFile: module, "inputs/in.txt": in}, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := out.GPU[0]
	if !ok {
		t.Fatalf("rank 0: no GPU figures in %+v", out.GPU)
	}
	// Every reading is the same, so the figures do not depend on timing.
	if got.Devices != 2 || got.Samples < 1 || got.PeakMemoryBytes != 8<<30 || got.MeanUtilPercent != 100 || got.BusyMillis < 0 {
		t.Errorf("rank 0: got %+v, want 2 devices, 8 GiB peak, 100 %% mean utilisation", got)
	}
	if g, ok := out.GPU[1]; ok {
		t.Errorf("rank 1 holds no GPU, got figures %+v", g)
	}
	prov.auth.waitEnd(t)
	prov.auth.mu.Lock()
	end := prov.auth.runs[0]
	prov.auth.mu.Unlock()
	if g := end.Results[0].GPU; g == nil || *g != got {
		t.Errorf("RunEnd rank 0: GPU %+v, want what the requester received, %+v", g, got)
	}
	if g := end.Results[1].GPU; g != nil {
		t.Errorf("RunEnd rank 1: GPU %+v, want none", g)
	}
}

func TestEventGPUFiguresValidated(t *testing.T) {
	res := &executor.Result{Status: executor.StatusSucceeded}
	good := ledger.GPUUsage{Devices: 1, Samples: 3, BusyMillis: 1000, PeakMemoryBytes: 1 << 30, MeanUtilPercent: 50}
	for _, c := range []struct {
		name string
		ev   Event
		ok   bool
	}{
		{"result with figures", Event{Kind: KindResult, Result: res, GPU: &good}, true},
		{"figures on a heartbeat", Event{Kind: KindHeartbeat, GPU: &good}, false},
		{"no devices", Event{Kind: KindResult, Result: res, GPU: &ledger.GPUUsage{MeanUtilPercent: 1}}, false},
		{"utilisation over 100", Event{Kind: KindResult, Result: res, GPU: &ledger.GPUUsage{Devices: 1, MeanUtilPercent: 250}}, false},
		{"negative busy", Event{Kind: KindResult, Result: res, GPU: &ledger.GPUUsage{Devices: 1, BusyMillis: -5}}, false},
	} {
		if err := c.ev.Validate(); (err == nil) != c.ok {
			t.Errorf("%s: got %v, want ok %t", c.name, err, c.ok)
		}
	}
}

// A metered rank whose requester goes away mid-run: the meter stops with
// the work, reports once, and leaves no goroutine behind.
func TestMeteredRunCancelledLeavesNothing(t *testing.T) {
	module := wasmModule(t, "sleep")
	testWasm(t) // shared by the tests, compiled once: not this test's
	before := goleak.IgnoreCurrent()
	var mu sync.Mutex
	var reports []gpu.JobUsage
	acc, held := mockAccountant(t, func(u gpu.JobUsage) {
		mu.Lock()
		reports = append(reports, u)
		mu.Unlock()
	})
	prov := newProvider(t, ServerConfig{GPU: acc, Knobs: ServerKnobs{
		BeforeStart: func(_ *RunRequest, _ int, job *executor.Job) { job.Devices = held },
	}})
	req := newNode(t)
	connect(req, prov.node)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := Run(ctx, req, req.key, prov.ID(), wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()}), map[string]string{ModuleFile: module}, t.TempDir(),
		func(ev Event) {
			if ev.Kind == KindLog && ev.Line.Text == "sleeping" {
				cancel()
			}
		})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if reason := prov.auth.waitEnd(t); reason == "completed" {
		t.Fatalf("the run ended %q, want a cancellation", reason)
	}
	mu.Lock()
	got := append([]gpu.JobUsage(nil), reports...)
	mu.Unlock()
	if len(got) != 1 || got[0].Devices != 2 || got[0].PeakMemoryBytes != 8<<30 {
		t.Errorf("reports %+v, want one of 2 devices with 8 GiB peak", got)
	}
	if err := prov.srv.Close(); err != nil {
		t.Fatal(err)
	}
	for _, h := range []node{prov.node, req} {
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
	}
	goleak.VerifyNone(t, before)
}
