package gpu

import (
	"strconv"
	"strings"
	"time"
)

// Where an Inventory came from: Inventory.Source.
const (
	// SourceNVML means NVIDIA GPUs, read through the driver's NVML library.
	SourceNVML = "nvml"
	// SourceApple means an Apple Silicon GPU, read through system_profiler.
	SourceApple = "apple"
	// SourceCPU means no GPU was usable: the node offers its CPU.
	SourceCPU = "cpu"
)

// Inventory is what a node has to offer, taken once at start by Detect. It
// is what GET /api/v1/gpu and `gpumesh gpu --json` show.
type Inventory struct {
	// Source is SourceNVML, SourceApple or SourceCPU.
	Source string `json:"source"`
	// NVMLError says why NVML was not used (no driver, a build without
	// cgo, no devices); empty when Source is SourceNVML.
	NVMLError string `json:"nvml_error,omitempty"`
	// Driver is the NVIDIA driver version, such as "550.54.15".
	Driver string `json:"driver,omitempty"`
	// CUDA is the highest CUDA version the driver supports, such as "12.4".
	CUDA string `json:"cuda,omitempty"`
	// Devices are the compute devices offered, in the driver's order: the
	// GPUs, or one device standing for the CPU.
	Devices []Device `json:"devices"`
	// Host describes the machine around the devices.
	Host Host `json:"host"`
	// Virtualization says whether the node runs in a VM or a container.
	Virtualization Virtualization `json:"virtualization"`
	// Warnings lists what could not be read without stopping detection,
	// such as a GPU that did not answer or a data dir whose free space is
	// unknown.
	Warnings []string `json:"warnings,omitempty"`
}

// Device is one compute device: a GPU, or the CPU when there is no GPU.
type Device struct {
	// Index is NVML's index for an NVIDIA GPU (nvidia-smi's), else the
	// device's position in Inventory.Devices.
	Index int `json:"index"`
	// ID is the key of this device in telemetry: the UUID for NVIDIA, else
	// a name stable on this host ("apple0", "cpu0").
	ID string `json:"id"`
	// UUID is the NVIDIA GPU UUID ("GPU-..."), empty for other devices.
	UUID string `json:"uuid,omitempty"`
	// Name is the model as the hardware reports it.
	Name string `json:"name"`
	// Class is the model's class (see Class): the network's capability key.
	Class string `json:"class"`
	// Pool is the incentive pool of Class (see Pool).
	Pool string `json:"pool"`
	// MemoryTotal is the device memory in bytes: VRAM, the unified memory
	// of an Apple chip, or the RAM for the CPU.
	MemoryTotal uint64 `json:"memory_total_bytes"`
	// Cores counts GPU cores on Apple Silicon and physical cores for the CPU.
	Cores int `json:"cores,omitempty"`
	// ComputeCapability is the CUDA compute capability, such as "8.0".
	ComputeCapability string `json:"compute_capability,omitempty"`
	// Family is the NVIDIA architecture named as gpu-feature-discovery
	// does (see Family), such as "ampere".
	Family string `json:"family,omitempty"`
	// MIGCapable says whether the GPU can be split into MIG instances.
	MIGCapable bool `json:"mig_capable"`
	// MIGEnabled says whether MIG mode is on now.
	MIGEnabled bool `json:"mig_enabled"`
	// PCIeGen is the fastest PCIe generation this GPU and this machine can
	// link at together (an idle link drops lower to save power).
	PCIeGen int `json:"pcie_gen,omitempty"`
	// PCIeWidth is the widest PCIe link, in lanes, this GPU and this machine
	// can make together.
	PCIeWidth int `json:"pcie_width,omitempty"`
	// NVLinks counts the active NVLink links.
	NVLinks int `json:"nvlinks"`
	// Unknown names (as in JSON) the fields this device did not report:
	// their values are zero and mean nothing.
	Unknown []string `json:"unknown,omitempty"`
	// Telemetry is the latest reading, when there is one.
	Telemetry Telemetry `json:"telemetry,omitzero"`
}

// Host describes the machine: what a CPU job gets, and the disk a job's data
// lands on.
type Host struct {
	// CPUModel is the processor model, such as "AMD EPYC 7763 64-Core Processor".
	CPUModel string `json:"cpu_model"`
	// Cores counts physical cores.
	Cores int `json:"cores"`
	// Threads counts logical CPUs (hardware threads).
	Threads int `json:"threads"`
	// OS is runtime.GOOS.
	OS string `json:"os"`
	// Arch is runtime.GOARCH.
	Arch string `json:"arch"`
	// MemoryBytes is the installed RAM.
	MemoryBytes uint64 `json:"memory_bytes"`
	// DiskPath is the folder whose free space DiskFreeBytes reports: the
	// node's data dir.
	DiskPath string `json:"disk_path,omitempty"`
	// DiskFreeBytes is the space an unprivileged process may still use there.
	DiskFreeBytes uint64 `json:"disk_free_bytes"`
}

// Telemetry is one reading of one device.
type Telemetry struct {
	// Device is the Device.ID read.
	Device string `json:"device"`
	// Time is when the reading was taken.
	Time time.Time `json:"time,omitzero"`
	// Utilization is the percent of time the device was busy: the GPU's
	// kernels, or all CPUs for the CPU.
	Utilization float64 `json:"utilization"`
	// MemoryUtilization is the percent of time the GPU's memory was being
	// read or written.
	MemoryUtilization float64 `json:"memory_utilization"`
	// MemoryUsed is the device memory in use, in bytes.
	MemoryUsed uint64 `json:"memory_used_bytes"`
	// TemperatureC is the GPU die temperature in degrees Celsius.
	TemperatureC float64 `json:"temperature_c"`
	// PowerW is the power draw in watts.
	PowerW float64 `json:"power_w"`
	// PowerLimitW is the power limit the driver enforces now, in watts.
	PowerLimitW float64 `json:"power_limit_w"`
	// SMClockMHz is the current clock of the streaming multiprocessors.
	SMClockMHz int `json:"sm_clock_mhz"`
	// MemClockMHz is the current memory clock.
	MemClockMHz int `json:"mem_clock_mhz"`
	// Unknown names (as in JSON) the fields this reading lacks because the
	// device does not report them or failed to: their values are zero and
	// mean nothing.
	Unknown []string `json:"unknown,omitempty"`
}

// Known reports whether the reading has a value for field, named as in JSON
// ("power_w"); a field the device did not report reads as zero.
func (t Telemetry) Known(field string) bool {
	for _, u := range t.Unknown {
		if u == field {
			return false
		}
	}
	return true
}

// WithTelemetry returns a copy of inv whose devices carry the readings in
// latest (as from Sampler.Latest), matched by device ID; devices without a
// reading keep the one they had.
func (inv Inventory) WithTelemetry(latest []Telemetry) Inventory {
	byID := make(map[string]Telemetry, len(latest))
	for _, t := range latest {
		byID[t.Device] = t
	}
	out := inv
	out.Devices = make([]Device, len(inv.Devices))
	for i, d := range inv.Devices {
		if t, ok := byID[d.ID]; ok {
			d.Telemetry = t
		}
		out.Devices[i] = d
	}
	return out
}

// Labels describes an NVIDIA inventory with the node labels NVIDIA's
// gpu-feature-discovery sets in Kubernetes (nvidia.com/gpu.product,
// gpu.memory in MiB, gpu.family, gpu.compute.major and minor, gpu.count,
// cuda.driver.* and cuda.runtime.* in both GFD's older and newer spellings,
// mig.capable), so schedulers and operators share one vocabulary. Like GFD,
// the product, memory and architecture are the first GPU's. Other sources
// have no GFD labels: the result is empty.
func (inv Inventory) Labels() map[string]string {
	labels := map[string]string{}
	if inv.Source != SourceNVML || len(inv.Devices) == 0 {
		return labels
	}
	first := inv.Devices[0]
	labels["nvidia.com/gpu.count"] = strconv.Itoa(len(inv.Devices))
	labels["nvidia.com/gpu.product"] = strings.ReplaceAll(first.Name, " ", "-")
	if first.MemoryTotal > 0 {
		labels["nvidia.com/gpu.memory"] = strconv.FormatUint(first.MemoryTotal>>20, 10)
	}
	if major, minor, ok := splitVersion2(first.ComputeCapability); ok && major > 0 {
		labels["nvidia.com/gpu.family"] = Family(major, minor)
		labels["nvidia.com/gpu.compute.major"] = strconv.Itoa(major)
		labels["nvidia.com/gpu.compute.minor"] = strconv.Itoa(minor)
	}
	mig := false
	for _, d := range inv.Devices {
		mig = mig || d.MIGCapable
	}
	labels["nvidia.com/mig.capable"] = strconv.FormatBool(mig)
	if parts := strings.Split(inv.Driver, "."); len(parts) == 2 || len(parts) == 3 {
		rev := ""
		if len(parts) == 3 {
			rev = parts[2]
		}
		labels["nvidia.com/cuda.driver.major"] = parts[0]
		labels["nvidia.com/cuda.driver.minor"] = parts[1]
		labels["nvidia.com/cuda.driver.rev"] = rev
		labels["nvidia.com/cuda.driver-version.major"] = parts[0]
		labels["nvidia.com/cuda.driver-version.minor"] = parts[1]
		labels["nvidia.com/cuda.driver-version.revision"] = rev
		labels["nvidia.com/cuda.driver-version.full"] = inv.Driver
	}
	if major, minor, ok := splitVersion2(inv.CUDA); ok {
		labels["nvidia.com/cuda.runtime.major"] = strconv.Itoa(major)
		labels["nvidia.com/cuda.runtime.minor"] = strconv.Itoa(minor)
		labels["nvidia.com/cuda.runtime-version.major"] = strconv.Itoa(major)
		labels["nvidia.com/cuda.runtime-version.minor"] = strconv.Itoa(minor)
		labels["nvidia.com/cuda.runtime-version.full"] = inv.CUDA
	}
	return labels
}

// splitVersion2 parses "MAJOR.MINOR".
func splitVersion2(s string) (major, minor int, ok bool) {
	a, b, found := strings.Cut(s, ".")
	if !found {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(a)
	minor, err2 := strconv.Atoi(b)
	return major, minor, err1 == nil && err2 == nil
}
