package proof

import (
	"errors"
	"fmt"
	"math"
)

// ErrUnknownClass: a device class is not in the table, or has no figure for
// the number type asked.
var ErrUnknownClass = errors.New("unknown device class")

// MaxCores is the most cores a CPU class may claim.
const MaxCores = 1024

// Class is a device class a provider may claim, with the throughput it is
// expected to sustain on a challenge.
type Class struct {
	// Name is the class's name, such as "H100-80GB".
	Name string
	// PerCore says the figures are per CPU core, to be multiplied by the
	// cores claimed.
	PerCore bool
	// Flops is the sustained FLOP/s expected for each number type the class
	// supports.
	Flops map[NumberType]float64
}

const (
	giga = 1e9
	tera = 1e12
)

// classes is the table behind Classes. The figures are conservative
// achieved throughputs, not datasheet peaks: dense (no structured sparsity)
// matrix multiplication of the challenge sizes, roughly half to two thirds
// of the peak, so that an honest device passes with DefaultTolerance even
// when warm, power-capped or in its PCIe variant. GPU int8-fp32 figures
// assume int8 tensor units with int32 accumulation, which are exact for the
// challenge's small integers. CPU figures are per core for this package's
// CPUProver (pure Go, scalar float32: about 10 GFLOP/s on one core of a 2024
// x86 server, 15 on two), since that is what a CPU node runs, and the same
// for every number type; a shared or older core, or a small arm64 one,
// sustains much less.
var classes = []Class{
	{Name: "CPU-x86", PerCore: true, Flops: map[NumberType]float64{Int8FP32: 3 * giga, BF16FP32: 3 * giga, FP16FP32: 3 * giga}},
	{Name: "CPU-arm64", PerCore: true, Flops: map[NumberType]float64{Int8FP32: 2 * giga, BF16FP32: 2 * giga, FP16FP32: 2 * giga}},
	// Apple GPUs: fp16 at the fp32 rate, bf16 without native units before M3.
	// M1, 8 cores: 2.6 TFLOP/s fp32.
	{Name: "M1", Flops: map[NumberType]float64{Int8FP32: 1.5 * tera, BF16FP32: 1 * tera, FP16FP32: 1.5 * tera}},
	// M3 Max, 40 cores: about 16 TFLOP/s fp32.
	{Name: "M3-Max", Flops: map[NumberType]float64{Int8FP32: 8 * tera, BF16FP32: 8 * tera, FP16FP32: 8 * tera}},
	// M2 Ultra, 76 cores: 27 TFLOP/s fp32.
	{Name: "M2-Ultra", Flops: map[NumberType]float64{Int8FP32: 15 * tera, BF16FP32: 10 * tera, FP16FP32: 15 * tera}},
	// T4 (70 W): 65 TFLOP/s fp16, 130 TOPS int8; no bf16.
	{Name: "T4-16GB", Flops: map[NumberType]float64{Int8FP32: 40 * tera, FP16FP32: 20 * tera}},
	// A10G: the cloud A10, clocked lower.
	{Name: "A10G-24GB", Flops: map[NumberType]float64{Int8FP32: 70 * tera, BF16FP32: 35 * tera, FP16FP32: 35 * tera}},
	// V100: 112 to 125 TFLOP/s fp16 tensor; no bf16 or int8 tensor units, so
	// int8-fp32 runs as fp16, which is exact for its small integers.
	{Name: "V100-16GB", Flops: map[NumberType]float64{Int8FP32: 55 * tera, FP16FP32: 55 * tera}},
	{Name: "V100-32GB", Flops: map[NumberType]float64{Int8FP32: 55 * tera, FP16FP32: 55 * tera}},
	// RTX 3090: 71 TFLOP/s fp16 with fp32 accumulation, 284 TOPS int8 (dense peaks).
	{Name: "RTX-3090", Flops: map[NumberType]float64{Int8FP32: 120 * tera, BF16FP32: 45 * tera, FP16FP32: 45 * tera}},
	// L4: 121 TFLOP/s bf16, 242 TOPS int8.
	{Name: "L4-24GB", Flops: map[NumberType]float64{Int8FP32: 110 * tera, BF16FP32: 55 * tera, FP16FP32: 55 * tera}},
	// A10: 125 TFLOP/s bf16, 250 TOPS int8.
	{Name: "A10-24GB", Flops: map[NumberType]float64{Int8FP32: 120 * tera, BF16FP32: 65 * tera, FP16FP32: 65 * tera}},
	// A40: 150 TFLOP/s bf16, 300 TOPS int8; RTX A6000 the same chip.
	{Name: "A40-48GB", Flops: map[NumberType]float64{Int8FP32: 150 * tera, BF16FP32: 75 * tera, FP16FP32: 75 * tera}},
	{Name: "RTX-A6000-48GB", Flops: map[NumberType]float64{Int8FP32: 150 * tera, BF16FP32: 75 * tera, FP16FP32: 75 * tera}},
	// A30: 165 TFLOP/s bf16, 330 TOPS int8.
	{Name: "A30-24GB", Flops: map[NumberType]float64{Int8FP32: 160 * tera, BF16FP32: 80 * tera, FP16FP32: 80 * tera}},
	// L40: 181 TFLOP/s bf16, 362 TOPS int8.
	{Name: "L40-48GB", Flops: map[NumberType]float64{Int8FP32: 180 * tera, BF16FP32: 90 * tera, FP16FP32: 90 * tera}},
	// RTX 4090: 165 TFLOP/s fp16 with fp32 accumulation, 660 TOPS int8.
	{Name: "RTX-4090", Flops: map[NumberType]float64{Int8FP32: 300 * tera, BF16FP32: 100 * tera, FP16FP32: 100 * tera}},
	// RTX 5090: about 210 TFLOP/s fp16 with fp32 accumulation, 840 TOPS int8.
	{Name: "RTX-5090", Flops: map[NumberType]float64{Int8FP32: 400 * tera, BF16FP32: 100 * tera, FP16FP32: 100 * tera}},
	// A100 40GB (often the 250 W PCIe card): 312 TFLOP/s bf16, 624 TOPS int8.
	{Name: "A100-40GB", Flops: map[NumberType]float64{Int8FP32: 360 * tera, BF16FP32: 180 * tera, FP16FP32: 180 * tera}},
	// L40S: 362 TFLOP/s bf16, 733 TOPS int8; RTX 6000 Ada the same chip.
	{Name: "L40S-48GB", Flops: map[NumberType]float64{Int8FP32: 350 * tera, BF16FP32: 180 * tera, FP16FP32: 180 * tera}},
	{Name: "RTX-6000-Ada-48GB", Flops: map[NumberType]float64{Int8FP32: 350 * tera, BF16FP32: 180 * tera, FP16FP32: 180 * tera}},
	// A100 80GB: as the 40GB, more often SXM at 400 W; A800 the same chip.
	{Name: "A100-80GB", Flops: map[NumberType]float64{Int8FP32: 400 * tera, BF16FP32: 200 * tera, FP16FP32: 200 * tera}},
	{Name: "A800-80GB", Flops: map[NumberType]float64{Int8FP32: 400 * tera, BF16FP32: 200 * tera, FP16FP32: 200 * tera}},
	// H100 80GB: 989 TFLOP/s bf16 SXM, 756 PCIe; 1979 / 1513 TOPS int8. The
	// 94GB NVL card: 835 and 1670. H800 the same chip as the SXM.
	{Name: "H100-80GB", Flops: map[NumberType]float64{Int8FP32: 900 * tera, BF16FP32: 450 * tera, FP16FP32: 450 * tera}},
	{Name: "H100-94GB", Flops: map[NumberType]float64{Int8FP32: 900 * tera, BF16FP32: 450 * tera, FP16FP32: 450 * tera}},
	{Name: "H800-80GB", Flops: map[NumberType]float64{Int8FP32: 900 * tera, BF16FP32: 450 * tera, FP16FP32: 450 * tera}},
	// MI300X: 1307 TFLOP/s bf16, 2615 TOPS int8.
	{Name: "MI300X-192GB", Flops: map[NumberType]float64{Int8FP32: 900 * tera, BF16FP32: 450 * tera, FP16FP32: 450 * tera}},
	// H200 141GB: the H100 SXM's units with faster memory and more power
	// headroom; 835 TFLOP/s bf16 in the NVL card.
	{Name: "H200-141GB", Flops: map[NumberType]float64{Int8FP32: 1000 * tera, BF16FP32: 500 * tera, FP16FP32: 500 * tera}},
	// B200: 2250 TFLOP/s bf16, 4500 TOPS int8.
	{Name: "B200-180GB", Flops: map[NumberType]float64{Int8FP32: 2000 * tera, BF16FP32: 1000 * tera, FP16FP32: 1000 * tera}},
}

// Classes returns the table of device classes and their expected sustained
// throughputs, roughly slowest first. The names are those package gpu gives
// the devices it finds. The slice and its maps are copies.
func Classes() []Class {
	out := make([]Class, len(classes))
	for i, c := range classes {
		out[i] = c
		out[i].Flops = make(map[NumberType]float64, len(c.Flops))
		for k, v := range c.Flops {
			out[i].Flops[k] = v
		}
	}
	return out
}

// PerCoreClass reports whether class is in the table with per-core
// figures: a CPU class, whose claim a CPU prover can answer.
func PerCoreClass(class string) bool {
	for _, c := range classes {
		if c.Name == class {
			return c.PerCore
		}
	}
	return false
}

// Expected returns the FLOP/s a device of the named class sustains on
// challenges of number type t; cores is the number of cores claimed for a
// CPU class (1 to MaxCores) and ignored for others. It returns an error
// wrapping ErrUnknownClass for a class not in Classes or without a figure
// for t, and ErrInvalid for cores out of range.
func Expected(class string, t NumberType, cores int) (float64, error) {
	for _, c := range classes {
		if c.Name != class {
			continue
		}
		f, ok := c.Flops[t]
		if !ok {
			return 0, fmt.Errorf("%w: %s has no figure for %s", ErrUnknownClass, class, t)
		}
		if !c.PerCore {
			return f, nil
		}
		if cores < 1 || cores > MaxCores {
			return 0, fmt.Errorf("%w: %d cores not in [1, %d]", ErrInvalid, cores, MaxCores)
		}
		return f * float64(cores), nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownClass, class)
}

// Fit is a device class a measured throughput supports.
type Fit struct {
	// Class is the class's name.
	Class string
	// Cores is, for a CPU class, how many cores' worth the throughput is;
	// 0 for other classes.
	Cores int
	// Expected is the class's expected throughput (times Cores for a CPU
	// class), at most the measured one.
	Expected float64
}

// Classify returns the best class that a measured throughput of number type
// t supports: the one with the highest expected throughput not above it. A
// GPU class counts its one figure; a CPU class counts its per-core figure
// times the most whole cores (at most MaxCores) that fit, so a CPU class
// wins only below every GPU class, and between CPU classes the one whose
// cores x figure comes closest; a tie goes to the class listed first in
// Classes. It returns false when the throughput is
// below one core of every CPU class (or not a positive number).
func Classify(throughput float64, t NumberType) (Fit, bool) {
	if !(throughput > 0) || math.IsInf(throughput, 0) {
		return Fit{}, false
	}
	var best Fit
	for _, c := range classes {
		f, ok := c.Flops[t]
		if !ok || f <= 0 {
			continue
		}
		fit := Fit{Class: c.Name, Expected: f}
		if c.PerCore {
			fit.Cores = int(min(math.Floor(throughput/f), MaxCores))
			fit.Expected = f * float64(fit.Cores)
		}
		if fit.Expected > 0 && fit.Expected <= throughput && fit.Expected > best.Expected {
			best = fit
		}
	}
	return best, best.Class != ""
}
