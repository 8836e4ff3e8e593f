package gpu

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// fakeHost is the machine fakeEnv describes.
var fakeHost = Host{
	CPUModel: "AMD EPYC 7742 64-Core Processor", Cores: 128, Threads: 256,
	OS: "linux", Arch: "amd64", MemoryBytes: 2048 * gib, DiskPath: "/data", DiskFreeBytes: 900 * gib,
}

// fakeEnv is a machine whose NVML opens with openNVML, with fakeHost's
// hardware, 64 GiB of it in use, and a root file system of a KVM guest.
func fakeEnv(openNVML func() (reader, Inventory, error)) detectEnv {
	return detectEnv{
		openNVML: openNVML,
		readHost: func(context.Context, string) (Host, []string) { return fakeHost, nil },
		readUsage: func(context.Context) (usage, error) {
			return usage{cpu: cpuTimes{idle: 100, total: 200}, cpuOK: true, memUsed: 64 * gib, memOK: true}, nil
		},
		root: fstest.MapFS{
			"proc/cpuinfo":                  file(cpuinfo(true)),
			"sys/class/dmi/id/sys_vendor":   file("QEMU\n"),
			"sys/class/dmi/id/product_name": file("Standard PC (Q35 + ICH9, 2009)\n"),
		},
	}
}

func noNVML() (reader, Inventory, error) {
	return nil, Inventory{}, errors.New("init nvml: ERROR_LIBRARY_NOT_FOUND")
}

// TestDetectOnThisMachine runs the real detection. Without an NVIDIA GPU
// (as on the development machines and CI) it must offer the CPU.
func TestDetectOnThisMachine(t *testing.T) {
	dir := t.TempDir()
	p, inv, err := Detect(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if inv.Source == SourceNVML || inv.Source == SourceApple {
		t.Skipf("this machine has a GPU (%s): the CPU path is covered by TestDetectFallsBackToCPU", inv.Source)
	}
	if inv.Source != SourceCPU {
		t.Fatalf("got source %q, want %q", inv.Source, SourceCPU)
	}
	if inv.NVMLError == "" {
		t.Error("got no NVML error, want why NVML was not used")
	}
	h := inv.Host
	if h.OS != runtime.GOOS || h.Arch != runtime.GOARCH {
		t.Errorf("got host %s/%s, want %s/%s", h.OS, h.Arch, runtime.GOOS, runtime.GOARCH)
	}
	if h.Cores < 1 || h.Threads < h.Cores {
		t.Errorf("got %d cores and %d threads, want at least 1 core and no fewer threads", h.Cores, h.Threads)
	}
	if h.MemoryBytes == 0 {
		t.Error("got memory 0, want the installed RAM")
	}
	if h.DiskFreeBytes == 0 || h.DiskPath != dir {
		t.Errorf("got %d bytes free in %q, want some free in %q", h.DiskFreeBytes, h.DiskPath, dir)
	}
	if len(inv.Devices) != 1 {
		t.Fatalf("got %d devices, want the CPU alone", len(inv.Devices))
	}
	d := inv.Devices[0]
	wantClass := CPUClass(runtime.GOARCH)
	if runtime.GOARCH == "amd64" {
		wantClass = "CPU-x86"
	}
	if d.Class != wantClass || d.Pool != PoolCPU || d.ID != "cpu0" {
		t.Errorf("got device %s class %q pool %q, want cpu0 class %q pool cpu", d.ID, d.Class, d.Pool, wantClass)
	}
	if d.MemoryTotal != h.MemoryBytes || d.Cores != h.Cores {
		t.Errorf("got device memory %d and %d cores, want the host's %d and %d", d.MemoryTotal, d.Cores, h.MemoryBytes, h.Cores)
	}
	if runtime.GOOS != "linux" {
		return
	}
	if d.Telemetry.Device != "cpu0" || d.Telemetry.MemoryUsed == 0 {
		t.Errorf("got first reading %+v, want cpu0 with the memory in use", d.Telemetry)
	}
	// CPU utilisation needs two readings some clock ticks apart.
	deadline := time.Now().Add(5 * time.Second)
	for {
		tel, err := p.Telemetry(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(tel) == 1 && tel[0].Known(fieldUtilization) {
			if u := tel[0].Utilization; u < 0 || u > 100 {
				t.Errorf("got utilization %v, want 0 to 100", u)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no CPU utilization after 5s: last reading %+v", tel)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDetectFallsBackToCPU(t *testing.T) {
	p, inv, err := fakeEnv(noNVML).detect(t.Context(), "/data")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if inv.Source != SourceCPU || inv.NVMLError != "init nvml: ERROR_LIBRARY_NOT_FOUND" {
		t.Errorf("got source %q, NVML error %q, want cpu and the NVML error", inv.Source, inv.NVMLError)
	}
	if inv.Host != fakeHost {
		t.Errorf("got host %+v, want %+v", inv.Host, fakeHost)
	}
	want := Device{ID: "cpu0", Name: fakeHost.CPUModel, Class: "CPU-x86", Pool: PoolCPU, MemoryTotal: 2048 * gib, Cores: 128}
	if len(inv.Devices) != 1 {
		t.Fatalf("got %d devices, want 1", len(inv.Devices))
	}
	got := inv.Devices[0]
	tel := got.Telemetry
	got.Telemetry = Telemetry{}
	if !equalDevice(got, want) {
		t.Errorf("got device %+v, want %+v", got, want)
	}
	if tel.Device != "cpu0" || tel.MemoryUsed != 64*gib || tel.Known(fieldUtilization) {
		t.Errorf("got first reading %+v, want cpu0, 64 GiB used, utilization unknown", tel)
	}
	if v := inv.Virtualization; !v.VM || v.Hypervisor != "qemu" || len(v.Evidence) != 2 {
		t.Errorf("got virtualization %+v, want a qemu VM with 2 pieces of evidence", v)
	}
}

func TestDetectApple(t *testing.T) {
	tests := []struct {
		fixture string
		source  string
		class   string
		vm      bool
	}{
		{"system_profiler_m2_ultra.json", SourceApple, "M2-Ultra", false},
		{"system_profiler_vm.json", SourceApple, "Apple-Paravirtual-device", true},
		{"system_profiler_intel.json", SourceCPU, "CPU-x86", false},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			env := fakeEnv(noNVML)
			env.root = fstest.MapFS{} // a Mac has no /proc or /sys
			env.systemProfiler = func(context.Context) ([]byte, error) { return readFixture(t, tt.fixture), nil }
			p, inv, err := env.detect(t.Context(), "/data")
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if inv.Source != tt.source || len(inv.Devices) != 1 || inv.Devices[0].Class != tt.class {
				t.Fatalf("got source %q devices %+v, want %q with one %s", inv.Source, inv.Devices, tt.source, tt.class)
			}
			if inv.NVMLError == "" {
				t.Error("got no NVML error, want why NVML was not used")
			}
			if v := inv.Virtualization; v.VM != tt.vm {
				t.Errorf("got virtualization %+v, want VM %v", v, tt.vm)
			}
			tel := inv.Devices[0].Telemetry
			if tel.MemoryUsed != 64*gib {
				t.Errorf("got memory used %d, want the host's 64 GiB", tel.MemoryUsed)
			}
			if tt.source == SourceApple && tel.Known(fieldUtilization) {
				t.Errorf("got Apple GPU utilization %v, want unknown", tel.Utilization)
			}
		})
	}
}

func TestDetectAppleProfilerFails(t *testing.T) {
	env := fakeEnv(noNVML)
	env.systemProfiler = func(context.Context) ([]byte, error) { return nil, errors.New("run system_profiler: exit status 1") }
	p, inv, err := env.detect(t.Context(), "/data")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if inv.Source != SourceCPU {
		t.Errorf("got source %q, want cpu", inv.Source)
	}
	if !slices.ContainsFunc(inv.Warnings, func(w string) bool { return strings.Contains(w, "system_profiler") }) {
		t.Errorf("got warnings %q, want the system_profiler failure", inv.Warnings)
	}
}

func TestDetectHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p, _, err := fakeEnv(noNVML).detect(ctx, "/data")
	if !errors.Is(err, context.Canceled) || p != nil {
		t.Errorf("got probe %v, error %v, want no probe and context.Canceled", p, err)
	}
}

// equalDevice compares devices without their telemetry; a nil and an
// empty Unknown are the same.
func equalDevice(a, b Device) bool {
	a.Telemetry, b.Telemetry = Telemetry{}, Telemetry{}
	if len(a.Unknown) == 0 && len(b.Unknown) == 0 {
		a.Unknown, b.Unknown = nil, nil
	}
	return reflect.DeepEqual(a, b)
}
