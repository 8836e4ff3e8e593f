package ledger

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// gpuReceipt is a valid receipt with GPU figures.
func gpuReceipt(p, q party) Receipt {
	r := receipt(p, q, "job-gpu", 0, 1, 90)
	r.GPU = &GPUUsage{Devices: 2, Samples: 90, BusyMillis: 120_000, PeakMemoryBytes: 30 << 30, MeanUtilPercent: 66.7}
	return r
}

func TestReceiptWithGPUSignsAndVerifies(t *testing.T) {
	p, q := newParty(t), newParty(t)
	r := gpuReceipt(p, q)
	got, err := Verify(signBoth(t, p, q, r))
	if err != nil {
		t.Fatal(err)
	}
	if got.GPU == nil || *got.GPU != *r.GPU {
		t.Errorf("got GPU %+v, want %+v", got.GPU, r.GPU)
	}
}

func TestReceiptWithoutGPUKeepsItsSignedBytes(t *testing.T) {
	p, q := newParty(t), newParty(t)
	r := receipt(p, q, "job-cpu", 0, 1, 30)
	b, err := r.MarshalRecord()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"gpu"`) {
		t.Errorf("a receipt without GPU figures marshals them: %s", b)
	}
	got, err := Verify(signBoth(t, p, q, r))
	if err != nil {
		t.Fatal(err)
	}
	if got.GPU != nil {
		t.Errorf("got GPU %+v, want none", got.GPU)
	}
}

func TestReceiptCheckRefusesBadGPUFigures(t *testing.T) {
	p, q := newParty(t), newParty(t)
	for _, c := range []struct {
		name, field string
		edit        func(*GPUUsage)
	}{
		{"no devices", "gpu.devices", func(u *GPUUsage) { u.Devices = 0 }},
		{"too many devices", "gpu.devices", func(u *GPUUsage) { u.Devices = MaxDevices + 1 }},
		{"negative samples", "gpu.samples", func(u *GPUUsage) { u.Samples = -1 }},
		{"negative busy", "gpu.busy_millis", func(u *GPUUsage) { u.BusyMillis = -1 }},
		{"busier than its devices", "gpu.busy_millis", func(u *GPUUsage) { u.BusyMillis = 2*MaxDuration.Milliseconds() + 1 }},
		{"memory", "gpu.peak_memory_bytes", func(u *GPUUsage) { u.PeakMemoryBytes = 2*MaxGPUMemoryPerDevice + 1 }},
		{"util over 100", "gpu.mean_util_percent", func(u *GPUUsage) { u.MeanUtilPercent = 100.1 }},
		{"util negative", "gpu.mean_util_percent", func(u *GPUUsage) { u.MeanUtilPercent = -1 }},
		{"util NaN", "gpu.mean_util_percent", func(u *GPUUsage) { u.MeanUtilPercent = math.NaN() }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := gpuReceipt(p, q)
			c.edit(r.GPU)
			err := r.Check()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.field+":") {
				t.Errorf("got %v, want ErrInvalid naming %s", err, c.field)
			}
			if _, err := Sign(p.key, r); err == nil {
				t.Error("Sign accepted it")
			}
		})
	}
}
