package gpu

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cpuInfo is what /proc/cpuinfo says about the processors.
type cpuInfo struct {
	model   string
	cores   int // physical cores; 0 when cpuinfo does not say
	threads int // logical CPUs
}

// maxCoresPerSocket bounds a "cpu cores" value parseCPUInfo believes.
const maxCoresPerSocket = 1 << 16

// parseCPUInfo reads Linux's /proc/cpuinfo. Threads are the "processor"
// entries; physical cores are the distinct (physical id, core id) pairs, or
// "cpu cores" per socket where core ids are missing, or 0 when neither is
// there (most ARM kernels). The model is "model name" (x86), "Model" or
// "Hardware" (some ARM boards), whichever comes first.
func parseCPUInfo(data []byte) cpuInfo {
	var info cpuInfo
	type coreKey struct{ pkg, core string }
	cores := map[coreKey]bool{}
	perSocket := map[string]int{}
	var pkg, core string
	flush := func() {
		if core != "" {
			cores[coreKey{pkg, core}] = true
		}
		pkg, core = "", ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "processor":
			flush()
			info.threads++
		case "model name", "Model", "Hardware":
			if info.model == "" {
				info.model = val
			}
		case "physical id":
			pkg = val
		case "core id":
			core = val
		case "cpu cores":
			// A count no CPU has (negative, zero, or beyond maxCoresPerSocket)
			// is a damaged file: it is ignored, never summed.
			if n, err := strconv.Atoi(val); err == nil && n > 0 && n <= maxCoresPerSocket {
				perSocket[pkg] = n
			}
		}
	}
	flush()
	switch {
	case len(cores) > 0:
		info.cores = len(cores)
	case len(perSocket) > 0:
		for _, n := range perSocket {
			info.cores += n
		}
	}
	return info
}

// cpuTimes is the aggregate "cpu" line of /proc/stat, in clock ticks.
type cpuTimes struct {
	idle  uint64 // idle + iowait
	total uint64 // every field but guest time, which user time already holds
}

// parseProcStat reads the aggregate "cpu" line of Linux's /proc/stat.
func parseProcStat(data []byte) (cpuTimes, error) {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return cpuTimes{}, errors.New("parse /proc/stat: no aggregate cpu line")
	}
	var t cpuTimes
	// user nice system idle iowait irq softirq steal guest guest_nice
	for i, s := range f[1:] {
		if i >= 8 {
			break
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return cpuTimes{}, fmt.Errorf("parse /proc/stat field %d: %w", i+1, err)
		}
		t.total += n
		if i == 3 || i == 4 {
			t.idle += n
		}
	}
	return t, nil
}

// busyPercent is the share of non-idle time between two readings.
func busyPercent(prev, cur cpuTimes) (float64, bool) {
	if cur.total <= prev.total || cur.idle < prev.idle {
		return 0, false
	}
	dt := float64(cur.total - prev.total)
	di := float64(cur.idle - prev.idle)
	return 100 * (dt - di) / dt, true
}

// usage is what a host can tell about its load right now; the per-OS
// readUsage fills what it can.
type usage struct {
	cpu     cpuTimes
	cpuOK   bool
	memUsed uint64
	memOK   bool
}

// Telemetry field names as in JSON, for Telemetry.Unknown.
const (
	fieldUtilization       = "utilization"
	fieldMemoryUtilization = "memory_utilization"
	fieldMemoryUsed        = "memory_used_bytes"
	fieldTemperature       = "temperature_c"
	fieldPower             = "power_w"
	fieldPowerLimit        = "power_limit_w"
	fieldSMClock           = "sm_clock_mhz"
	fieldMemClock          = "mem_clock_mhz"
)

// hostReader reads the telemetry of a device that is the host itself: the
// CPU, or an Apple GPU whose memory is the host's. CPU utilisation needs two
// readings, so the first one lacks it.
type hostReader struct {
	id        string
	withCPU   bool // report CPU utilisation (not for an Apple GPU)
	readUsage func(ctx context.Context) (usage, error)
	// ioreg, for an Apple GPU, runs ioreg for its utilisation and memory
	// in use (readAGX); nil where ioreg does not report them.
	ioreg func(ctx context.Context) ([]byte, error)

	mu   sync.Mutex
	prev cpuTimes
	have bool
}

func (r *hostReader) read(ctx context.Context) ([]Telemetry, error) {
	u, err := r.readUsage(ctx)
	t := Telemetry{
		Device:  r.id,
		Time:    time.Now(),
		Unknown: []string{fieldMemoryUtilization, fieldTemperature, fieldPower, fieldPowerLimit, fieldSMClock, fieldMemClock},
	}
	if err != nil {
		err = fmt.Errorf("read host usage: %w", err)
	}
	var gpu agxStats
	gpuOK := false
	if r.ioreg != nil { // run outside the lock: it takes a few milliseconds
		var gerr error
		if gpu, gerr = readAGX(ctx, r.ioreg); gerr != nil {
			err = errors.Join(err, fmt.Errorf("read apple gpu statistics: %w", gerr))
		} else {
			gpuOK = true
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	busy, ok := 0.0, false
	if r.withCPU && u.cpuOK {
		if r.have {
			busy, ok = busyPercent(r.prev, u.cpu)
		}
		r.prev, r.have = u.cpu, true
	}
	memUsed, memOK := u.memUsed, u.memOK
	if gpuOK {
		busy, ok = gpu.utilization, true
		if gpu.memOK {
			memUsed, memOK = gpu.memUsed, true
		}
	}
	if ok {
		t.Utilization = busy
	} else {
		t.Unknown = append(t.Unknown, fieldUtilization)
	}
	if memOK {
		t.MemoryUsed = memUsed
	} else {
		t.Unknown = append(t.Unknown, fieldMemoryUsed)
	}
	return []Telemetry{t}, err
}

// readAGX runs ioreg and reads the Apple GPU's statistics from its output.
func readAGX(ctx context.Context, ioreg func(ctx context.Context) ([]byte, error)) (agxStats, error) {
	out, err := ioreg(ctx)
	if err != nil {
		return agxStats{}, err
	}
	return parseIOReg(out)
}

func (r *hostReader) close() error { return nil }

// cpuDevice is the one device of a CPU-only inventory.
func cpuDevice(h Host) Device {
	class := CPUClass(h.Arch)
	name := h.CPUModel
	if name == "" {
		name = h.Arch + " CPU"
	}
	return Device{
		ID:          "cpu0",
		Name:        name,
		Class:       class,
		Pool:        Pool(class),
		MemoryTotal: h.MemoryBytes,
		Cores:       h.Cores,
	}
}
