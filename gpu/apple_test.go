package gpu

import (
	"os"
	"path/filepath"
	"testing"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseSystemProfiler(t *testing.T) {
	tests := []struct {
		fixture      string
		machineModel string
		want         []Device
	}{
		{
			fixture:      "system_profiler_m2_ultra.json",
			machineModel: "Mac14,14",
			want: []Device{{
				Index: 0, ID: "apple0", Name: "Apple M2 Ultra", Class: "M2-Ultra", Pool: PoolApple,
				MemoryTotal: 192 * gib, Cores: 76,
			}},
		},
		{
			// An Intel Mac's Intel and AMD GPUs are neither CUDA devices nor Apple chips.
			fixture:      "system_profiler_intel.json",
			machineModel: "MacBookPro16,1",
		},
		{
			fixture:      "system_profiler_vm.json",
			machineModel: "VirtualMac2,1",
			want: []Device{{
				Index: 0, ID: "apple0", Name: "Apple Paravirtual device", Class: "Apple-Paravirtual-device", Pool: PoolApple,
				MemoryTotal: 8 * gib,
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := parseSystemProfiler(readFixture(t, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if got.machineModel != tt.machineModel {
				t.Errorf("got machine model %q, want %q", got.machineModel, tt.machineModel)
			}
			if len(got.gpus) != len(tt.want) {
				t.Fatalf("got %d GPUs %+v, want %d", len(got.gpus), got.gpus, len(tt.want))
			}
			for i, d := range got.gpus {
				w := tt.want[i]
				if d.Index != w.Index || d.ID != w.ID || d.Name != w.Name || d.Class != w.Class || d.Pool != w.Pool || d.MemoryTotal != w.MemoryTotal || d.Cores != w.Cores {
					t.Errorf("got GPU %d %+v, want %+v", i, d, w)
				}
			}
		})
	}
}

func TestParseSystemProfilerErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"not JSON", []byte("system_profiler: command not found")},
		{"wrong shape", []byte(`{"SPDisplaysDataType": {"_name": "x"}}`)},
		{"too big", make([]byte, maxProfilerOutput+1)},
	}
	for _, tt := range tests {
		if _, err := parseSystemProfiler(tt.data); err == nil {
			t.Errorf("%s: got no error, want one", tt.name)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
	}{
		{"192 GB", 192 * gib},
		{"8 GB", 8 * gib},
		{"1536 MB", 1536 * mib},
		{"1 TB", 1024 * gib},
		{"", 0},
		{"lots", 0},
		{"12 parsecs", 0},
	}
	for _, tt := range tests {
		if got := parseByteSize(tt.in); got != tt.want {
			t.Errorf("parseByteSize(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// FuzzParseSystemProfiler feeds the parser what a broken or hostile
// system_profiler could print: it must not panic, and every device it
// returns must have a valid class in the apple pool.
func FuzzParseSystemProfiler(f *testing.F) {
	for _, name := range []string{"system_profiler_m2_ultra.json", "system_profiler_intel.json", "system_profiler_vm.json"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte(`{"SPDisplaysDataType":[{"sppci_model":"Apple M9 Hyper","sppci_cores":-3}],"SPHardwareDataType":[{"physical_memory":"1e300 GB"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseSystemProfiler(data)
		if err != nil {
			return
		}
		for _, d := range p.gpus {
			if !classChars.MatchString(d.Class) || d.Pool != PoolApple || d.Cores < 0 {
				t.Fatalf("got device %+v from %q", d, data)
			}
		}
	})
}
