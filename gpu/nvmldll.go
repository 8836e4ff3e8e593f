package gpu

// NVML without go-nvml: on Windows the node loads the driver's nvml.dll
// itself (nvml_windows.go), since go-nvml binds libnvidia-ml.so through
// cgo only. This file is what that loader feeds, written against a small
// interface with one method per NVML function it calls, so the mapping
// into an Inventory, the telemetry reads and the per-job meter are pure Go,
// built everywhere and tested on Linux with a fake. It mirrors nvml.go's
// mapping (UUID and name required, other fields unknown when the driver
// does not report them) for the functions a Windows driver offers; MIG and
// NVLink are not read (GeForce and workstation cards on Windows have
// neither, or not in a form NVML reports there).

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// nvmlReturn is an NVML return code (nvmlReturn_t) as the C API gives it.
type nvmlReturn uint32

// The NVML return codes the mapping tells apart (nvml.h).
const (
	nvmlSuccess            nvmlReturn = 0
	nvmlErrInvalidArgument nvmlReturn = 2
	nvmlErrNotSupported    nvmlReturn = 3
	nvmlErrDriverNotLoaded nvmlReturn = 9
	nvmlErrFunctionMissing nvmlReturn = 13
	nvmlErrGPUIsLost       nvmlReturn = 15
	nvmlErrUnknown         nvmlReturn = 999
)

// nvmlReturnNames names the codes as nvml.h does.
var nvmlReturnNames = map[nvmlReturn]string{
	0: "SUCCESS", 1: "ERROR_UNINITIALIZED", 2: "ERROR_INVALID_ARGUMENT", 3: "ERROR_NOT_SUPPORTED",
	4: "ERROR_NO_PERMISSION", 5: "ERROR_ALREADY_INITIALIZED", 6: "ERROR_NOT_FOUND",
	7: "ERROR_INSUFFICIENT_SIZE", 8: "ERROR_INSUFFICIENT_POWER", 9: "ERROR_DRIVER_NOT_LOADED",
	10: "ERROR_TIMEOUT", 11: "ERROR_IRQ_ISSUE", 12: "ERROR_LIBRARY_NOT_FOUND",
	13: "ERROR_FUNCTION_NOT_FOUND", 14: "ERROR_CORRUPTED_INFOROM", 15: "ERROR_GPU_IS_LOST",
	16: "ERROR_RESET_REQUIRED", 17: "ERROR_OPERATING_SYSTEM", 18: "ERROR_LIB_RM_VERSION_MISMATCH",
	19: "ERROR_IN_USE", 20: "ERROR_MEMORY", 21: "ERROR_NO_DATA", 999: "ERROR_UNKNOWN",
}

// Error names the code, so a return is an error errors.Is can match.
func (r nvmlReturn) Error() string {
	if n, ok := nvmlReturnNames[r]; ok {
		return "nvml " + n
	}
	return fmt.Sprintf("nvml return %d", uint32(r))
}

// nvmlQuery is a device reading that NVML answers with one unsigned int.
type nvmlQuery int

// The one-number device readings (and the NVML function of each).
const (
	queryTemperature nvmlQuery = iota // nvmlDeviceGetTemperature(NVML_TEMPERATURE_GPU), °C
	queryPower                        // nvmlDeviceGetPowerUsage, mW
	queryPowerLimit                   // nvmlDeviceGetEnforcedPowerLimit, mW
	querySMClock                      // nvmlDeviceGetClockInfo(NVML_CLOCK_SM), MHz
	queryMemClock                     // nvmlDeviceGetClockInfo(NVML_CLOCK_MEM), MHz
	queryPCIeGen                      // nvmlDeviceGetMaxPcieLinkGeneration
	queryPCIeWidth                    // nvmlDeviceGetMaxPcieLinkWidth
)

// nvmlDevice is an opaque nvmlDevice_t handle.
type nvmlDevice uintptr

// dllNVML is NVML's C API as a loaded library offers it: one method per
// function called (more than the house's 1-3 methods, because it stands
// for a C library's surface, not a Go abstraction). A function the library
// lacks answers nvmlErrFunctionMissing.
type dllNVML interface {
	// initialize is nvmlInit_v2; shutdown is nvmlShutdown.
	initialize() nvmlReturn
	shutdown() nvmlReturn
	// driverVersion is nvmlSystemGetDriverVersion.
	driverVersion() (string, nvmlReturn)
	// cudaDriverVersion is nvmlSystemGetCudaDriverVersion (1000*major + 10*minor).
	cudaDriverVersion() (int, nvmlReturn)
	// deviceCount is nvmlDeviceGetCount_v2.
	deviceCount() (int, nvmlReturn)
	// deviceHandle is nvmlDeviceGetHandleByIndex_v2.
	deviceHandle(index int) (nvmlDevice, nvmlReturn)
	// deviceName and deviceUUID are nvmlDeviceGetName and nvmlDeviceGetUUID.
	deviceName(d nvmlDevice) (string, nvmlReturn)
	deviceUUID(d nvmlDevice) (string, nvmlReturn)
	// memoryInfo is nvmlDeviceGetMemoryInfo: total and used bytes.
	memoryInfo(d nvmlDevice) (total, used uint64, ret nvmlReturn)
	// utilization is nvmlDeviceGetUtilizationRates: GPU and memory percent.
	utilization(d nvmlDevice) (gpu, memory uint32, ret nvmlReturn)
	// computeCapability is nvmlDeviceGetCudaComputeCapability.
	computeCapability(d nvmlDevice) (major, minor int, ret nvmlReturn)
	// deviceUint is the reading q of d.
	deviceUint(d nvmlDevice, q nvmlQuery) (uint32, nvmlReturn)
}

// openDLLNVML initialises lib and maps its devices; on error it shuts lib
// down again and says why NVML cannot be used.
func openDLLNVML(lib dllNVML) (reader, Inventory, error) {
	if ret := lib.initialize(); ret != nvmlSuccess {
		return nil, Inventory{}, fmt.Errorf("init nvml: %w", ret)
	}
	r, inv, err := mapDLLNVML(lib)
	if err != nil {
		lib.shutdown()
		return nil, Inventory{}, err
	}
	return r, inv, nil
}

// dllReader reads the telemetry of the GPUs mapDLLNVML found, and meters
// jobs on them (deviceMeter).
type dllReader struct {
	handleSet[nvmlDevice]
	lib dllNVML
}

// mapDLLNVML is mapNVML for a dllNVML: the Inventory (Source, Driver, CUDA,
// Devices, Warnings) and a reader. A GPU that does not tell its UUID or
// name is left out with a warning; it fails only when NVML cannot count
// its devices or none is usable.
func mapDLLNVML(lib dllNVML) (*dllReader, Inventory, error) {
	inv := Inventory{Source: SourceNVML}
	driver, dret := lib.driverVersion()
	cuda, cret := lib.cudaDriverVersion()
	versions(&inv, driver, dret.err(), cuda, cret.err())
	n, ret := lib.deviceCount()
	if ret != nvmlSuccess {
		return nil, Inventory{}, fmt.Errorf("count nvml devices: %w", ret)
	}
	r := &dllReader{lib: lib}
	handle := func(i int) (nvmlDevice, error) {
		h, ret := lib.deviceHandle(i)
		return h, ret.err()
	}
	mapOne := func(h nvmlDevice, i int) (Device, []error, error) { return mapDLLDevice(lib, h, i) }
	var err error
	if r.handleSet, err = mapHandles(&inv, min(n, maxDLLDevices), handle, mapOne); err != nil {
		return nil, Inventory{}, err
	}
	return r, inv, nil
}

// err is ret as an error, nil for success.
func (ret nvmlReturn) err() error {
	if ret == nvmlSuccess {
		return nil
	}
	return ret
}

// maxDLLDevices bounds the devices mapped: a broken driver answering a
// huge count must not make the node loop for long.
const maxDLLDevices = 64

// mapDLLDevice maps one GPU, as mapDevice does.
func mapDLLDevice(lib dllNVML, h nvmlDevice, index int) (Device, []error, error) {
	uuid, ret := lib.deviceUUID(h)
	if ret != nvmlSuccess {
		return Device{}, nil, fmt.Errorf("get uuid: %w", ret)
	}
	if uuid == "" {
		return Device{}, nil, errors.New("get uuid: empty")
	}
	name, ret := lib.deviceName(h)
	if ret != nvmlSuccess {
		return Device{}, nil, fmt.Errorf("get name of %s: %w", uuid, ret)
	}
	d := Device{Index: index, ID: uuid, UUID: uuid, Name: name}
	var f dllFields
	if total, _, ret := lib.memoryInfo(h); f.ok("memory_total_bytes", ret) {
		d.MemoryTotal = total
	}
	if major, minor, ret := lib.computeCapability(h); f.ok("compute_capability", ret) {
		d.ComputeCapability = fmt.Sprintf("%d.%d", major, minor)
		d.Family = Family(major, minor)
	}
	if gen, ret := lib.deviceUint(h, queryPCIeGen); f.ok("pcie_gen", ret) {
		d.PCIeGen = int(gen)
	}
	if width, ret := lib.deviceUint(h, queryPCIeWidth); f.ok("pcie_width", ret) {
		d.PCIeWidth = int(width)
	}
	d.Class = Class(name, d.MemoryTotal)
	d.Pool = Pool(d.Class)
	d.Unknown = f.unknown
	return d, f.errs, nil
}

func (r *dllReader) read(ctx context.Context) ([]Telemetry, error) {
	return r.readAll(ctx, r.readDevice)
}

// readDevice reads one GPU's telemetry, as nvmlReader.readDevice does.
func (r *dllReader) readDevice(h nvmlDevice) (Telemetry, error) {
	var t Telemetry
	var f dllFields
	if _, used, ret := r.lib.memoryInfo(h); f.ok(fieldMemoryUsed, ret) {
		t.MemoryUsed = used
	}
	if gpu, mem, ret := r.lib.utilization(h); ret == nvmlSuccess {
		t.Utilization, t.MemoryUtilization = float64(gpu), float64(mem)
	} else {
		f.ok(fieldUtilization, ret)
		f.unknown = append(f.unknown, fieldMemoryUtilization)
	}
	for _, q := range []struct {
		field string
		query nvmlQuery
		set   func(uint32)
	}{
		{fieldTemperature, queryTemperature, func(v uint32) { t.TemperatureC = float64(v) }},
		{fieldPower, queryPower, func(v uint32) { t.PowerW = float64(v) / 1000 }},
		{fieldPowerLimit, queryPowerLimit, func(v uint32) { t.PowerLimitW = float64(v) / 1000 }},
		{fieldSMClock, querySMClock, func(v uint32) { t.SMClockMHz = int(v) }},
		{fieldMemClock, queryMemClock, func(v uint32) { t.MemClockMHz = int(v) }},
	} {
		if v, ret := r.lib.deviceUint(h, q.query); f.ok(q.field, ret) {
			q.set(v)
		}
	}
	t.Unknown = f.unknown
	return t, errors.Join(f.errs...)
}

func (r *dllReader) close() error {
	if ret := r.lib.shutdown(); ret != nvmlSuccess {
		return fmt.Errorf("shut down nvml: %w", ret)
	}
	return nil
}

// sample implements deviceMeter: utilisation and the device's memory in
// use (the per-process figures are not read through the DLL, so the meter
// counts the device's use above what it was at the job's start).
func (r *dllReader) sample(k int) (deviceSample, error) {
	h := r.handles[k]
	var s deviceSample
	g, _, uret := r.lib.utilization(h)
	if uret == nvmlSuccess {
		s.util, s.utilOK = float64(g), true
	}
	_, used, mret := r.lib.memoryInfo(h)
	if mret == nvmlSuccess {
		s.mem, s.memOK = used, true
	}
	if !s.utilOK && !s.memOK {
		return s, fmt.Errorf("gpu %s: utilization: %w; memory: %w", r.ids[k], uret, mret)
	}
	return s, nil
}

// dllFields is fields for nvmlReturn codes: what a device did not report.
type dllFields struct {
	unknown []string
	errs    []error
}

// ok reports whether ret carries a value for field; not supported and
// function not found mark it unknown, other failures also record an error.
func (f *dllFields) ok(field string, ret nvmlReturn) bool {
	switch ret {
	case nvmlSuccess:
		return true
	case nvmlErrNotSupported, nvmlErrFunctionMissing:
	default:
		f.errs = append(f.errs, fmt.Errorf("%s: %w", field, ret))
	}
	f.unknown = append(f.unknown, field)
	return false
}

// cString decodes a NUL-terminated C string from buf: the bytes before the
// first NUL, invalid UTF-8 replaced, spaces trimmed.
func cString(buf []byte) string {
	if i := strings.IndexByte(string(buf), 0); i >= 0 {
		buf = buf[:i]
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(buf), "\uFFFD"))
}
