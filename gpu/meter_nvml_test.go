//go:build linux && cgo

package gpu

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// mockProbe opens a DGX A100 mock through the real NVML path and returns
// its probe and devices.
func mockProbe(t *testing.T) (*Probe, []*server.Device) {
	t.Helper()
	srv := dgxa100.New()
	devs := mockDevices(srv)
	r, _, err := openNVML(srv)
	if err != nil {
		t.Fatal(err)
	}
	p := &Probe{r: r}
	t.Cleanup(func() { p.Close() })
	return p, devs
}

// script answers the i-th call with values[min(i, len-1)].
type script[T any] struct {
	mu     sync.Mutex
	calls  int
	values []T
}

func (s *script[T]) next() T {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.values[min(s.calls, len(s.values)-1)]
	s.calls++
	return v
}

func utilScript(values ...uint32) func() (nvml.Utilization, nvml.Return) {
	s := &script[uint32]{values: values}
	return func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{Gpu: s.next()}, nvml.SUCCESS }
}

func procScript(values ...[]nvml.ProcessInfo) func() ([]nvml.ProcessInfo, nvml.Return) {
	s := &script[[]nvml.ProcessInfo]{values: values}
	return func() ([]nvml.ProcessInfo, nvml.Return) { return s.next(), nvml.SUCCESS }
}

func TestJobMeterFromProcessesAndUtilization(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, devs := mockProbe(t)
		a, b := devs[2], devs[5]
		// Rounds at 0s, 1s, 2s, 3s.
		a.GetUtilizationRatesFunc = utilScript(0, 50, 100, 100)
		b.GetUtilizationRatesFunc = utilScript(20)
		a.GetComputeRunningProcessesFunc = procScript(
			nil,
			[]nvml.ProcessInfo{{Pid: 10, UsedGpuMemory: 1 * gib}},
			[]nvml.ProcessInfo{{Pid: 10, UsedGpuMemory: 3 * gib}, {Pid: 11, UsedGpuMemory: 1 * gib}},
			[]nvml.ProcessInfo{{Pid: 10, UsedGpuMemory: 2 * gib}},
		)
		b.GetComputeRunningProcessesFunc = procScript([]nvml.ProcessInfo{{Pid: 12, UsedGpuMemory: 2 * gib}})
		// Another job's device: never read.
		devs[0].GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
			t.Error("read a device the job does not hold")
			return nvml.Utilization{}, nvml.ERROR_UNKNOWN
		}

		var reported []JobUsage
		acc, err := NewAccountant(p, time.Second, func(u JobUsage) { reported = append(reported, u) })
		if err != nil {
			t.Fatal(err)
		}
		m := acc.Track(t.Context(), []DeviceRef{{Index: 2, UUID: a.UUID}, {Index: 5}, {Index: 2, UUID: a.UUID}, {UUID: "GPU-not-here"}})
		time.Sleep(3 * time.Second)
		synctest.Wait()
		got := m.Stop()
		want := JobUsage{
			Devices: 2, Samples: 4,
			Held: 6 * time.Second,
			// a: 0 + 0.5 + 1 + 1; b: 0.2 x 3.
			Busy:            3100 * time.Millisecond,
			PeakMemoryBytes: 6 * gib, // a's 4 GiB and b's 2 at 2s
			// (0+50+100+100 + 4x20) / 8 = 41.25
			MeanUtilPercent: 41.3,
		}
		if got != want {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
		if again := m.Stop(); again != got {
			t.Errorf("second Stop: got %+v, want %+v", again, got)
		}
		if len(reported) != 1 || reported[0] != got {
			t.Errorf("reported %+v, want the figures once", reported)
		}
	})
}

func TestJobMeterFallsBackToDeviceMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, devs := mockProbe(t)
		d := devs[1]
		d.GetUtilizationRatesFunc = utilScript(100)
		d.GetComputeRunningProcessesFunc = procScript([]nvml.ProcessInfo{{Pid: 1, UsedGpuMemory: notAvailable}})
		used := &script[uint64]{values: []uint64{1 * gib, 5 * gib, 3 * gib}}
		d.GetMemoryInfo_v2Func = func() (nvml.Memory_v2, nvml.Return) {
			return nvml.Memory_v2{Total: d.MemoryInfo.Total, Used: used.next()}, nvml.SUCCESS
		}
		acc, err := NewAccountant(p, time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := acc.Track(t.Context(), []DeviceRef{{Index: 1, UUID: d.UUID}})
		time.Sleep(2 * time.Second)
		synctest.Wait()
		got := m.Stop()
		// The 1 GiB in use before the job is not the job's.
		want := JobUsage{Devices: 1, Samples: 3, Held: 2 * time.Second, Busy: 2 * time.Second, PeakMemoryBytes: 4 * gib, MeanUtilPercent: 100}
		if got != want {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	})
}

func TestJobMeterCountsFailedReadings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, devs := mockProbe(t)
		d := devs[3]
		d.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{}, nvml.ERROR_GPU_IS_LOST }
		d.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) { return nil, nvml.ERROR_GPU_IS_LOST }
		d.GetMemoryInfo_v2Func = func() (nvml.Memory_v2, nvml.Return) { return nvml.Memory_v2{}, nvml.ERROR_GPU_IS_LOST }
		acc, err := NewAccountant(p, time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := acc.Track(t.Context(), []DeviceRef{{Index: 3, UUID: d.UUID}})
		time.Sleep(time.Second)
		synctest.Wait()
		got := m.Stop()
		want := JobUsage{Devices: 1, Missed: 2, Held: time.Second}
		if got != want {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	})
}

func TestJobMeterStopDoesNotWaitForAStuckDriver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, devs := mockProbe(t)
		d := devs[0]
		release := make(chan struct{})
		calls := 0
		d.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
			calls++
			if calls > 1 {
				<-release // the driver hangs on the second reading
			}
			return nvml.Utilization{Gpu: 100}, nvml.SUCCESS
		}
		d.GetComputeRunningProcessesFunc = procScript([]nvml.ProcessInfo(nil))
		acc, err := NewAccountant(p, time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := acc.Track(t.Context(), []DeviceRef{{UUID: d.UUID}})
		time.Sleep(5 * time.Second)
		start := time.Now()
		got := m.Stop()
		if waited := time.Since(start); waited > meterStopWait {
			t.Errorf("Stop waited %s for a stuck driver, at most %s", waited, meterStopWait)
		}
		if got.Samples != 1 || got.Devices != 1 {
			t.Errorf("got %+v, want the one reading before the driver hung", got)
		}
		close(release)
		synctest.Wait() // the meter's goroutine ends once the call returns
	})
}

func TestNewAccountantNeedsNVML(t *testing.T) {
	p := &Probe{r: &hostReader{id: "cpu"}}
	if _, err := NewAccountant(p, time.Second, nil); !errors.Is(err, ErrNoMeter) {
		t.Errorf("CPU probe: got %v, want ErrNoMeter", err)
	}
	if _, err := NewAccountant(nil, time.Second, nil); !errors.Is(err, ErrNoMeter) {
		t.Errorf("nil probe: got %v, want ErrNoMeter", err)
	}
}
