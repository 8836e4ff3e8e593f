package gpu

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParseCPUInfo(t *testing.T) {
	// Two sockets of two cores with two threads each, as x86 Linux prints it.
	var x86 strings.Builder
	n := 0
	for pkg := range 2 {
		for range 2 { // threads per core
			for core := range 2 {
				fmt.Fprintf(&x86, "processor\t: %d\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n", n)
				fmt.Fprintf(&x86, "physical id\t: %d\nsiblings\t: 4\ncore id\t\t: %d\ncpu cores\t: 2\n\n", pkg, core)
				n++
			}
		}
	}
	arm := "processor\t: 0\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\nCPU part\t: 0xd40\n\n" +
		"processor\t: 1\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\nCPU part\t: 0xd40\n\n"
	pi := "processor\t: 0\nmodel name\t: ARMv7 Processor rev 4 (v7l)\n\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 3 Model B Rev 1.2\n"
	vm := "processor\t: 0\nmodel name\t: AMD EPYC\ncpu cores\t: 2\n\nprocessor\t: 1\nmodel name\t: AMD EPYC\ncpu cores\t: 2\n"
	tests := []struct {
		name string
		data string
		want cpuInfo
	}{
		{"x86 two sockets with hyper-threading", x86.String(), cpuInfo{model: "Intel(R) Xeon(R) Platinum 8480+", cores: 4, threads: 8}},
		{"arm64 without model or core ids", arm, cpuInfo{threads: 2}},
		{"raspberry pi", pi, cpuInfo{model: "ARMv7 Processor rev 4 (v7l)", threads: 1}},
		{"vm without core ids", vm, cpuInfo{model: "AMD EPYC", cores: 2, threads: 2}},
		{"empty", "", cpuInfo{}},
	}
	for _, tt := range tests {
		if got := parseCPUInfo([]byte(tt.data)); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestParseProcStat(t *testing.T) {
	got, err := parseProcStat([]byte("cpu  100 5 50 800 20 3 2 10 7 0\ncpu0 50 2 25 400 10 1 1 5 3 0\nintr 123\n"))
	if err != nil {
		t.Fatal(err)
	}
	// total = user..steal (guest is inside user); idle = idle + iowait
	if want := (cpuTimes{idle: 820, total: 990}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{"", "intr 1 2 3\n", "cpu 1 2 x 4 5\n", "cpu 1 2\n"} {
		if _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("parseProcStat(%q): got no error, want one", bad)
		}
	}
}

func TestBusyPercent(t *testing.T) {
	tests := []struct {
		prev, cur cpuTimes
		want      float64
		ok        bool
	}{
		{cpuTimes{idle: 100, total: 200}, cpuTimes{idle: 150, total: 300}, 50, true},
		{cpuTimes{idle: 100, total: 200}, cpuTimes{idle: 200, total: 300}, 0, true},
		{cpuTimes{idle: 100, total: 200}, cpuTimes{idle: 100, total: 300}, 100, true},
		{cpuTimes{idle: 100, total: 200}, cpuTimes{idle: 100, total: 200}, 0, false}, // no time passed
		{cpuTimes{idle: 100, total: 200}, cpuTimes{idle: 10, total: 20}, 0, false},   // counters reset
	}
	for _, tt := range tests {
		got, ok := busyPercent(tt.prev, tt.cur)
		if got != tt.want || ok != tt.ok {
			t.Errorf("busyPercent(%+v, %+v) = %v, %v, want %v, %v", tt.prev, tt.cur, got, ok, tt.want, tt.ok)
		}
	}
}

func TestHostReader(t *testing.T) {
	readings := []usage{
		{cpu: cpuTimes{idle: 100, total: 200}, cpuOK: true, memUsed: 3 * gib, memOK: true},
		{cpu: cpuTimes{idle: 125, total: 300}, cpuOK: true, memUsed: 4 * gib, memOK: true},
		{},
	}
	errs := []error{nil, nil, errors.New("proc is gone")}
	i := 0
	r := &hostReader{id: "cpu0", withCPU: true, readUsage: func(context.Context) (usage, error) {
		u, err := readings[i], errs[i]
		i++
		return u, err
	}}
	tests := []struct {
		util    float64
		mem     uint64
		unknown []string
		err     bool
	}{
		// The first reading has nothing to compare CPU times with.
		{0, 3 * gib, []string{fieldUtilization}, false},
		{75, 4 * gib, nil, false},
		{0, 0, []string{fieldUtilization, fieldMemoryUsed}, true},
	}
	for n, tt := range tests {
		got, err := r.read(t.Context())
		if (err != nil) != tt.err {
			t.Errorf("reading %d: got error %v, want error %v", n, err, tt.err)
		}
		if len(got) != 1 {
			t.Fatalf("reading %d: got %d readings, want 1", n, len(got))
		}
		g := got[0]
		if g.Device != "cpu0" || g.Utilization != tt.util || g.MemoryUsed != tt.mem || g.Time.IsZero() {
			t.Errorf("reading %d: got %+v, want device cpu0, utilization %v, memory used %d, a time", n, g, tt.util, tt.mem)
		}
		for _, f := range []string{fieldTemperature, fieldPower, fieldPowerLimit, fieldSMClock, fieldMemClock, fieldMemoryUtilization} {
			if g.Known(f) {
				t.Errorf("reading %d: %s is known, want unknown for a CPU", n, f)
			}
		}
		for _, f := range []string{fieldUtilization, fieldMemoryUsed} {
			if want := !slices.Contains(tt.unknown, f); g.Known(f) != want {
				t.Errorf("reading %d: Known(%s) = %v, want %v", n, f, g.Known(f), want)
			}
		}
	}
}
