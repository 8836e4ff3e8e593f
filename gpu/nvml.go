//go:build linux && cgo

package gpu

// This is the only file that talks to the NVIDIA driver, so the only one
// that needs cgo: go-nvml's package does not compile without it, which is
// also why its mapping and its tests live here and not in a file without
// build tags.
//
// Linking: go-nvml leaves NVML's symbols unresolved at link time
// (-Wl,--unresolved-symbols=ignore-in-object-files) and dlopens
// libnvidia-ml.so.1 lazily (RTLD_LAZY) at Init, so one binary runs on hosts
// with and without the driver. Never link this binary with BIND_NOW
// (-Wl,-z,now, or hardening flags that imply it) nor fully static
// (-extldflags -static): either makes every host fail before main, or makes
// dlopen impossible, instead of falling back to the CPU.
//
// Old drivers: a call into a symbol the loaded driver lacks aborts the
// process, so functions newer than the oldest driver we support (R450, the
// first with Ampere and MIG) are looked up with LookupSymbol before use, and
// ERROR_NOT_SUPPORTED or ERROR_FUNCTION_NOT_FOUND only mark a field unknown.

import (
	"context"
	"errors"
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// openSystemNVML opens the driver's NVML library.
func openSystemNVML() (reader, Inventory, error) {
	return openNVML(nvml.New())
}

// openNVML initialises lib and maps its devices. On error lib is shut down
// again and the error says why NVML cannot be used: errors.Is finds the
// nvml.Return (nvml.ERROR_LIBRARY_NOT_FOUND when there is no driver).
func openNVML(lib nvml.Interface) (reader, Inventory, error) {
	if ret := lib.Init(); ret != nvml.SUCCESS {
		return nil, Inventory{}, fmt.Errorf("init nvml: %w", ret)
	}
	r, inv, err := mapNVML(lib)
	if err != nil {
		lib.Shutdown()
		return nil, Inventory{}, err
	}
	return r, inv, nil
}

// nvmlReader reads the telemetry of the GPUs mapNVML found.
type nvmlReader struct {
	handleSet[nvml.Device]
	lib   nvml.Interface
	memV2 bool // nvmlDeviceGetMemoryInfo_v2 exists (R510+)
}

// mapNVML turns what an initialised NVML library says into an Inventory
// (Source, Driver, CUDA, Devices and Warnings; not Host or Virtualization)
// and a reader for the devices' telemetry. A GPU that does not tell its
// UUID or name is left out with a warning; a field a GPU does not report is
// listed in Device.Unknown. It fails only when NVML cannot count its
// devices or none is usable.
func mapNVML(lib nvml.Interface) (*nvmlReader, Inventory, error) {
	inv := Inventory{Source: SourceNVML}
	driver, dret := lib.SystemGetDriverVersion()
	cuda, cret := lib.SystemGetCudaDriverVersion()
	versions(&inv, driver, nvmlErr(dret), cuda, nvmlErr(cret))
	n, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, Inventory{}, fmt.Errorf("count nvml devices: %w", ret)
	}
	r := &nvmlReader{lib: lib, memV2: hasSymbol(lib, "nvmlDeviceGetMemoryInfo_v2")}
	hasMIG := hasSymbol(lib, "nvmlDeviceGetMigMode")
	handle := func(i int) (nvml.Device, error) {
		h, ret := lib.DeviceGetHandleByIndex(i)
		return h, nvmlErr(ret)
	}
	mapOne := func(h nvml.Device, i int) (Device, []error, error) { return mapDevice(h, i, hasMIG) }
	var err error
	if r.handleSet, err = mapHandles(&inv, n, handle, mapOne); err != nil {
		return nil, Inventory{}, err
	}
	return r, inv, nil
}

// nvmlErr is ret as an error, nil for success.
func nvmlErr(ret nvml.Return) error {
	if ret == nvml.SUCCESS {
		return nil
	}
	return ret
}

// mapDevice maps one GPU. It fails only without a UUID or a name; other
// fields it cannot read are zero, named in Device.Unknown, and, when the
// failure was not "not supported", returned as problems.
func mapDevice(h nvml.Device, index int, hasMIG bool) (Device, []error, error) {
	uuid, ret := h.GetUUID()
	if ret != nvml.SUCCESS {
		return Device{}, nil, fmt.Errorf("get uuid: %w", ret)
	}
	name, ret := h.GetName()
	if ret != nvml.SUCCESS {
		return Device{}, nil, fmt.Errorf("get name of %s: %w", uuid, ret)
	}
	d := Device{Index: index, ID: uuid, UUID: uuid, Name: name}
	var f fields
	if mem, ret := h.GetMemoryInfo(); f.ok("memory_total_bytes", ret) {
		d.MemoryTotal = mem.Total
	}
	if major, minor, ret := h.GetCudaComputeCapability(); f.ok("compute_capability", ret) {
		d.ComputeCapability = fmt.Sprintf("%d.%d", major, minor)
		d.Family = Family(major, minor)
	}
	if hasMIG {
		current, _, ret := h.GetMigMode()
		switch ret {
		case nvml.SUCCESS:
			d.MIGCapable = true
			d.MIGEnabled = current == nvml.DEVICE_MIG_ENABLE
		case nvml.ERROR_NOT_SUPPORTED, nvml.ERROR_FUNCTION_NOT_FOUND:
			// Not a MIG GPU: capable and enabled are false, and known.
		default:
			f.ok("mig_capable", ret)
		}
	}
	if gen, ret := h.GetMaxPcieLinkGeneration(); f.ok("pcie_gen", ret) {
		d.PCIeGen = gen
	}
	if width, ret := h.GetMaxPcieLinkWidth(); f.ok("pcie_width", ret) {
		d.PCIeWidth = width
	}
	d.NVLinks = countNVLinks(h, &f)
	d.Class = Class(name, d.MemoryTotal)
	d.Pool = Pool(d.Class)
	d.Unknown = f.unknown
	return d, f.errs, nil
}

// countNVLinks counts active NVLink links. A GPU without NVLink answers
// ERROR_NOT_SUPPORTED for link 0; one with fewer links than NVML's maximum
// answers ERROR_INVALID_ARGUMENT past its last. Both end the count.
func countNVLinks(h nvml.Device, f *fields) int {
	active := 0
	for link := range nvml.NVLINK_MAX_LINKS {
		state, ret := h.GetNvLinkState(link)
		switch ret {
		case nvml.SUCCESS:
			if state == nvml.FEATURE_ENABLED {
				active++
			}
			continue
		case nvml.ERROR_NOT_SUPPORTED, nvml.ERROR_INVALID_ARGUMENT, nvml.ERROR_FUNCTION_NOT_FOUND:
		default:
			f.ok("nvlinks", ret)
		}
		break
	}
	return active
}

func (r *nvmlReader) read(ctx context.Context) ([]Telemetry, error) {
	return r.readAll(ctx, r.readDevice)
}

// readDevice reads one GPU's telemetry. Fields the GPU does not report are
// named in Telemetry.Unknown; other failures are returned too.
func (r *nvmlReader) readDevice(h nvml.Device) (Telemetry, error) {
	var t Telemetry
	var f fields
	if r.memV2 {
		// v2 leaves out the memory the driver reserves, which v1 counts as used.
		if mem, ret := h.GetMemoryInfo_v2(); f.ok(fieldMemoryUsed, ret) {
			t.MemoryUsed = mem.Used
		}
	} else if mem, ret := h.GetMemoryInfo(); f.ok(fieldMemoryUsed, ret) {
		t.MemoryUsed = mem.Used
	}
	if u, ret := h.GetUtilizationRates(); ret == nvml.SUCCESS {
		t.Utilization, t.MemoryUtilization = float64(u.Gpu), float64(u.Memory)
	} else {
		f.ok(fieldUtilization, ret)
		f.unknown = append(f.unknown, fieldMemoryUtilization)
	}
	if c, ret := h.GetTemperature(nvml.TEMPERATURE_GPU); f.ok(fieldTemperature, ret) {
		t.TemperatureC = float64(c)
	}
	if mw, ret := h.GetPowerUsage(); f.ok(fieldPower, ret) {
		t.PowerW = float64(mw) / 1000
	}
	if mw, ret := h.GetEnforcedPowerLimit(); f.ok(fieldPowerLimit, ret) {
		t.PowerLimitW = float64(mw) / 1000
	}
	if mhz, ret := h.GetClockInfo(nvml.CLOCK_SM); f.ok(fieldSMClock, ret) {
		t.SMClockMHz = int(mhz)
	}
	if mhz, ret := h.GetClockInfo(nvml.CLOCK_MEM); f.ok(fieldMemClock, ret) {
		t.MemClockMHz = int(mhz)
	}
	t.Unknown = f.unknown
	return t, errors.Join(f.errs...)
}

func (r *nvmlReader) close() error {
	if ret := r.lib.Shutdown(); ret != nvml.SUCCESS {
		return fmt.Errorf("shut down nvml: %w", ret)
	}
	return nil
}

// fields collects, while mapping one device or reading, the fields that
// came back without a value and the failures that were not "unsupported".
type fields struct {
	unknown []string
	errs    []error
}

// ok reports whether ret carries a value for field. ERROR_NOT_SUPPORTED and
// ERROR_FUNCTION_NOT_FOUND mark the field unknown; any other failure also
// records an error.
func (f *fields) ok(field string, ret nvml.Return) bool {
	switch ret {
	case nvml.SUCCESS:
		return true
	case nvml.ERROR_NOT_SUPPORTED, nvml.ERROR_FUNCTION_NOT_FOUND:
	default:
		f.errs = append(f.errs, fmt.Errorf("%s: %w", field, ret))
	}
	f.unknown = append(f.unknown, field)
	return false
}

// hasSymbol reports whether the loaded NVML library exports symbol, so a
// function newer than the oldest supported driver can be called safely.
func hasSymbol(lib nvml.Interface, symbol string) bool {
	return lib.Extensions().LookupSymbol(symbol) == nil
}

// DetectWithNVML is Detect with lib as the NVML library instead of the
// driver's: go-nvml's mock servers (pkg/nvml/mock/dgxa100 and others) in
// tests, so a node runs its real inventory path on a machine without a GPU.
func DetectWithNVML(ctx context.Context, dataDir string, lib nvml.Interface) (*Probe, Inventory, error) {
	env := systemEnv()
	env.openNVML = func() (reader, Inventory, error) { return openNVML(lib) }
	return env.detect(ctx, dataDir)
}
