package gpu

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"
	"time"
)

var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// keys collects every object key in a decoded JSON value.
func keys(v any, into map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			into[k] = true
			keys(e, into)
		}
	case []any:
		for _, e := range v {
			keys(e, into)
		}
	}
}

func TestInventoryJSON(t *testing.T) {
	p, inv, err := fakeEnv(noNVML).detect(t.Context(), "/data")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	inv.Warnings = []string{"a warning"}
	inv.Devices[0].Unknown = []string{"pcie_gen"}
	data, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	keys(doc, got)
	for k := range got {
		if !snakeKey.MatchString(k) {
			t.Errorf("JSON key %q is not lower_snake_case", k)
		}
	}
	for _, k := range []string{
		"source", "nvml_error", "devices", "host", "virtualization", "warnings",
		"index", "id", "name", "class", "pool", "memory_total_bytes", "cores", "mig_capable", "mig_enabled", "nvlinks", "unknown", "telemetry",
		"device", "time", "utilization", "memory_utilization", "memory_used_bytes", "temperature_c", "power_w", "power_limit_w", "sm_clock_mhz", "mem_clock_mhz",
		"cpu_model", "threads", "os", "arch", "memory_bytes", "disk_path", "disk_free_bytes",
		"vm", "hypervisor", "container", "evidence",
	} {
		if !got[k] {
			t.Errorf("JSON has no key %q", k)
		}
	}

	// What the API writes, the CLI reads back unchanged.
	var back Inventory
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Errorf("JSON round trip changed it:\n got %s\nwant %s", again, data)
	}
}

func TestDeviceWithoutTelemetryHasNoTelemetryJSON(t *testing.T) {
	data, err := json.Marshal(Device{ID: "cpu0"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(`"telemetry"`)) {
		t.Errorf("got %s, want no telemetry object before the first reading", data)
	}
}

func TestWithTelemetry(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	inv := Inventory{Devices: []Device{
		{ID: "GPU-a", Telemetry: Telemetry{Device: "GPU-a", PowerW: 100}},
		{ID: "GPU-b", Telemetry: Telemetry{Device: "GPU-b", PowerW: 200}},
	}}
	got := inv.WithTelemetry([]Telemetry{
		{Device: "GPU-b", PowerW: 250, Time: at},
		{Device: "GPU-gone", PowerW: 1},
	})
	if p := got.Devices[0].Telemetry.PowerW; p != 100 {
		t.Errorf("GPU-a: got %v W, want its old 100 W", p)
	}
	if tel := got.Devices[1].Telemetry; tel.PowerW != 250 || !tel.Time.Equal(at) {
		t.Errorf("GPU-b: got %v W at %v, want 250 W at %v", tel.PowerW, tel.Time, at)
	}
	if p := inv.Devices[1].Telemetry.PowerW; p != 200 {
		t.Errorf("the original changed: GPU-b has %v W, want still 200 W", p)
	}
}

func TestLabels(t *testing.T) {
	tests := []struct {
		name string
		inv  Inventory
		want map[string]string
	}{
		{
			name: "CPU only",
			inv:  Inventory{Source: SourceCPU, Devices: []Device{{ID: "cpu0", Class: "CPU-x86"}}},
			want: map[string]string{},
		},
		{
			name: "Apple",
			inv:  Inventory{Source: SourceApple, Devices: []Device{{ID: "apple0", Class: "M2-Ultra"}}},
			want: map[string]string{},
		},
		{
			name: "two-part driver version, Ada card, compute unknown on the second",
			inv: Inventory{
				Source: SourceNVML, Driver: "535.104", CUDA: "12.2",
				Devices: []Device{
					{Name: "NVIDIA GeForce RTX 4090", MemoryTotal: 24564 * mib, ComputeCapability: "8.9"},
					{Name: "NVIDIA GeForce RTX 4090", MemoryTotal: 24564 * mib},
				},
			},
			want: map[string]string{
				"nvidia.com/gpu.count":                    "2",
				"nvidia.com/gpu.product":                  "NVIDIA-GeForce-RTX-4090",
				"nvidia.com/gpu.memory":                   "24564",
				"nvidia.com/gpu.family":                   "ada-lovelace",
				"nvidia.com/gpu.compute.major":            "8",
				"nvidia.com/gpu.compute.minor":            "9",
				"nvidia.com/mig.capable":                  "false",
				"nvidia.com/cuda.driver.major":            "535",
				"nvidia.com/cuda.driver.minor":            "104",
				"nvidia.com/cuda.driver.rev":              "",
				"nvidia.com/cuda.driver-version.major":    "535",
				"nvidia.com/cuda.driver-version.minor":    "104",
				"nvidia.com/cuda.driver-version.revision": "",
				"nvidia.com/cuda.driver-version.full":     "535.104",
				"nvidia.com/cuda.runtime.major":           "12",
				"nvidia.com/cuda.runtime.minor":           "2",
				"nvidia.com/cuda.runtime-version.major":   "12",
				"nvidia.com/cuda.runtime-version.minor":   "2",
				"nvidia.com/cuda.runtime-version.full":    "12.2",
			},
		},
	}
	for _, tt := range tests {
		got := tt.inv.Labels()
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %d labels %v, want %d", tt.name, len(got), got, len(tt.want))
		}
		for k, w := range tt.want {
			if g, ok := got[k]; g != w || !ok {
				t.Errorf("%s: label %s: got %q (present %v), want %q", tt.name, k, g, ok, w)
			}
		}
	}
}
