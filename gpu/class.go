package gpu

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Incentive pools: Pool's answers. Apple chips get a pool of their own
// (io.net does the same): their unified memory and Metal stack make them
// neither a CUDA GPU nor a plain CPU.
const (
	// PoolGPU holds discrete GPUs (NVIDIA).
	PoolGPU = "gpu"
	// PoolApple holds Apple Silicon.
	PoolApple = "apple"
	// PoolCPU holds CPU-only nodes.
	PoolCPU = "cpu"
)

// Class returns the class of a GPU from its model name as the hardware
// reports it and its memory in bytes. Peers use the class as a DHT
// capability key, so it is stable across drivers and hosts and holds only
// [A-Za-z0-9-]:
//
//   - NVIDIA data-center and workstation GPUs: the model without vendor,
//     form-factor and memory words, then the memory rounded to the marketed
//     size: "NVIDIA A100-SXM4-40GB" -> "A100-40GB", "NVIDIA H200" (141 GiB)
//     -> "H200-141GB", "NVIDIA L40S" (45 GiB usable) -> "L40S-48GB".
//   - GeForce and TITAN cards, whose model fixes the memory: "NVIDIA
//     GeForce RTX 4090" -> "RTX-4090".
//   - Apple Silicon: the chip, "Apple M2 Ultra" -> "M2-Ultra".
//   - Anything else: the sanitised name plus the memory, so an unknown
//     model still gets a usable key ("NVIDIA Graphics Device", 24 GiB ->
//     "Graphics-Device-24GB").
//
// Memory zero means unknown: then a size written in the name is used, or
// none. An empty name gives "unknown". CPUs have CPUClass.
func Class(model string, memoryBytes uint64) string {
	words := nameWords(model)
	if len(words) == 0 {
		return "unknown"
	}
	if strings.EqualFold(words[0], "Apple") {
		return appleClass(words[1:])
	}
	return nvidiaClass(words, memoryBytes)
}

// CPUClass returns the class of a CPU-only node from its architecture
// (runtime.GOARCH): "CPU-x86" for amd64 and 386, "CPU-arm64", else "CPU-"
// and the architecture.
func CPUClass(arch string) string {
	switch arch {
	case "amd64", "386":
		return "CPU-x86"
	}
	if s := sanitize(arch); s != "" {
		return "CPU-" + s
	}
	return "CPU-unknown"
}

// Pool returns the incentive pool of a class: PoolCPU for CPU classes,
// PoolApple for Apple chips, PoolGPU for the rest.
func Pool(class string) string {
	switch {
	case strings.HasPrefix(class, "CPU-"):
		return PoolCPU
	case appleChip.MatchString(class), strings.HasPrefix(class, "Apple-"):
		return PoolApple
	}
	return PoolGPU
}

// Family names an NVIDIA architecture from its CUDA compute capability the
// way gpu-feature-discovery labels nvidia.com/gpu.family: "ampere" for 8.0
// to 8.7, "ada-lovelace" for 8.9, "hopper" for 9.x, "blackwell" for 10.x and
// 12.x, "undefined" for what it does not know.
func Family(major, minor int) string {
	switch major {
	case 1:
		return "tesla"
	case 2:
		return "fermi"
	case 3:
		return "kepler"
	case 5:
		return "maxwell"
	case 6:
		return "pascal"
	case 7:
		if minor < 5 {
			return "volta"
		}
		return "turing"
	case 8:
		if minor < 9 {
			return "ampere"
		}
		return "ada-lovelace"
	case 9:
		return "hopper"
	case 10, 12:
		return "blackwell"
	}
	return "undefined"
}

// appleChip matches the classes appleClass makes for M-series chips.
var appleChip = regexp.MustCompile(`^M[0-9]+(-(Pro|Max|Ultra))?$`)

// appleClass is "M2-Ultra" for the words after "Apple" in "Apple M2 Ultra";
// anything that is not an M chip keeps an "Apple-" prefix so Pool still
// knows it.
func appleClass(words []string) string {
	if len(words) == 0 {
		return "Apple-GPU"
	}
	for i, w := range words {
		words[i] = canonicalWord(w)
	}
	class := strings.Join(words, "-")
	if appleChip.MatchString(class) {
		return class
	}
	return "Apple-" + class
}

// dropWords are vendor, product-line and packaging words that do not tell
// one NVIDIA model from another.
var dropWords = map[string]bool{
	"nvidia": true, "mock": true, "tesla": true, "quadro": true, "geforce": true,
	"gpu": true, "generation": true, "nvl": true, "pcie": true, "sxm": true,
	"tm": true, "r": true,
}

// packaging matches form-factor and memory-technology words ("SXM4",
// "HBM3e", "GDDR6X") and sizes ("40GB"), which the memory suffix replaces.
var (
	packaging = regexp.MustCompile(`^(?i:sxm[0-9]*|pcie[0-9]*|hbm[0-9]*e?|g?ddr[0-9]*x?|[0-9]+gb)$`)
	sizeWord  = regexp.MustCompile(`^(?i:([0-9]+)gb)$`)
)

// nvidiaClass builds the class of an NVIDIA (or unknown) GPU.
func nvidiaClass(words []string, memoryBytes uint64) string {
	consumer := false
	var keep []string
	nameGB := 0
	for _, w := range words {
		lw := strings.ToLower(w)
		if lw == "geforce" || lw == "titan" {
			consumer = true
		}
		if m := sizeWord.FindStringSubmatch(w); m != nil && nameGB == 0 {
			nameGB, _ = strconv.Atoi(m[1])
		}
		if dropWords[lw] || packaging.MatchString(w) {
			continue
		}
		keep = append(keep, canonicalWord(w))
	}
	if len(keep) == 0 {
		keep = []string{"NVIDIA"}
	}
	class := strings.Join(keep, "-")
	if !consumer {
		gb := marketedGB(memoryBytes)
		if gb == 0 {
			gb = nameGB
		}
		if gb > 0 {
			class += "-" + strconv.Itoa(gb) + "GB"
		}
	}
	if appleChip.MatchString(class) || strings.HasPrefix(class, "Apple-") || strings.HasPrefix(class, "CPU-") {
		// Tesla M60 with unknown memory would read as an Apple chip.
		class = "NVIDIA-" + class
	}
	return class
}

// marketedSizes are the memory sizes, in GB, GPUs are sold with.
var marketedSizes = []float64{1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 16, 20, 24, 32, 40, 48, 64, 80, 94, 96, 128, 141, 144, 180, 186, 192, 256, 288}

// marketedGB rounds the memory a GPU reports to the size it is sold with.
// Drivers report less than the label (ECC and firmware reserve some: an
// L40S "48GB" shows 45 GiB, an H200 "141GB" shows 140.4 GiB), so the answer
// is the smallest marketed size from half a GiB under the reported GiB to
// 12% over it; a size matching none is rounded to whole GiB. Zero is
// unknown.
func marketedGB(memoryBytes uint64) int {
	if memoryBytes == 0 {
		return 0
	}
	gib := float64(memoryBytes) / (1 << 30)
	for _, s := range marketedSizes {
		if s >= gib-0.5 && s <= gib*1.12 {
			return int(s)
		}
	}
	return int(math.Max(1, math.Round(gib)))
}

// canonicalWord spells suffix words one way whatever the driver's case.
func canonicalWord(w string) string {
	switch strings.ToLower(w) {
	case "ti":
		return "Ti"
	case "super":
		return "Super"
	case "pro":
		return "Pro"
	case "max":
		return "Max"
	case "ultra":
		return "Ultra"
	case "laptop":
		return "Laptop"
	}
	return w
}

// nameWords splits a model name on everything outside [A-Za-z0-9].
func nameWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !isAlnum(r) })
}

// sanitize keeps [A-Za-z0-9] runs joined by single hyphens.
func sanitize(s string) string {
	return strings.Join(nameWords(s), "-")
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}
