//go:build linux && cgo

package gpu

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxb200"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh200"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// gpuState is what one mock GPU reports; go-nvml's mock servers leave
// telemetry, PCIe and NVLink calls unset, and panic if they are called.
type gpuState struct {
	util, memUtil, tempC, powerMW, limitMW, smMHz, memMHz uint32
	memUsed                                               uint64
	pcieGen, pcieWidth                                    int
	links, activeLinks                                    int
}

// stateOf is a distinct, plausible A100-class reading for GPU i.
func stateOf(i int) gpuState {
	return gpuState{
		util: uint32(10 + i), memUtil: uint32(5 + i), tempC: uint32(40 + i),
		powerMW: uint32(250_000 + 1000*i), limitMW: 400_000, smMHz: 1410, memMHz: 1215,
		memUsed: uint64(i+1) * gib, pcieGen: 4, pcieWidth: 16, links: 12, activeLinks: 12,
	}
}

// setState makes d report s through the mock's Func fields.
func setState(d *server.Device, s gpuState) {
	d.GetMemoryInfo_v2Func = func() (nvml.Memory_v2, nvml.Return) {
		return nvml.Memory_v2{Total: d.MemoryInfo.Total, Used: s.memUsed, Free: d.MemoryInfo.Total - s.memUsed}, nvml.SUCCESS
	}
	d.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
		return nvml.Utilization{Gpu: s.util, Memory: s.memUtil}, nvml.SUCCESS
	}
	d.GetTemperatureFunc = func(sensor nvml.TemperatureSensors) (uint32, nvml.Return) {
		if sensor != nvml.TEMPERATURE_GPU {
			return 0, nvml.ERROR_INVALID_ARGUMENT
		}
		return s.tempC, nvml.SUCCESS
	}
	d.GetPowerUsageFunc = func() (uint32, nvml.Return) { return s.powerMW, nvml.SUCCESS }
	d.GetEnforcedPowerLimitFunc = func() (uint32, nvml.Return) { return s.limitMW, nvml.SUCCESS }
	d.GetClockInfoFunc = func(c nvml.ClockType) (uint32, nvml.Return) {
		switch c {
		case nvml.CLOCK_SM:
			return s.smMHz, nvml.SUCCESS
		case nvml.CLOCK_MEM:
			return s.memMHz, nvml.SUCCESS
		}
		return 0, nvml.ERROR_INVALID_ARGUMENT
	}
	d.GetMaxPcieLinkGenerationFunc = func() (int, nvml.Return) { return s.pcieGen, nvml.SUCCESS }
	d.GetMaxPcieLinkWidthFunc = func() (int, nvml.Return) { return s.pcieWidth, nvml.SUCCESS }
	d.GetNvLinkStateFunc = func(link int) (nvml.EnableState, nvml.Return) {
		switch {
		case link >= s.links:
			return 0, nvml.ERROR_INVALID_ARGUMENT
		case link < s.activeLinks:
			return nvml.FEATURE_ENABLED, nvml.SUCCESS
		}
		return nvml.FEATURE_DISABLED, nvml.SUCCESS
	}
}

// setUnsupported makes d answer ERROR_NOT_SUPPORTED to every call that
// setState sets, as a consumer GPU or an old driver does for some.
func setUnsupported(d *server.Device) {
	ns := nvml.ERROR_NOT_SUPPORTED
	d.GetMemoryInfo_v2Func = func() (nvml.Memory_v2, nvml.Return) { return nvml.Memory_v2{}, ns }
	d.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{}, ns }
	d.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 0, ns }
	d.GetPowerUsageFunc = func() (uint32, nvml.Return) { return 0, ns }
	d.GetEnforcedPowerLimitFunc = func() (uint32, nvml.Return) { return 0, ns }
	d.GetClockInfoFunc = func(nvml.ClockType) (uint32, nvml.Return) { return 0, ns }
	d.GetMaxPcieLinkGenerationFunc = func() (int, nvml.Return) { return 0, ns }
	d.GetMaxPcieLinkWidthFunc = func() (int, nvml.Return) { return 0, ns }
	d.GetNvLinkStateFunc = func(int) (nvml.EnableState, nvml.Return) { return 0, ns }
}

// mockDevices returns srv's devices with every call this package makes set.
func mockDevices(srv *server.Server) []*server.Device {
	var ds []*server.Device
	for i, d := range srv.Devices {
		sd := d.(*server.Device)
		setState(sd, stateOf(i))
		ds = append(ds, sd)
	}
	return ds
}

func openMock(srv *server.Server) func() (reader, Inventory, error) {
	return func() (reader, Inventory, error) { return openNVML(srv) }
}

var telemetryFields = []string{fieldUtilization, fieldMemoryUtilization, fieldMemoryUsed, fieldTemperature, fieldPower, fieldPowerLimit, fieldSMClock, fieldMemClock}

func TestNVMLInventoryOfDGXA100(t *testing.T) {
	srv := dgxa100.New()
	devs := mockDevices(srv)
	p, inv, err := fakeEnv(openMock(srv)).detect(t.Context(), "/data")
	if err != nil {
		t.Fatal(err)
	}
	if inv.Source != SourceNVML || inv.NVMLError != "" {
		t.Errorf("got source %q, NVML error %q, want nvml and none", inv.Source, inv.NVMLError)
	}
	if inv.Driver != "550.54.15" || inv.CUDA != "12.4" {
		t.Errorf("got driver %q, CUDA %q, want 550.54.15 and 12.4", inv.Driver, inv.CUDA)
	}
	if len(inv.Warnings) != 0 {
		t.Errorf("got warnings %q, want none", inv.Warnings)
	}
	if inv.Host != fakeHost || !inv.Virtualization.VM {
		t.Errorf("got host %+v and virtualization %+v, want the fake host's", inv.Host, inv.Virtualization)
	}
	if len(inv.Devices) != 8 {
		t.Fatalf("got %d devices, want 8", len(inv.Devices))
	}
	for i, d := range inv.Devices {
		want := Device{
			Index: i, ID: devs[i].UUID, UUID: devs[i].UUID, Name: "Mock NVIDIA A100-SXM4-40GB",
			Class: "A100-40GB", Pool: PoolGPU, MemoryTotal: 40960 * mib,
			ComputeCapability: "8.0", Family: "ampere", MIGCapable: true,
			PCIeGen: 4, PCIeWidth: 16, NVLinks: 12,
		}
		if !equalDevice(d, want) {
			t.Errorf("device %d:\n got %+v\nwant %+v", i, d, want)
		}
		s := stateOf(i)
		tel := d.Telemetry
		if tel.Device != devs[i].UUID || tel.Time.IsZero() || len(tel.Unknown) != 0 {
			t.Errorf("device %d: got reading of %q at %v, unknown %q, want of %q, timed, all known", i, tel.Device, tel.Time, tel.Unknown, devs[i].UUID)
		}
		got := [...]float64{tel.Utilization, tel.MemoryUtilization, tel.TemperatureC, tel.PowerW, tel.PowerLimitW, float64(tel.SMClockMHz), float64(tel.MemClockMHz), float64(tel.MemoryUsed)}
		wantTel := [...]float64{float64(s.util), float64(s.memUtil), float64(s.tempC), float64(s.powerMW) / 1000, 400, 1410, 1215, float64(s.memUsed)}
		if got != wantTel {
			t.Errorf("device %d: got utilization, memory utilization, temperature, power, limit, SM, mem clock, memory used %v, want %v", i, got, wantTel)
		}
	}

	wantLabels := map[string]string{
		"nvidia.com/gpu.count":                    "8",
		"nvidia.com/gpu.product":                  "Mock-NVIDIA-A100-SXM4-40GB",
		"nvidia.com/gpu.memory":                   "40960",
		"nvidia.com/gpu.family":                   "ampere",
		"nvidia.com/gpu.compute.major":            "8",
		"nvidia.com/gpu.compute.minor":            "0",
		"nvidia.com/mig.capable":                  "true",
		"nvidia.com/cuda.driver.major":            "550",
		"nvidia.com/cuda.driver.minor":            "54",
		"nvidia.com/cuda.driver.rev":              "15",
		"nvidia.com/cuda.driver-version.major":    "550",
		"nvidia.com/cuda.driver-version.minor":    "54",
		"nvidia.com/cuda.driver-version.revision": "15",
		"nvidia.com/cuda.driver-version.full":     "550.54.15",
		"nvidia.com/cuda.runtime.major":           "12",
		"nvidia.com/cuda.runtime.minor":           "4",
		"nvidia.com/cuda.runtime-version.major":   "12",
		"nvidia.com/cuda.runtime-version.minor":   "4",
		"nvidia.com/cuda.runtime-version.full":    "12.4",
	}
	labels := inv.Labels()
	for k, want := range wantLabels {
		if got, ok := labels[k]; got != want || !ok {
			t.Errorf("label %s: got %q (present %v), want %q", k, got, ok, want)
		}
	}
	if len(labels) != len(wantLabels) {
		t.Errorf("got %d labels %v, want %d", len(labels), labels, len(wantLabels))
	}

	// The probe keeps reading, and Close shuts NVML down once.
	devs[3].GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 77, nvml.SUCCESS }
	tel, err := p.Telemetry(t.Context())
	if err != nil || len(tel) != 8 {
		t.Fatalf("got %d readings and error %v, want 8 and none", len(tel), err)
	}
	if tel[3].TemperatureC != 77 {
		t.Errorf("got GPU 3 at %v°C, want the new 77", tel[3].TemperatureC)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if got := len(srv.ShutdownCalls()); got != 1 {
		t.Errorf("got %d NVML shutdowns, want 1", got)
	}
}

func TestNVMLClassAndFamilyOfMockServers(t *testing.T) {
	tests := []struct {
		name    string
		srv     *server.Server
		class   string
		family  string
		compute string
	}{
		{"DGX A100 40GB", dgxa100.New(), "A100-40GB", "ampere", "8.0"},
		{"DGX A100 80GB", dgxa100.NewWithGPUs(gpus.Multiple(8, gpus.A100_SXM4_80GB)...), "A100-80GB", "ampere", "8.0"},
		{"DGX H100", dgxh100.New(), "H100-80GB", "hopper", "9.0"},
		{"DGX H200", dgxh200.New(), "H200-141GB", "hopper", "9.0"},
		{"DGX B200", dgxb200.New(), "B200-180GB", "blackwell", "10.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mockDevices(tt.srv)
			p, inv, err := fakeEnv(openMock(tt.srv)).detect(t.Context(), "/data")
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if inv.Source != SourceNVML || len(inv.Devices) != 8 {
				t.Fatalf("got source %q with %d devices, want nvml with 8", inv.Source, len(inv.Devices))
			}
			for _, d := range inv.Devices {
				if d.Class != tt.class || d.Family != tt.family || d.ComputeCapability != tt.compute || d.Pool != PoolGPU {
					t.Errorf("got %s class %q family %q compute %q pool %q, want %q %q %q gpu", d.Name, d.Class, d.Family, d.ComputeCapability, d.Pool, tt.class, tt.family, tt.compute)
				}
			}
			if got := inv.Labels()["nvidia.com/gpu.family"]; got != tt.family {
				t.Errorf("got label gpu.family %q, want %q", got, tt.family)
			}
		})
	}
}

func TestNVMLUnsupportedFieldsAreUnknown(t *testing.T) {
	srv := dgxa100.New()
	devs := mockDevices(srv)
	setUnsupported(devs[3])
	devs[3].GetCudaComputeCapabilityFunc = func() (int, int, nvml.Return) { return 0, 0, nvml.ERROR_FUNCTION_NOT_FOUND }
	devs[3].GetMigModeFunc = func() (int, int, nvml.Return) { return 0, 0, nvml.ERROR_NOT_SUPPORTED }
	p, inv, err := fakeEnv(openMock(srv)).detect(t.Context(), "/data")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if inv.Source != SourceNVML || len(inv.Devices) != 8 {
		t.Fatalf("got source %q with %d devices, want nvml with 8", inv.Source, len(inv.Devices))
	}
	if len(inv.Warnings) != 0 {
		t.Errorf("got warnings %q, want none: unsupported is no problem", inv.Warnings)
	}
	d := inv.Devices[3]
	want := Device{
		Index: 3, ID: devs[3].UUID, UUID: devs[3].UUID, Name: "Mock NVIDIA A100-SXM4-40GB",
		Class: "A100-40GB", Pool: PoolGPU, MemoryTotal: 40960 * mib,
		Unknown: []string{"compute_capability", "pcie_gen", "pcie_width"},
	}
	if !equalDevice(d, want) {
		t.Errorf("got\n %+v\nwant %+v", d, want)
	}
	tel := d.Telemetry
	for _, f := range telemetryFields {
		if tel.Known(f) {
			t.Errorf("telemetry field %s is known, want unknown", f)
		}
	}
	if tel.Utilization != 0 || tel.TemperatureC != 0 || tel.PowerW != 0 || tel.MemoryUsed != 0 || tel.SMClockMHz != 0 {
		t.Errorf("got telemetry %+v, want zeros", tel)
	}
	readings, err := p.Telemetry(t.Context())
	if err != nil || len(readings) != 8 {
		t.Errorf("got %d readings and error %v, want 8 and none", len(readings), err)
	}
	if l := inv.Labels(); l["nvidia.com/gpu.count"] != "8" || l["nvidia.com/mig.capable"] != "true" {
		t.Errorf("got labels %v, want count 8 and mig.capable true (other GPUs are)", l)
	}
}

func TestNVMLFailingGPU(t *testing.T) {
	srv := dgxa100.New()
	devs := mockDevices(srv)
	p, inv, err := fakeEnv(openMock(srv)).detect(t.Context(), "/data")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// GPU 5 falls off the bus after detection.
	devs[5].GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 0, nvml.ERROR_GPU_IS_LOST }
	readings, err := p.Telemetry(t.Context())
	if !errors.Is(err, nvml.ERROR_GPU_IS_LOST) || !strings.Contains(err.Error(), devs[5].UUID) || !strings.Contains(err.Error(), fieldTemperature) {
		t.Errorf("got error %v, want ERROR_GPU_IS_LOST naming GPU 5 and temperature_c", err)
	}
	if len(readings) != 8 {
		t.Fatalf("got %d readings, want all 8 (partial)", len(readings))
	}
	if r := readings[5]; r.Known(fieldTemperature) || !r.Known(fieldPower) || r.PowerW != 255 {
		t.Errorf("got GPU 5 reading %+v, want temperature unknown and power 255 W", r)
	}
	if r := readings[4]; !r.Known(fieldTemperature) || r.TemperatureC != 44 {
		t.Errorf("got GPU 4 reading %+v, want 44°C", r)
	}
	if inv.Devices[5].Telemetry.TemperatureC != 45 {
		t.Errorf("got GPU 5 first reading %v°C, want 45", inv.Devices[5].Telemetry.TemperatureC)
	}
}

func TestNVMLLeavesOutAGPUWithoutIdentity(t *testing.T) {
	srv := dgxa100.New()
	devs := mockDevices(srv)
	devs[2].GetUUIDFunc = func() (string, nvml.Return) { return "", nvml.ERROR_GPU_IS_LOST }
	devs[6].GetMaxPcieLinkWidthFunc = func() (int, nvml.Return) { return 0, nvml.ERROR_UNKNOWN }
	p, inv, err := fakeEnv(openMock(srv)).detect(t.Context(), "/data")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var indexes []int
	for _, d := range inv.Devices {
		indexes = append(indexes, d.Index)
	}
	if want := []int{0, 1, 3, 4, 5, 6, 7}; !slices.Equal(indexes, want) {
		t.Errorf("got devices %v, want NVML indexes %v", indexes, want)
	}
	wantWarnings := []string{
		"gpu 2 left out: get uuid: ERROR_GPU_IS_LOST",
		"gpu 6: pcie_width: ERROR_UNKNOWN",
	}
	if !slices.Equal(inv.Warnings, wantWarnings) {
		t.Errorf("got warnings %q, want %q", inv.Warnings, wantWarnings)
	}
	if d := inv.Devices[5]; d.Index != 6 || !slices.Equal(d.Unknown, []string{"pcie_width"}) || d.PCIeGen != 4 {
		t.Errorf("got GPU 6 %+v, want PCIe width unknown and gen 4", d)
	}
	readings, err := p.Telemetry(t.Context())
	if err != nil || len(readings) != 7 {
		t.Errorf("got %d readings and error %v, want 7 and none", len(readings), err)
	}
}

// TestNVMLOldDriver checks that functions newer than the oldest supported
// driver are looked up before they are called: on a real driver without
// them, the call would abort the process.
func TestNVMLOldDriver(t *testing.T) {
	srv := dgxa100.New()
	devs := mockDevices(srv)
	missing := []string{"nvmlDeviceGetMemoryInfo_v2", "nvmlDeviceGetMigMode"}
	srv.LookupSymbolFunc = func(symbol string) error {
		if slices.Contains(missing, symbol) {
			return fmt.Errorf("undefined symbol: %s", symbol)
		}
		return nil
	}
	for i, d := range devs {
		d.GetMemoryInfo_v2Func = func() (nvml.Memory_v2, nvml.Return) {
			t.Errorf("GPU %d: GetMemoryInfo_v2 called though the driver lacks it", i)
			return nvml.Memory_v2{}, nvml.ERROR_FUNCTION_NOT_FOUND
		}
		d.GetMigModeFunc = func() (int, int, nvml.Return) {
			t.Errorf("GPU %d: GetMigMode called though the driver lacks it", i)
			return 0, 0, nvml.ERROR_FUNCTION_NOT_FOUND
		}
		d.GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) {
			return nvml.Memory{Total: 40960 * mib, Used: 7 * gib}, nvml.SUCCESS
		}
	}
	p, inv, err := fakeEnv(openMock(srv)).detect(t.Context(), "/data")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, d := range inv.Devices {
		if d.MIGCapable || d.Telemetry.MemoryUsed != 7*gib || d.MemoryTotal != 40960*mib {
			t.Errorf("got %s MIG capable %v, memory %d of %d, want no MIG and 7 GiB of 40 GiB (v1)", d.ID, d.MIGCapable, d.Telemetry.MemoryUsed, d.MemoryTotal)
		}
	}
	if got := inv.Labels()["nvidia.com/mig.capable"]; got != "false" {
		t.Errorf("got label mig.capable %q, want false", got)
	}
}

func TestNVMLMIGEnabled(t *testing.T) {
	srv := dgxa100.New()
	devs := mockDevices(srv)
	if ret, _ := devs[1].SetMigMode(nvml.DEVICE_MIG_ENABLE); ret != nvml.SUCCESS {
		t.Fatal(ret)
	}
	p, inv, err := fakeEnv(openMock(srv)).detect(t.Context(), "/data")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i, d := range inv.Devices {
		if want := i == 1; d.MIGEnabled != want || !d.MIGCapable {
			t.Errorf("GPU %d: got MIG capable %v enabled %v, want capable, enabled %v", i, d.MIGCapable, d.MIGEnabled, want)
		}
	}
}

func TestNVMLFallsBackToCPU(t *testing.T) {
	tests := []struct {
		name      string
		breakIt   func(*server.Server)
		wantErr   string
		shutdowns int
	}{
		{
			name: "no driver",
			breakIt: func(s *server.Server) {
				s.InitFunc = func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }
			},
			wantErr: "init nvml: ERROR_LIBRARY_NOT_FOUND",
		},
		{
			name: "driver and library mismatch",
			breakIt: func(s *server.Server) {
				s.InitFunc = func() nvml.Return { return nvml.ERROR_LIB_RM_VERSION_MISMATCH }
			},
			wantErr: "init nvml: ERROR_LIB_RM_VERSION_MISMATCH",
		},
		{
			name: "cannot count devices",
			breakIt: func(s *server.Server) {
				s.DeviceGetCountFunc = func() (int, nvml.Return) { return 0, nvml.ERROR_UNKNOWN }
			},
			wantErr:   "count nvml devices: ERROR_UNKNOWN",
			shutdowns: 1,
		},
		{
			name:      "no GPUs",
			breakIt:   func(s *server.Server) { s.Devices = nil },
			wantErr:   "nvml: no usable NVIDIA devices (0 found)",
			shutdowns: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := dgxa100.New()
			mockDevices(srv)
			tt.breakIt(srv)
			p, inv, err := fakeEnv(openMock(srv)).detect(t.Context(), "/data")
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if inv.Source != SourceCPU || inv.NVMLError != tt.wantErr {
				t.Errorf("got source %q, NVML error %q, want cpu and %q", inv.Source, inv.NVMLError, tt.wantErr)
			}
			if len(inv.Devices) != 1 || inv.Devices[0].Class != "CPU-x86" || inv.Devices[0].Pool != PoolCPU {
				t.Errorf("got devices %+v, want the CPU-x86", inv.Devices)
			}
			if len(inv.Labels()) != 0 {
				t.Errorf("got labels %v, want none without NVIDIA GPUs", inv.Labels())
			}
			if got := len(srv.ShutdownCalls()); got != tt.shutdowns {
				t.Errorf("got %d NVML shutdowns, want %d", got, tt.shutdowns)
			}
		})
	}
}

// TestSystemNVMLWithoutDriver opens the real NVML library. On a machine
// without the NVIDIA driver (this one, CI) dlopen fails and Init says so
// instead of crashing.
func TestSystemNVMLWithoutDriver(t *testing.T) {
	r, inv, err := openSystemNVML()
	if err == nil {
		r.close()
		t.Skipf("this machine has the NVIDIA driver and %d GPUs", len(inv.Devices))
	}
	if !errors.Is(err, nvml.ERROR_LIBRARY_NOT_FOUND) {
		t.Errorf("got %v, want ERROR_LIBRARY_NOT_FOUND", err)
	}
}
