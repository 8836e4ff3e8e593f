package gpu

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
)

// Probe reads the live telemetry of the devices Detect found. A Sampler
// polls it; Close releases the driver. Telemetry is safe for concurrent
// use; close the Sampler before the Probe.
type Probe struct {
	r         reader
	closeOnce sync.Once
	closeErr  error
}

// reader is one source of telemetry behind a Probe: NVML, or the host for a
// CPU or an Apple GPU.
type reader interface {
	read(ctx context.Context) ([]Telemetry, error)
	close() error
}

// Telemetry takes one reading of every device, in Inventory.Devices order.
// A device that does not report a field names it in Telemetry.Unknown; an
// error alongside readings means some fields failed for another reason
// (such as a GPU that fell off the bus) and the readings are partial.
func (p *Probe) Telemetry(ctx context.Context) ([]Telemetry, error) {
	return p.r.read(ctx)
}

// Close releases what the probe holds (NVML's handle on the driver). It is
// safe to call more than once; Telemetry must not be called after it.
func (p *Probe) Close() error {
	p.closeOnce.Do(func() { p.closeErr = p.r.close() })
	return p.closeErr
}

// Detect takes the node's inventory once at start. It tries NVIDIA GPUs
// through NVML, then (on macOS) Apple Silicon through system_profiler, and
// otherwise offers the CPU: a machine without a usable GPU is no error, and
// Inventory.NVMLError says why NVML was not used. dataDir is the folder
// whose free space the inventory reports (the node's data dir). The
// inventory carries a first telemetry reading and the virtualization
// evidence; what could not be read is in Inventory.Warnings. Detect fails
// only when ctx ends. The caller closes the Probe.
func Detect(ctx context.Context, dataDir string) (*Probe, Inventory, error) {
	return systemEnv().detect(ctx, dataDir)
}

// detectEnv is everything Detect reads from the machine, so tests can
// replace each part.
type detectEnv struct {
	// openNVML opens NVML and maps its devices, or says why it cannot.
	openNVML func() (reader, Inventory, error)
	// systemProfiler runs system_profiler; nil where there is none.
	systemProfiler func(ctx context.Context) ([]byte, error)
	// ioreg runs `ioreg -r -d 1 -w 0 -c IOAccelerator`; nil where there is none.
	ioreg func(ctx context.Context) ([]byte, error)
	// readHost reads the host and the free space of dataDir.
	readHost func(ctx context.Context, dataDir string) (Host, []string)
	// readUsage reads the host's CPU times and memory in use.
	readUsage func(ctx context.Context) (usage, error)
	// root is the machine's root file system, for DetectVirtualization.
	root fs.FS
}

// systemEnv reads this machine.
func systemEnv() detectEnv {
	return detectEnv{
		openNVML:       openSystemNVML,
		systemProfiler: runSystemProfiler,
		ioreg:          runIOReg,
		readHost:       readHost,
		readUsage:      readUsage,
		root:           os.DirFS("/"),
	}
}

func (e detectEnv) detect(ctx context.Context, dataDir string) (*Probe, Inventory, error) {
	if err := ctx.Err(); err != nil {
		return nil, Inventory{}, fmt.Errorf("detect hardware: %w", err)
	}
	host, warnings := e.readHost(ctx, dataDir)
	virt := DetectVirtualization(e.root)

	r, inv, nvmlErr := e.openNVML()
	if nvmlErr != nil {
		inv = Inventory{NVMLError: nvmlErr.Error()}
		r = nil
		if e.systemProfiler != nil {
			var w []string
			r, inv.Devices, w = e.detectApple(ctx, &virt)
			warnings = append(warnings, w...)
		}
		if r != nil {
			inv.Source = SourceApple
		} else {
			inv.Source = SourceCPU
			inv.Devices = []Device{cpuDevice(host)}
			r = &hostReader{id: inv.Devices[0].ID, withCPU: true, readUsage: e.readUsage}
		}
	}
	inv.Host = host
	inv.Virtualization = virt
	inv.Warnings = append(warnings, inv.Warnings...)

	p := &Probe{r: r}
	if err := ctx.Err(); err != nil {
		p.Close()
		return nil, Inventory{}, fmt.Errorf("detect hardware: %w", err)
	}
	tel, err := p.Telemetry(ctx)
	if err != nil {
		inv.Warnings = append(inv.Warnings, fmt.Sprintf("first telemetry reading: %v", err))
	}
	return p, inv.WithTelemetry(tel), nil
}

// detectApple returns a reader and the Apple GPUs system_profiler reports,
// or a nil reader when there are none; a macOS virtual machine adds its
// evidence to virt.
func (e detectEnv) detectApple(ctx context.Context, virt *Virtualization) (reader, []Device, []string) {
	out, err := e.systemProfiler(ctx)
	if err != nil {
		return nil, nil, []string{err.Error()}
	}
	p, err := parseSystemProfiler(out)
	if err != nil {
		return nil, nil, []string{err.Error()}
	}
	if strings.HasPrefix(p.machineModel, "VirtualMac") {
		virt.VM = true
		if virt.Hypervisor == "" {
			virt.Hypervisor = "apple"
		}
		virt.Evidence = append(virt.Evidence, "system_profiler: machine model "+quote(p.machineModel))
	}
	if len(p.gpus) == 0 {
		return nil, nil, nil
	}
	// The GPU's memory is the host's: its use is the host's memory use,
	// unless ioreg tells the GPU's own.
	r := &hostReader{id: p.gpus[0].ID, readUsage: e.readUsage}
	var warnings []string
	if why := e.appleGPUStats(ctx); why != "" {
		warnings = append(warnings, why)
	} else {
		r.ioreg = e.ioreg
	}
	return r, p.gpus, warnings
}

// appleGPUStats reads ioreg once and says, in plain words, why the Apple
// GPU's utilisation is unavailable, or "" when ioreg reports it. The
// warning is logged once, at start; the telemetry then lists utilisation
// as unknown.
func (e detectEnv) appleGPUStats(ctx context.Context) string {
	const unavailable = "apple gpu utilisation unavailable"
	if e.ioreg == nil {
		return unavailable + ": no ioreg on this system"
	}
	if _, err := readAGX(ctx, e.ioreg); err != nil {
		return fmt.Sprintf("%s (shown as unknown): %v", unavailable, err)
	}
	return ""
}
