package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"go.yaml.in/yaml/v3"
)

// The devices a job holds (Job.Devices) are the only GPUs its work sees:
// a container gets them as Engine API device requests (the NVIDIA
// runtime's, or CDI names where the NVIDIA Container Toolkit wrote CDI
// specs), a process as CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES.
// Work that holds none sees none: the variables say so ("" and "void"),
// since CUDA and the NVIDIA runtime both read "unset" as "every GPU".

// Device environment variables the provider sets for every process job
// and container; no job may set them (EnvNeverAllowed).
const (
	EnvCUDAVisible   = "CUDA_VISIBLE_DEVICES"
	EnvNVIDIAVisible = "NVIDIA_VISIBLE_DEVICES"
	EnvCUDAOrder     = "CUDA_DEVICE_ORDER"
)

// deviceEnvNames are the variables that choose which GPUs a program sees
// (CUDA's, the NVIDIA runtime's, ROCm's, OpenCL's): set by the provider
// from the job's devices, never by the job.
var deviceEnvNames = map[string]bool{
	EnvCUDAVisible: true, EnvNVIDIAVisible: true, EnvCUDAOrder: true,
	"ROCR_VISIBLE_DEVICES": true, "HIP_VISIBLE_DEVICES": true, "GPU_DEVICE_ORDINAL": true,
}

// deviceEnvReason is why a job may not set a deviceEnvNames variable.
const deviceEnvReason = "the provider sets it to the GPUs the job holds"

// deviceID is how d is named to CUDA and the NVIDIA runtime: its UUID,
// else its NVML index.
func deviceID(d Device) string {
	if d.UUID != "" {
		return d.UUID
	}
	return strconv.Itoa(d.Index)
}

// deviceIDs names devs, in order.
func deviceIDs(devs []Device) []string {
	out := make([]string, len(devs))
	for i, d := range devs {
		out[i] = deviceID(d)
	}
	return out
}

// DeviceEnv is the environment that shows a process exactly devs:
// CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES list their UUIDs (""
// and "void" when there are none, so that no GPU is visible), and
// CUDA_DEVICE_ORDER is PCI_BUS_ID, so that an index means what NVML's
// does.
func DeviceEnv(devs []Device) map[string]string {
	ids := strings.Join(deviceIDs(devs), ",")
	nv := ids
	if nv == "" {
		nv = "void"
	}
	return map[string]string{EnvCUDAVisible: ids, EnvNVIDIAVisible: nv, EnvCUDAOrder: "PCI_BUS_ID"}
}

// checkDevices refuses devices a job cannot be given: more than 64, one
// named twice, or a negative index.
func checkDevices(devs []Device) error {
	if len(devs) > 64 {
		return fmt.Errorf("%w: %d devices, at most 64", ErrBadSpec, len(devs))
	}
	seen := map[string]bool{}
	for _, d := range devs {
		id := deviceID(d)
		if d.Index < 0 || seen[id] || strings.ContainsAny(id, ",= \t\n\x00") {
			return fmt.Errorf("%w: device %d (%q) is negative, named twice or not a name", ErrBadSpec, d.Index, d.UUID)
		}
		seen[id] = true
	}
	return nil
}

// GPUAccess is how a Docker engine can give a container GPUs, as its Info
// says: the NVIDIA runtime (device requests with driver "nvidia"), or CDI
// devices of kind nvidia.com/gpu that the NVIDIA Container Toolkit
// generated (device requests with driver "cdi", by CDI name). The zero
// value gives no GPU: a job holding GPUs is refused.
type GPUAccess struct {
	// NvidiaRuntime says the engine has a runtime named "nvidia".
	NvidiaRuntime bool `json:"nvidia_runtime,omitempty"`
	// CDI are the engine's CDI names of NVIDIA GPUs
	// ("nvidia.com/gpu=GPU-…", "nvidia.com/gpu=0"), sorted.
	CDI []string `json:"cdi,omitempty"`
}

// None says the engine can give no container a GPU.
func (a GPUAccess) None() bool { return !a.NvidiaRuntime && len(a.CDI) == 0 }

// NoGPUsReason is why the engine cannot give containers GPUs, for a
// provider's refusals.
const NoGPUsReason = "the Docker engine has neither the NVIDIA runtime nor CDI specs of NVIDIA GPUs (install the NVIDIA Container Toolkit)"

// cdiKind is the CDI kind of NVIDIA GPUs.
const cdiKind = "nvidia.com/gpu"

// maxCDISpecBytes bounds a CDI spec file read.
const maxCDISpecBytes = 4 << 20

// DetectGPUs asks the engine how it can give containers GPUs (its Info:
// runtimes, CDI devices and spec folders) and keeps the answer: Start
// then hands each job exactly its devices that way, and refuses a job
// holding GPUs when there is none. Call it before the executor is used.
func (d *Docker) DetectGPUs(ctx context.Context) (GPUAccess, error) {
	res, err := d.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return GPUAccess{}, fmt.Errorf("%w: docker engine info: %w", ErrUnavailable, err)
	}
	info := res.Info
	a := GPUAccess{}
	_, a.NvidiaRuntime = info.Runtimes["nvidia"]
	for _, dev := range info.DiscoveredDevices {
		if dev.Source == "cdi" && strings.HasPrefix(dev.ID, cdiKind+"=") {
			a.CDI = append(a.CDI, dev.ID)
		}
	}
	if len(a.CDI) == 0 {
		a.CDI = cdiDevices(info.CDISpecDirs)
	}
	slices.Sort(a.CDI)
	a.CDI = slices.Compact(a.CDI)
	d.cfg.GPUs = a
	return a, nil
}

// cdiDevices lists the nvidia.com/gpu devices the CDI spec files in dirs
// define, as CDI names; unreadable or foreign files are skipped.
func cdiDevices(dirs []string) []string {
	var out []string
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			ext := filepath.Ext(e.Name())
			if !e.Type().IsRegular() || (ext != ".yaml" && ext != ".json") {
				continue
			}
			data, err := readLimited(filepath.Join(dir, e.Name()), maxCDISpecBytes)
			if err != nil {
				continue
			}
			out = append(out, ParseCDISpec(data)...)
		}
	}
	return out
}

// readLimited reads the file at path, refusing one over limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is over %d bytes", path, limit)
	}
	return data, nil
}

// cdiSpec is the part of a CDI spec file (YAML or JSON) that names its
// devices.
type cdiSpec struct {
	Kind    string `yaml:"kind"`
	Devices []struct {
		Name string `yaml:"name"`
	} `yaml:"devices"`
}

// ParseCDISpec returns the CDI names of the NVIDIA GPUs a CDI spec file
// defines ("nvidia.com/gpu=<name>"), or none for a spec of another kind
// or one that does not parse.
func ParseCDISpec(data []byte) []string {
	var s cdiSpec
	if err := yaml.Unmarshal(data, &s); err != nil || s.Kind != cdiKind {
		return nil
	}
	var out []string
	for _, d := range s.Devices {
		if d.Name != "" && len(d.Name) <= 128 && !strings.ContainsAny(d.Name, "=, \t\r\n\x00") {
			out = append(out, cdiKind+"="+d.Name)
		}
	}
	return out
}

// ErrNoGPUAccess refuses a container job holding GPUs on an engine that
// cannot give them (GPUAccess.None). It wraps ErrUnavailable.
var ErrNoGPUAccess = fmt.Errorf("%w: no GPUs for containers", ErrUnavailable)

// dockerDeviceCheck refuses a container job whose devices do not fit: a
// spec asking for another number of GPUs than the job holds (0 takes what
// it holds), or GPUs on an engine that cannot give them.
func dockerDeviceCheck(a GPUAccess, s *DockerSpec, devs []Device) error {
	var errs []error
	if err := checkDevices(devs); err != nil {
		errs = append(errs, err)
	}
	if s.GPUs > 0 && s.GPUs != len(devs) {
		errs = append(errs, fmt.Errorf("%w: docker: gpus: %d asked, the job holds %d here", ErrNotAllowed, s.GPUs, len(devs)))
	}
	if len(devs) > 0 && a.None() {
		errs = append(errs, fmt.Errorf("%w: docker: %s", ErrNoGPUAccess, NoGPUsReason))
	}
	return errors.Join(errs...)
}

// deviceRequests are the device requests that give a container exactly
// devs: CDI names where the engine knows every device by one (UUID first,
// then index), else the NVIDIA runtime's request by UUID. None for no
// devices.
func deviceRequests(a GPUAccess, devs []Device) []container.DeviceRequest {
	if len(devs) == 0 {
		return nil
	}
	if names, ok := cdiNames(a, devs); ok {
		return []container.DeviceRequest{{Driver: "cdi", DeviceIDs: names}}
	}
	return []container.DeviceRequest{{Driver: "nvidia", DeviceIDs: deviceIDs(devs), Capabilities: [][]string{{"gpu"}}}}
}

// cdiNames names each of devs as one of a's CDI devices, by UUID or else
// by index; false when one has no CDI name.
func cdiNames(a GPUAccess, devs []Device) ([]string, bool) {
	if len(a.CDI) == 0 {
		return nil, false
	}
	out := make([]string, 0, len(devs))
	for _, d := range devs {
		byUUID, byIndex := cdiKind+"="+d.UUID, cdiKind+"="+strconv.Itoa(d.Index)
		switch {
		case d.UUID != "" && slices.Contains(a.CDI, byUUID):
			out = append(out, byUUID)
		case slices.Contains(a.CDI, byIndex):
			out = append(out, byIndex)
		default:
			return nil, false
		}
	}
	return out, true
}

// GPUAccess is how the engine gives containers GPUs, as DetectGPUs found.
func (d *Docker) GPUAccess() GPUAccess { return d.cfg.GPUs }

// NoGPUs says, by name, which of the set's executors cannot hand GPUs to
// their work and why: a docker executor whose engine has neither the
// NVIDIA runtime nor CDI GPU devices. A provider does not bid GPUs to
// them. Call it on the executors Open returned, before any wrapping.
func (s Set) NoGPUs() map[string]string {
	out := map[string]string{}
	for name, e := range s {
		if d, ok := e.(*Docker); ok && d.GPUAccess().None() {
			out[name] = NoGPUsReason
		}
	}
	return out
}
