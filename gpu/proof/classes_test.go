package proof

import (
	"errors"
	"testing"
)

func TestExpected(t *testing.T) {
	tests := []struct {
		class string
		nt    NumberType
		cores int
		want  float64
		err   error
	}{
		{"CPU-x86", Int8FP32, 1, 3e9, nil},
		{"CPU-x86", Int8FP32, 16, 48e9, nil},
		{"CPU-arm64", BF16FP32, 4, 8e9, nil},
		{"H100-80GB", BF16FP32, 0, 450e12, nil},
		{"H100-80GB", Int8FP32, 99, 900e12, nil}, // cores ignored for a GPU
		{"CPU-x86", Int8FP32, 0, 0, ErrInvalid},
		{"CPU-x86", Int8FP32, MaxCores + 1, 0, ErrInvalid},
		{"TPU-v9", BF16FP32, 0, 0, ErrUnknownClass},
		{"H100-80GB", "fp8-fp32", 0, 0, ErrUnknownClass},
		{"T4-16GB", BF16FP32, 0, 0, ErrUnknownClass}, // no bf16 units
	}
	for _, tc := range tests {
		got, err := Expected(tc.class, tc.nt, tc.cores)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Expected(%s, %s, %d) = %v, %v; want %v, %v", tc.class, tc.nt, tc.cores, got, err, tc.want, tc.err)
		}
	}
}

func TestClassesAreComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Classes() {
		if seen[c.Name] {
			t.Errorf("class %s twice", c.Name)
		}
		seen[c.Name] = true
		if len(c.Flops) == 0 {
			t.Errorf("class %s has no figures", c.Name)
		}
		for nt, f := range c.Flops {
			if !nt.Valid() || !(f > 0) {
				t.Errorf("class %s: figure %v for %q", c.Name, f, nt)
			}
		}
		// CPU provers compute every number type.
		for _, nt := range NumberTypes {
			if c.PerCore && c.Flops[nt] <= 0 {
				t.Errorf("CPU class %s has no figure for %s", c.Name, nt)
			}
		}
	}
	for _, name := range []string{"CPU-x86", "CPU-arm64", "A100-80GB", "A100-40GB", "H100-80GB", "H200-141GB", "L40S-48GB", "RTX-4090", "RTX-3090", "M2-Ultra"} {
		if !seen[name] {
			t.Errorf("class %s missing", name)
		}
	}
	// Classes returns a copy.
	Classes()[0].Flops[Int8FP32] = 1
	if got, _ := Expected("CPU-x86", Int8FP32, 1); got != 3e9 {
		t.Errorf("changing Classes() changed the table: CPU-x86 now %v", got)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		throughput float64
		nt         NumberType
		want       Fit
		ok         bool
	}{
		{1.9e9, Int8FP32, Fit{}, false},
		{2.5e9, Int8FP32, Fit{Class: "CPU-arm64", Cores: 1, Expected: 2e9}, true},
		{3.1e9, Int8FP32, Fit{Class: "CPU-x86", Cores: 1, Expected: 3e9}, true},
		{4.1e9, Int8FP32, Fit{Class: "CPU-arm64", Cores: 2, Expected: 4e9}, true},
		{96e9, Int8FP32, Fit{Class: "CPU-x86", Cores: 32, Expected: 96e9}, true},
		{470e12, BF16FP32, Fit{Class: "H100-80GB", Expected: 450e12}, true},
		{600e12, BF16FP32, Fit{Class: "H200-141GB", Expected: 500e12}, true},
		{2000e12, BF16FP32, Fit{Class: "B200-180GB", Expected: 1000e12}, true},
		{30e12, BF16FP32, Fit{Class: "M2-Ultra", Expected: 10e12}, true},
		{40e12, BF16FP32, Fit{Class: "A10G-24GB", Expected: 35e12}, true},
		{30e12, FP16FP32, Fit{Class: "T4-16GB", Expected: 20e12}, true},
		{101e12, FP16FP32, Fit{Class: "RTX-4090", Expected: 100e12}, true},
		{20e12, Int8FP32, Fit{Class: "M2-Ultra", Expected: 15e12}, true},
		// Above every CPU count but below every GPU: the most cores allowed.
		{5e12, BF16FP32, Fit{Class: "CPU-x86", Cores: MaxCores, Expected: 3e9 * MaxCores}, true},
		{0, Int8FP32, Fit{}, false},
		{-1, Int8FP32, Fit{}, false},
		{1e15, "fp8-fp32", Fit{}, false},
	}
	for _, tc := range tests {
		got, ok := Classify(tc.throughput, tc.nt)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Classify(%g, %s) = %+v, %v; want %+v, %v", tc.throughput, tc.nt, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPerCoreClass(t *testing.T) {
	for class, want := range map[string]bool{"CPU-x86": true, "CPU-arm64": true, "H100-80GB": false, "no-such-class": false} {
		if got := PerCoreClass(class); got != want {
			t.Errorf("PerCoreClass(%q) = %v, want %v", class, got, want)
		}
	}
}
