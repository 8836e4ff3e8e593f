package gpu

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeDLL stands for a loaded nvml.dll: each GPU is a map of answers, and
// a function not in missing answers as the driver would.
type fakeDLL struct {
	mu        sync.Mutex
	initRet   nvmlReturn
	countRet  nvmlReturn
	gpus      []fakeDLLGPU
	missing   map[string]bool // functions the DLL lacks
	shutdowns int
}

type fakeDLLGPU struct {
	uuid, name  string
	total, used uint64
	util        []uint32 // one per reading, the last repeated
	reads       int
	temp        uint32
}

func (f *fakeDLL) lacks(name string) bool { return f.missing[name] }

func (f *fakeDLL) initialize() nvmlReturn { return f.initRet }
func (f *fakeDLL) shutdown() nvmlReturn {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shutdowns++
	return nvmlSuccess
}
func (f *fakeDLL) driverVersion() (string, nvmlReturn) { return "566.36", nvmlSuccess }
func (f *fakeDLL) cudaDriverVersion() (int, nvmlReturn) {
	return 12070, nvmlSuccess
}
func (f *fakeDLL) deviceCount() (int, nvmlReturn) { return len(f.gpus), f.countRet }
func (f *fakeDLL) deviceHandle(i int) (nvmlDevice, nvmlReturn) {
	if i < 0 || i >= len(f.gpus) {
		return 0, nvmlErrInvalidArgument
	}
	return nvmlDevice(i + 1), nvmlSuccess
}
func (f *fakeDLL) gpu(d nvmlDevice) *fakeDLLGPU { return &f.gpus[int(d)-1] }
func (f *fakeDLL) deviceName(d nvmlDevice) (string, nvmlReturn) {
	return f.gpu(d).name, nvmlSuccess
}
func (f *fakeDLL) deviceUUID(d nvmlDevice) (string, nvmlReturn) {
	if f.gpu(d).uuid == "" {
		return "", nvmlErrUnknown
	}
	return f.gpu(d).uuid, nvmlSuccess
}
func (f *fakeDLL) memoryInfo(d nvmlDevice) (uint64, uint64, nvmlReturn) {
	return f.gpu(d).total, f.gpu(d).used, nvmlSuccess
}
func (f *fakeDLL) utilization(d nvmlDevice) (uint32, uint32, nvmlReturn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.gpu(d)
	u := g.util[min(g.reads, len(g.util)-1)]
	g.reads++
	return u, 10, nvmlSuccess
}
func (f *fakeDLL) computeCapability(nvmlDevice) (int, int, nvmlReturn) {
	if f.lacks("nvmlDeviceGetCudaComputeCapability") {
		return 0, 0, nvmlErrFunctionMissing
	}
	return 8, 9, nvmlSuccess
}
func (f *fakeDLL) deviceUint(d nvmlDevice, q nvmlQuery) (uint32, nvmlReturn) {
	switch q {
	case queryTemperature:
		return f.gpu(d).temp, nvmlSuccess
	case queryPower:
		return 0, nvmlErrNotSupported // as on many GeForce cards
	case queryPowerLimit:
		return 450000, nvmlSuccess
	case queryPCIeGen:
		return 4, nvmlSuccess
	case queryPCIeWidth:
		return 16, nvmlSuccess
	}
	return 0, nvmlErrFunctionMissing
}

func rtx4090() *fakeDLL {
	return &fakeDLL{gpus: []fakeDLLGPU{{
		uuid: "GPU-4090", name: "NVIDIA GeForce RTX 4090", total: 24 * gib, used: 2 * gib, util: []uint32{37}, temp: 55,
	}}}
}

// TestDLLNVMLInventory maps one RTX 4090 as the Windows loader sees it:
// device, class and pool as on Linux, live telemetry, and the readings the
// driver does not give named as unknown.
func TestDLLNVMLInventory(t *testing.T) {
	lib := rtx4090()
	p, inv, err := fakeEnv(func() (reader, Inventory, error) { return openDLLNVML(lib) }).detect(t.Context(), "/data")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if inv.Source != SourceNVML || inv.NVMLError != "" || inv.Driver != "566.36" || inv.CUDA != "12.7" {
		t.Errorf("source %q, error %q, driver %q, CUDA %q; want nvml, none, 566.36, 12.7", inv.Source, inv.NVMLError, inv.Driver, inv.CUDA)
	}
	if len(inv.Devices) != 1 {
		t.Fatalf("devices %+v, want one", inv.Devices)
	}
	d := inv.Devices[0]
	if d.UUID != "GPU-4090" || d.Name != "NVIDIA GeForce RTX 4090" || d.MemoryTotal != 24*gib || d.Class != "RTX-4090" || d.Pool != PoolGPU ||
		d.ComputeCapability != "8.9" || d.Family != "ada-lovelace" || d.PCIeGen != 4 || d.PCIeWidth != 16 {
		t.Errorf("device %+v", d)
	}
	tel := d.Telemetry
	if tel.Utilization != 37 || tel.MemoryUtilization != 10 || tel.MemoryUsed != 2*gib || tel.TemperatureC != 55 || tel.PowerLimitW != 450 {
		t.Errorf("telemetry %+v", tel)
	}
	for _, f := range []string{fieldPower, fieldSMClock, fieldMemClock} {
		if !slices.Contains(tel.Unknown, f) {
			t.Errorf("telemetry unknown %v lacks %s", tel.Unknown, f)
		}
	}
	if len(inv.Warnings) != 0 {
		t.Errorf("warnings %v, want none for fields the driver does not support", inv.Warnings)
	}
	p.Close()
	if lib.shutdowns != 1 {
		t.Errorf("%d shutdowns after Close, want 1", lib.shutdowns)
	}
}

// TestDLLNVMLFallsBackToCPU: an NVML that fails to start, to count, or has
// no usable GPU leaves the node on the CPU with the reason, shut down.
func TestDLLNVMLFallsBackToCPU(t *testing.T) {
	tests := []struct {
		name      string
		breakIt   func(*fakeDLL)
		wantErr   string
		shutdowns int
	}{
		{"driver not loaded", func(f *fakeDLL) { f.initRet = nvmlErrDriverNotLoaded }, "init nvml: nvml ERROR_DRIVER_NOT_LOADED", 0},
		{"cannot count", func(f *fakeDLL) { f.countRet = nvmlErrUnknown }, "count nvml devices: nvml ERROR_UNKNOWN", 1},
		{"no identity", func(f *fakeDLL) { f.gpus[0].uuid = "" }, "nvml: no usable NVIDIA devices (1 found)", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := rtx4090()
			tt.breakIt(lib)
			p, inv, err := fakeEnv(func() (reader, Inventory, error) { return openDLLNVML(lib) }).detect(t.Context(), "/data")
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if inv.Source != SourceCPU || inv.NVMLError != tt.wantErr {
				t.Errorf("source %q, NVML error %q; want cpu and %q", inv.Source, inv.NVMLError, tt.wantErr)
			}
			if lib.shutdowns != tt.shutdowns {
				t.Errorf("%d shutdowns, want %d", lib.shutdowns, tt.shutdowns)
			}
		})
	}
	if err := error(nvmlErrGPUIsLost); !errors.Is(err, nvmlErrGPUIsLost) || err.Error() != "nvml ERROR_GPU_IS_LOST" {
		t.Errorf("return as error: %v", err)
	}
	if got := nvmlReturn(4242).Error(); got != "nvml return 4242" {
		t.Errorf("unknown return: %q", got)
	}
}

// TestDLLNVMLMetersJobs: the per-job meter runs on the Windows reader, from
// the device's utilisation and memory in use.
func TestDLLNVMLMetersJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lib := rtx4090()
		lib.gpus[0].util = []uint32{0, 50, 100}
		r, _, err := openDLLNVML(lib)
		if err != nil {
			t.Fatal(err)
		}
		p := &Probe{r: r}
		defer p.Close()
		acc, err := NewAccountant(p, time.Second, nil)
		if err != nil {
			t.Fatalf("accountant on the Windows reader: %v", err)
		}
		m := acc.Track(t.Context(), []DeviceRef{{Index: 0, UUID: "GPU-4090"}, {UUID: "GPU-elsewhere"}})
		time.Sleep(2 * time.Second)
		synctest.Wait()
		got := m.Stop()
		if got.Devices != 1 || got.Samples != 3 || got.Busy != 1500*time.Millisecond || got.MeanUtilPercent != 50 {
			t.Errorf("usage %+v, want 1 device, 3 samples, 1.5 s busy, 50 %%", got)
		}
	})
}

func TestCString(t *testing.T) {
	for in, want := range map[string]string{
		"NVIDIA GeForce RTX 4090\x00\x00junk": "NVIDIA GeForce RTX 4090",
		"no terminator":                       "no terminator",
		"bad \xff byte\x00":                   "bad \uFFFD byte",
		"":                                    "",
	} {
		if got := cString([]byte(in)); got != want {
			t.Errorf("cString(%q) = %q, want %q", in, got, want)
		}
	}
}
