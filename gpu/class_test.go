package gpu

import (
	"regexp"
	"testing"
)

const (
	mib = uint64(1) << 20
	gib = uint64(1) << 30
)

func TestClass(t *testing.T) {
	tests := []struct {
		model  string
		memory uint64
		want   string
	}{
		// Data-center GPUs: memory as reported by nvidia-smi, rounded to the label.
		{"NVIDIA A100-SXM4-40GB", 40960 * mib, "A100-40GB"},
		{"NVIDIA A100-PCIE-40GB", 40536 * mib, "A100-40GB"},
		{"Mock NVIDIA A100-SXM4-40GB", 40960 * mib, "A100-40GB"},
		{"NVIDIA A100-SXM4-80GB", 81920 * mib, "A100-80GB"},
		{"NVIDIA A100 80GB PCIe", 81920 * mib, "A100-80GB"},
		{"NVIDIA A800-SXM4-80GB", 81920 * mib, "A800-80GB"},
		{"NVIDIA H100 80GB HBM3", 81559 * mib, "H100-80GB"},
		{"NVIDIA H100 PCIe", 81559 * mib, "H100-80GB"},
		{"NVIDIA H100 NVL", 95830 * mib, "H100-94GB"},
		{"NVIDIA H800", 81559 * mib, "H800-80GB"},
		{"NVIDIA H200", 143771 * mib, "H200-141GB"},
		{"NVIDIA H200 NVL", 143771 * mib, "H200-141GB"},
		{"NVIDIA H20", 97871 * mib, "H20-96GB"},
		{"NVIDIA GH200 480GB", 97871 * mib, "GH200-96GB"},
		{"NVIDIA B200", 183359 * mib, "B200-180GB"},
		{"NVIDIA B200 180GB HBM3e", 184320 * mib, "B200-180GB"},
		{"NVIDIA L40S", 46068 * mib, "L40S-48GB"},
		{"NVIDIA L40", 46068 * mib, "L40-48GB"},
		{"NVIDIA L4", 23034 * mib, "L4-24GB"},
		{"NVIDIA A10G", 23028 * mib, "A10G-24GB"},
		{"NVIDIA A10", 23028 * mib, "A10-24GB"},
		{"NVIDIA A30", 24576 * mib, "A30-24GB"},
		{"NVIDIA A40", 46068 * mib, "A40-48GB"},
		{"Tesla T4", 15360 * mib, "T4-16GB"},
		{"Tesla V100-SXM2-32GB", 32510 * mib, "V100-32GB"},
		{"Tesla V100-PCIE-16GB", 16160 * mib, "V100-16GB"},
		{"Tesla P100-PCIE-12GB", 12193 * mib, "P100-12GB"},
		{"Tesla M60", 8129 * mib, "M60-8GB"},
		// Workstation cards keep their memory; GeForce and TITAN do not.
		{"NVIDIA RTX A6000", 49140 * mib, "RTX-A6000-48GB"},
		{"NVIDIA RTX 6000 Ada Generation", 49140 * mib, "RTX-6000-Ada-48GB"},
		{"Quadro RTX 8000", 48601 * mib, "RTX-8000-48GB"},
		{"NVIDIA GeForce RTX 4090", 24564 * mib, "RTX-4090"},
		{"NVIDIA GeForce RTX 3090", 24576 * mib, "RTX-3090"},
		{"NVIDIA GeForce RTX 3090 Ti", 24564 * mib, "RTX-3090-Ti"},
		{"NVIDIA GeForce RTX 4070 SUPER", 12282 * mib, "RTX-4070-Super"},
		{"NVIDIA GeForce RTX 4060 Ti", 16380 * mib, "RTX-4060-Ti"},
		{"NVIDIA GeForce RTX 4090 Laptop GPU", 16376 * mib, "RTX-4090-Laptop"},
		{"NVIDIA GeForce RTX 5090", 32607 * mib, "RTX-5090"},
		{"NVIDIA GeForce GTX 1080 Ti", 11264 * mib, "GTX-1080-Ti"},
		{"NVIDIA TITAN RTX", 24576 * mib, "TITAN-RTX"},
		// Apple Silicon: the chip, whatever the memory.
		{"Apple M2 Ultra", 192 * gib, "M2-Ultra"},
		{"Apple M3 Max", 128 * gib, "M3-Max"},
		{"Apple M1", 16 * gib, "M1"},
		{"Apple M4 Pro", 48 * gib, "M4-Pro"},
		{"Apple Paravirtual device", 8 * gib, "Apple-Paravirtual-device"},
		{"Apple ", 0, "Apple-GPU"},
		// Unknown models: sanitised name plus memory.
		{"NVIDIA Graphics Device", 24 * gib, "Graphics-Device-24GB"},
		{"NVIDIA Graphics Device", 50 * gib, "Graphics-Device-50GB"},
		{"Weird/Model (rev 2)", 0, "Weird-Model-rev-2"},
		// Memory unknown: the size in the name, or none.
		{"NVIDIA A100-SXM4-80GB", 0, "A100-80GB"},
		{"NVIDIA L40S", 0, "L40S"},
		// A Tesla M-series with unknown memory must not read as an Apple chip.
		{"Tesla M4", 0, "NVIDIA-M4"},
		{"NVIDIA", 16 * gib, "NVIDIA-16GB"},
		{"", 0, "unknown"},
	}
	for _, tt := range tests {
		if got := Class(tt.model, tt.memory); got != tt.want {
			t.Errorf("Class(%q, %d MiB) = %q, want %q", tt.model, tt.memory/mib, got, tt.want)
		}
	}
}

func TestCPUClass(t *testing.T) {
	tests := []struct{ arch, want string }{
		{"amd64", "CPU-x86"},
		{"386", "CPU-x86"},
		{"arm64", "CPU-arm64"},
		{"riscv64", "CPU-riscv64"},
		{"", "CPU-unknown"},
	}
	for _, tt := range tests {
		if got := CPUClass(tt.arch); got != tt.want {
			t.Errorf("CPUClass(%q) = %q, want %q", tt.arch, got, tt.want)
		}
	}
}

func TestPool(t *testing.T) {
	tests := []struct{ class, want string }{
		{"A100-80GB", PoolGPU},
		{"H200-141GB", PoolGPU},
		{"RTX-4090", PoolGPU},
		{"M60-8GB", PoolGPU},
		{"NVIDIA-M4", PoolGPU},
		{"Graphics-Device-24GB", PoolGPU},
		{"M2-Ultra", PoolApple},
		{"M3-Max", PoolApple},
		{"M1", PoolApple},
		{"M4-Pro", PoolApple},
		{"Apple-Paravirtual-device", PoolApple},
		{"Apple-GPU", PoolApple},
		{"CPU-x86", PoolCPU},
		{"CPU-arm64", PoolCPU},
	}
	for _, tt := range tests {
		if got := Pool(tt.class); got != tt.want {
			t.Errorf("Pool(%q) = %q, want %q", tt.class, got, tt.want)
		}
	}
}

func TestFamily(t *testing.T) {
	tests := []struct {
		major, minor int
		want         string
	}{
		{6, 0, "pascal"},
		{7, 0, "volta"},
		{7, 5, "turing"},
		{8, 0, "ampere"},
		{8, 6, "ampere"},
		{8, 9, "ada-lovelace"},
		{9, 0, "hopper"},
		{10, 0, "blackwell"},
		{12, 0, "blackwell"},
		{11, 0, "undefined"},
	}
	for _, tt := range tests {
		if got := Family(tt.major, tt.minor); got != tt.want {
			t.Errorf("Family(%d, %d) = %q, want %q", tt.major, tt.minor, got, tt.want)
		}
	}
}

var classChars = regexp.MustCompile(`^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$`)

// FuzzClass checks what the DHT relies on: any model name gives a class of
// [A-Za-z0-9-] without empty parts, every time the same.
func FuzzClass(f *testing.F) {
	f.Add("NVIDIA A100-SXM4-40GB", uint64(40960*mib))
	f.Add("Apple M2 Ultra", uint64(192*gib))
	f.Add("  --ünïcödé GPU™ 9000!! ", uint64(1))
	f.Add("", uint64(0))
	f.Fuzz(func(t *testing.T, model string, memory uint64) {
		got := Class(model, memory)
		if !classChars.MatchString(got) {
			t.Fatalf("Class(%q, %d) = %q, not [A-Za-z0-9-] words", model, memory, got)
		}
		if again := Class(model, memory); again != got {
			t.Fatalf("Class(%q, %d) = %q, then %q", model, memory, got, again)
		}
		if p := Pool(got); p != PoolGPU && p != PoolApple {
			t.Fatalf("Pool(Class(%q)) = %q, want gpu or apple", model, p)
		}
	})
}
