package gpu

// Per-job GPU accounting.
//
// What it measures, and why this way: a provider gives each job its own
// devices and never one device to two jobs, so while a job holds a device,
// what that device does is the job's. The meter therefore samples each
// held device as a whole, on a ticker: its utilisation
// (nvmlDeviceGetUtilizationRates, the share of the driver's last sample
// period in which a kernel ran) and the memory its compute processes use
// (the sum of nvmlDeviceGetComputeRunningProcesses' used memory, or, where
// a driver does not tell it, the device's memory in use less what was in
// use when the job started). Per-process figures were the other choice and
// do not fit: a container's processes have PIDs NVML sees only from the
// host's namespace, a job forks helpers, nvmlDeviceGetProcessUtilization
// is not supported on every GPU, and accounting stats need accounting mode,
// which only root can turn on. Device sampling needs no privilege and works
// the same for docker and process work.
//
// From the samples: busy GPU time is utilisation integrated over the time
// between samples, summed over the devices (a device at 50 % for 10 s is
// 5 busy GPU-seconds); mean utilisation is the mean of every device
// reading; peak memory is the largest total over the job's devices at one
// sample. A meter keeps these running figures only, never the samples, so
// its memory is fixed however long the job runs.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// ErrNoMeter is returned by NewAccountant for a probe that cannot meter
// jobs: one that does not read NVIDIA GPUs through NVML.
var ErrNoMeter = errors.New("per-job gpu accounting needs nvml")

// meterStopWait bounds how long JobMeter.Stop waits for a reading in flight:
// NVML calls cannot be cancelled, and a stuck driver must not hold back a
// job's result.
const meterStopWait = 2 * time.Second

// DeviceRef names one GPU a job holds: NVML's index on this host and its
// UUID. The UUID decides when both are given.
type DeviceRef struct {
	Index int
	UUID  string
}

// JobUsage is what a job's GPUs did while a JobMeter tracked them.
type JobUsage struct {
	// Devices counts the devices metered: those the job held that this
	// host has.
	Devices int
	// Samples counts the sampling rounds that read at least one device;
	// Missed the device readings that failed.
	Samples, Missed int
	// Held is Devices x the time tracked; Busy the part of it in which
	// kernels ran (utilisation integrated over time, summed over devices).
	Held, Busy time.Duration
	// PeakMemoryBytes is the most memory the job's compute processes used
	// at one sample, all its devices together.
	PeakMemoryBytes uint64
	// MeanUtilPercent is the mean utilisation of every device reading,
	// rounded to a tenth of a percent.
	MeanUtilPercent float64
}

// deviceSample is one reading of one device.
type deviceSample struct {
	// util is the device's utilisation in percent; utilOK whether it was read.
	util   float64
	utilOK bool
	// mem is the memory in use, memOK whether it was read; procMem says
	// it is the job's processes' own, not the device's whole use.
	mem     uint64
	memOK   bool
	procMem bool
}

// deviceMeter reads single devices for an Accountant: NVML's reader.
type deviceMeter interface {
	// lookup returns the key of the device d names, or false if this host
	// has no such device.
	lookup(d DeviceRef) (int, bool)
	// sample reads the device with key k.
	sample(k int) (deviceSample, error)
}

// Accountant meters the GPU use of jobs on this host's devices. It holds
// nothing of its own: each Track starts a meter that ends with Stop.
type Accountant struct {
	m        deviceMeter
	interval time.Duration
	report   func(JobUsage)
}

// NewAccountant returns an accountant reading p's devices every interval
// (the node's gpu.sample_interval). report, if not nil, is called once
// with each meter's figures when it stops (the node's metrics); it must
// not block. It fails with ErrNoMeter when p does not read NVIDIA GPUs
// through NVML. The Probe must outlive every meter.
func NewAccountant(p *Probe, interval time.Duration, report func(JobUsage)) (*Accountant, error) {
	if interval <= 0 {
		return nil, fmt.Errorf("accountant: interval must be positive, got %s", interval)
	}
	if p == nil {
		return nil, ErrNoMeter
	}
	m, ok := p.r.(deviceMeter)
	if !ok {
		return nil, ErrNoMeter
	}
	return &Accountant{m: m, interval: interval, report: report}, nil
}

// JobMeter samples one job's devices until Stop. Create it with
// Accountant.Track.
type JobMeter struct {
	report func(JobUsage)
	cancel context.CancelFunc
	done   chan struct{}
	start  time.Time

	mu      sync.Mutex
	acc     accumulator
	stopped bool
	final   JobUsage
}

// Track starts metering the devices a job holds: a reading now, then one
// every interval, from a goroutine of its own that ends with Stop or ctx.
// Devices this host does not have, or named twice, are left out. A slow
// driver delays only the meter's next reading, never the caller.
func (a *Accountant) Track(ctx context.Context, devices []DeviceRef) *JobMeter {
	var keys []int
	seen := map[int]bool{}
	for _, d := range devices {
		if k, ok := a.m.lookup(d); ok && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	m := &JobMeter{report: a.report, cancel: cancel, done: make(chan struct{}), start: time.Now()}
	m.acc = newAccumulator(len(keys), m.start)
	go m.run(ctx, a.m, keys, a.interval)
	return m
}

// run samples keys until ctx ends; it closes m.done.
func (m *JobMeter) run(ctx context.Context, dm deviceMeter, keys []int, interval time.Duration) {
	defer close(m.done)
	if len(keys) == 0 {
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	samples := make([]deviceSample, len(keys))
	oks := make([]bool, len(keys))
	for {
		for i, k := range keys {
			s, err := dm.sample(k)
			samples[i], oks[i] = s, err == nil
		}
		now := time.Now()
		m.mu.Lock()
		if !m.stopped {
			m.acc.add(now, samples, oks)
		}
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Stop ends the metering and returns what the devices did. It waits for a
// reading in flight for a short while only; what a late reading would add
// is not counted. It is safe to call more than once: later calls return
// the same figures.
func (m *JobMeter) Stop() JobUsage {
	m.cancel()
	t := time.NewTimer(meterStopWait)
	defer t.Stop()
	select {
	case <-m.done:
	case <-t.C:
	}
	now := time.Now()
	m.mu.Lock()
	first := !m.stopped
	if first {
		m.stopped = true
		m.final = m.acc.usage(now.Sub(m.start))
	}
	u := m.final
	m.mu.Unlock()
	if first && m.report != nil && u.Devices > 0 {
		m.report(u)
	}
	return u
}

// accumulator keeps a meter's running figures.
type accumulator struct {
	devices   int
	last      time.Time // of the previous round
	baseline  []uint64  // per device, its memory in use at the first reading
	baseOK    []bool
	samples   int
	missed    int
	busy      float64 // GPU-seconds
	utilSum   float64
	utilCount int
	peak      uint64
}

func newAccumulator(devices int, start time.Time) accumulator {
	return accumulator{devices: devices, last: start, baseline: make([]uint64, devices), baseOK: make([]bool, devices)}
}

// add records one round of readings taken at now; oks[i] says whether
// samples[i] was read at all.
func (a *accumulator) add(now time.Time, samples []deviceSample, oks []bool) {
	dt := max(now.Sub(a.last).Seconds(), 0)
	a.last = now
	var mem uint64
	read := false
	for i, s := range samples {
		if !oks[i] {
			a.missed++
			continue
		}
		read = true
		if s.utilOK {
			u := min(max(s.util, 0), 100)
			a.busy += u / 100 * dt
			a.utilSum += u
			a.utilCount++
		}
		if s.memOK {
			mem += a.jobMemory(i, s)
		}
	}
	if read {
		a.samples++
	}
	a.peak = max(a.peak, mem)
}

// jobMemory is the job's share of device i's memory in s: the processes'
// own when s has it, else the device's use less its use at the first
// reading.
func (a *accumulator) jobMemory(i int, s deviceSample) uint64 {
	if s.procMem {
		return s.mem
	}
	if !a.baseOK[i] {
		a.baseline[i], a.baseOK[i] = s.mem, true
		return 0
	}
	if s.mem < a.baseline[i] {
		return 0
	}
	return s.mem - a.baseline[i]
}

// usage is the figures after tracked time.
func (a *accumulator) usage(tracked time.Duration) JobUsage {
	u := JobUsage{
		Devices:         a.devices,
		Samples:         a.samples,
		Missed:          a.missed,
		Held:            time.Duration(a.devices) * tracked,
		Busy:            time.Duration(a.busy * float64(time.Second)),
		PeakMemoryBytes: a.peak,
	}
	if a.utilCount > 0 {
		u.MeanUtilPercent = math.Round(a.utilSum/float64(a.utilCount)*10) / 10
	}
	u.Busy = min(u.Busy, u.Held)
	return u
}
