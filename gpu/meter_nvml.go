//go:build linux && cgo

package gpu

import (
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// notAvailable is NVML's "no value" for a process's used memory, which a
// driver reports where it cannot tell (Windows WDDM, some containers).
const notAvailable = ^uint64(0) // nvml.VALUE_NOT_AVAILABLE as unsigned

// sample implements deviceMeter: one reading of utilisation and of the
// memory the device's compute processes use. A reading fails only when
// neither could be read.
func (r *nvmlReader) sample(k int) (deviceSample, error) {
	h := r.handles[k]
	var s deviceSample
	u, uret := h.GetUtilizationRates()
	if uret == nvml.SUCCESS {
		s.util, s.utilOK = float64(u.Gpu), true
	}
	mret := r.processMemory(h, &s)
	if mret != nvml.SUCCESS {
		mret = r.deviceMemory(h, &s)
	}
	if !s.utilOK && !s.memOK {
		return s, fmt.Errorf("gpu %s: utilization: %w; memory: %w", r.ids[k], uret, mret)
	}
	return s, nil
}

// processMemory sets s's memory to the sum of what the device's compute
// processes use; it fails when the driver does not tell it for any.
func (r *nvmlReader) processMemory(h nvml.Device, s *deviceSample) nvml.Return {
	procs, ret := h.GetComputeRunningProcesses()
	if ret != nvml.SUCCESS {
		return ret
	}
	var sum uint64
	for _, p := range procs {
		if p.UsedGpuMemory == notAvailable {
			return nvml.ERROR_NOT_SUPPORTED
		}
		sum += p.UsedGpuMemory
	}
	s.mem, s.memOK, s.procMem = sum, true, true
	return nvml.SUCCESS
}

// deviceMemory sets s's memory to the device's memory in use.
func (r *nvmlReader) deviceMemory(h nvml.Device, s *deviceSample) nvml.Return {
	if r.memV2 {
		mem, ret := h.GetMemoryInfo_v2()
		if ret == nvml.SUCCESS {
			s.mem, s.memOK = mem.Used, true
		}
		return ret
	}
	mem, ret := h.GetMemoryInfo()
	if ret == nvml.SUCCESS {
		s.mem, s.memOK = mem.Used, true
	}
	return ret
}
