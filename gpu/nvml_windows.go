//go:build windows

package gpu

// The smallest honest NVML loader for Windows: nvml.dll, which NVIDIA's
// driver installs, loaded without cgo through golang.org/x/sys/windows.
// Only System32 (current drivers) and %ProgramFiles%\NVIDIA
// Corporation\NVSMI (drivers before R418 or so) are tried, each by full
// path, never the DLL search path, so a nvml.dll planted next to the binary
// or in the working directory is never loaded. Every function is looked up
// before it is called (a missing one answers ERROR_FUNCTION_NOT_FOUND, and
// its field is unknown), since calling an absent proc would panic.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

// C buffer sizes from nvml.h.
const (
	nvmlNameBufferSize   = 96 // NVML_DEVICE_NAME_V2_BUFFER_SIZE
	nvmlUUIDBufferSize   = 96 // NVML_DEVICE_UUID_V2_BUFFER_SIZE
	nvmlDriverBufferSize = 80 // NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE
)

// openSystemNVML loads the driver's nvml.dll and maps its devices, or says
// why it cannot (no DLL: no NVIDIA driver; the node then offers the CPU).
func openSystemNVML() (reader, Inventory, error) {
	lib, err := loadNVMLDLL()
	if err != nil {
		return nil, Inventory{}, err
	}
	return openDLLNVML(lib)
}

// nvmlDLL calls into a loaded nvml.dll.
type nvmlDLL struct {
	dll   *windows.LazyDLL
	procs map[string]*windows.LazyProc
}

// loadNVMLDLL loads nvml.dll from System32, else from NVSMI's folder.
func loadNVMLDLL() (*nvmlDLL, error) {
	var errs []error
	candidates := []*windows.LazyDLL{windows.NewLazySystemDLL("nvml.dll")}
	if dir := programFiles(); dir != "" {
		candidates = append(candidates, windows.NewLazyDLL(filepath.Join(dir, "NVIDIA Corporation", "NVSMI", "nvml.dll")))
	}
	for _, dll := range candidates {
		if err := dll.Load(); err != nil {
			errs = append(errs, err)
			continue
		}
		return &nvmlDLL{dll: dll, procs: findProcs(dll)}, nil
	}
	return nil, fmt.Errorf("nvml unavailable: no nvml.dll (NVIDIA driver not installed?): %w", errors.Join(errs...))
}

// programFiles is the Program Files folder, or "" if it is unknown.
func programFiles() string {
	if dir, err := windows.KnownFolderPath(windows.FOLDERID_ProgramFiles, 0); err == nil && filepath.IsAbs(dir) {
		return dir
	}
	if dir := os.Getenv("ProgramFiles"); filepath.IsAbs(dir) {
		return dir
	}
	return ""
}

// nvmlFunctions are the functions nvmlDLL calls.
var nvmlFunctions = []string{
	"nvmlInit_v2", "nvmlShutdown", "nvmlSystemGetDriverVersion", "nvmlSystemGetCudaDriverVersion",
	"nvmlDeviceGetCount_v2", "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetName", "nvmlDeviceGetUUID",
	"nvmlDeviceGetMemoryInfo", "nvmlDeviceGetUtilizationRates", "nvmlDeviceGetCudaComputeCapability",
	"nvmlDeviceGetTemperature", "nvmlDeviceGetPowerUsage", "nvmlDeviceGetEnforcedPowerLimit",
	"nvmlDeviceGetClockInfo", "nvmlDeviceGetMaxPcieLinkGeneration", "nvmlDeviceGetMaxPcieLinkWidth",
}

// findProcs looks every function up once, so that the map is only read
// afterwards (the sampler and job meters call from their own goroutines);
// a function the DLL lacks is left out.
func findProcs(dll *windows.LazyDLL) map[string]*windows.LazyProc {
	procs := map[string]*windows.LazyProc{}
	for _, name := range nvmlFunctions {
		if p := dll.NewProc(name); p.Find() == nil {
			procs[name] = p
		}
	}
	return procs
}

// call calls the named function with args; NVML's functions return an
// nvmlReturn_t. LazyProc.Call keeps pointer arguments alive for the call.
//
//go:uintptrescapes
func (l *nvmlDLL) call(name string, args ...uintptr) nvmlReturn {
	p, ok := l.procs[name]
	if !ok {
		return nvmlErrFunctionMissing
	}
	r, _, _ := p.Call(args...)
	return nvmlReturn(uint32(r))
}

func (l *nvmlDLL) initialize() nvmlReturn { return l.call("nvmlInit_v2") }
func (l *nvmlDLL) shutdown() nvmlReturn   { return l.call("nvmlShutdown") }

func (l *nvmlDLL) driverVersion() (string, nvmlReturn) {
	buf := make([]byte, nvmlDriverBufferSize)
	ret := l.call("nvmlSystemGetDriverVersion", uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	return cString(buf), ret
}

func (l *nvmlDLL) cudaDriverVersion() (int, nvmlReturn) {
	var v int32
	ret := l.call("nvmlSystemGetCudaDriverVersion", uintptr(unsafe.Pointer(&v)))
	return int(v), ret
}

func (l *nvmlDLL) deviceCount() (int, nvmlReturn) {
	var n uint32
	ret := l.call("nvmlDeviceGetCount_v2", uintptr(unsafe.Pointer(&n)))
	return int(n), ret
}

func (l *nvmlDLL) deviceHandle(index int) (nvmlDevice, nvmlReturn) {
	var h uintptr
	ret := l.call("nvmlDeviceGetHandleByIndex_v2", uintptr(uint32(index)), uintptr(unsafe.Pointer(&h)))
	return nvmlDevice(h), ret
}

func (l *nvmlDLL) deviceName(d nvmlDevice) (string, nvmlReturn) {
	buf := make([]byte, nvmlNameBufferSize)
	ret := l.call("nvmlDeviceGetName", uintptr(d), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	return cString(buf), ret
}

func (l *nvmlDLL) deviceUUID(d nvmlDevice) (string, nvmlReturn) {
	buf := make([]byte, nvmlUUIDBufferSize)
	ret := l.call("nvmlDeviceGetUUID", uintptr(d), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	return cString(buf), ret
}

func (l *nvmlDLL) memoryInfo(d nvmlDevice) (total, used uint64, ret nvmlReturn) {
	var m struct{ total, free, used uint64 } // nvmlMemory_t
	ret = l.call("nvmlDeviceGetMemoryInfo", uintptr(d), uintptr(unsafe.Pointer(&m)))
	return m.total, m.used, ret
}

func (l *nvmlDLL) utilization(d nvmlDevice) (gpu, memory uint32, ret nvmlReturn) {
	var u struct{ gpu, memory uint32 } // nvmlUtilization_t
	ret = l.call("nvmlDeviceGetUtilizationRates", uintptr(d), uintptr(unsafe.Pointer(&u)))
	return u.gpu, u.memory, ret
}

func (l *nvmlDLL) computeCapability(d nvmlDevice) (major, minor int, ret nvmlReturn) {
	var ma, mi int32
	ret = l.call("nvmlDeviceGetCudaComputeCapability", uintptr(d), uintptr(unsafe.Pointer(&ma)), uintptr(unsafe.Pointer(&mi)))
	return int(ma), int(mi), ret
}

// nvmlUintCalls names the function of each query and its extra argument
// (the sensor or clock), if any.
var nvmlUintCalls = map[nvmlQuery]struct {
	name   string
	arg    uintptr
	hasArg bool
}{
	queryTemperature: {"nvmlDeviceGetTemperature", 0, true}, // NVML_TEMPERATURE_GPU
	queryPower:       {"nvmlDeviceGetPowerUsage", 0, false},
	queryPowerLimit:  {"nvmlDeviceGetEnforcedPowerLimit", 0, false},
	querySMClock:     {"nvmlDeviceGetClockInfo", 1, true}, // NVML_CLOCK_SM
	queryMemClock:    {"nvmlDeviceGetClockInfo", 2, true}, // NVML_CLOCK_MEM
	queryPCIeGen:     {"nvmlDeviceGetMaxPcieLinkGeneration", 0, false},
	queryPCIeWidth:   {"nvmlDeviceGetMaxPcieLinkWidth", 0, false},
}

func (l *nvmlDLL) deviceUint(d nvmlDevice, q nvmlQuery) (uint32, nvmlReturn) {
	c, ok := nvmlUintCalls[q]
	if !ok {
		return 0, nvmlErrFunctionMissing
	}
	var v uint32
	var ret nvmlReturn
	if c.hasArg {
		ret = l.call(c.name, uintptr(d), c.arg, uintptr(unsafe.Pointer(&v)))
	} else {
		ret = l.call(c.name, uintptr(d), uintptr(unsafe.Pointer(&v)))
	}
	return v, ret
}
