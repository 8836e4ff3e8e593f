package gpu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// maxProfilerOutput bounds what parseSystemProfiler accepts: the report
// for one Mac's displays and hardware is a few KiB.
const maxProfilerOutput = 4 << 20

// appleProfile is what system_profiler says about a Mac.
type appleProfile struct {
	// gpus are the Apple Silicon GPUs; an Intel Mac's AMD or Intel GPU is
	// not one (it is no CUDA device and no Apple chip).
	gpus []Device
	// machineModel is the model identifier, such as "Mac14,14", or
	// "VirtualMac2,1" inside a macOS virtual machine.
	machineModel string
}

// parseSystemProfiler reads the JSON of `system_profiler SPDisplaysDataType
// SPHardwareDataType -json`. Each Apple GPU becomes a device whose memory
// is the Mac's unified memory and whose Cores are the GPU cores.
func parseSystemProfiler(data []byte) (appleProfile, error) {
	if len(data) > maxProfilerOutput {
		return appleProfile{}, fmt.Errorf("parse system_profiler: output of %d bytes is over %d", len(data), maxProfilerOutput)
	}
	var doc struct {
		Displays []struct {
			Name   string          `json:"_name"`
			Model  string          `json:"sppci_model"`
			Cores  json.RawMessage `json:"sppci_cores"`
			Vendor string          `json:"spdisplays_vendor"`
		} `json:"SPDisplaysDataType"`
		Hardware []struct {
			Chip         string `json:"chip_type"`
			MachineModel string `json:"machine_model"`
			Memory       string `json:"physical_memory"`
		} `json:"SPHardwareDataType"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return appleProfile{}, fmt.Errorf("parse system_profiler: %w", err)
	}
	var p appleProfile
	var memory uint64
	if len(doc.Hardware) > 0 {
		hw := doc.Hardware[0]
		p.machineModel = hw.MachineModel
		memory = parseByteSize(hw.Memory)
	}
	for _, g := range doc.Displays {
		model := g.Model
		if model == "" {
			model = g.Name
		}
		if !strings.Contains(g.Vendor, "Apple") && !strings.HasPrefix(model, "Apple ") {
			continue
		}
		model = strings.TrimSpace(model)
		if model == "" {
			continue // an Apple display with no model: nothing to classify or offer
		}
		if !strings.HasPrefix(model, "Apple ") {
			model = "Apple " + model // the vendor said Apple: classify it as an Apple chip
		}
		class := Class(model, memory)
		p.gpus = append(p.gpus, Device{
			Index:       len(p.gpus),
			ID:          "apple" + strconv.Itoa(len(p.gpus)),
			Name:        model,
			Class:       class,
			Pool:        Pool(class),
			MemoryTotal: memory,
			Cores:       jsonInt(g.Cores),
		})
	}
	return p, nil
}

// parseByteSize reads system_profiler's sizes ("192 GB", "512 MB"), which
// count in powers of 1024. Zero means unreadable.
func parseByteSize(s string) uint64 {
	num, unit, _ := strings.Cut(strings.TrimSpace(s), " ")
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n <= 0 || n > 1<<20 {
		return 0
	}
	shift := map[string]uint{"KB": 10, "MB": 20, "GB": 30, "TB": 40}[strings.ToUpper(strings.TrimSpace(unit))]
	if shift == 0 {
		return 0
	}
	return uint64(n * float64(uint64(1)<<shift))
}

// jsonInt reads a count system_profiler writes as a number or a string
// ("76"); anything else is 0.
func jsonInt(raw json.RawMessage) int {
	s := string(bytes.Trim(bytes.TrimSpace(raw), `"`))
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0
	}
	return n
}
