package gpu

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
)

func TestParseIOReg(t *testing.T) {
	got, err := parseIOReg(readFixture(t, "ioreg_m2_pro.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := agxStats{class: "AGXAcceleratorG14X", utilization: 43, memUsed: 1 << 30, memOK: true}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParseIORegRefuses(t *testing.T) {
	agx := func(stats string) string {
		return "+-o AGXAcceleratorG13G  <class AGXAcceleratorG13G, id 0x1, registered>\n    {\n      \"PerformanceStatistics\" = " + stats + "\n    }\n"
	}
	tests := []struct {
		name, in string
		want     error  // matched with errors.Is, when set
		msg      string // in the error, when set
		util     float64
	}{
		{name: "empty", in: "", want: ErrNoGPUStats},
		{name: "intel mac", in: "+-o IntelAccelerator  <class IntelAccelerator, id 0x2>\n    {\n      \"IOClass\" = \"IntelAccelerator\"\n    }\n", want: ErrNoGPUStats},
		{name: "no utilisation", in: agx(`{"Alloc system memory"=1,"In use system memory"=2}`), want: ErrNoGPUStats},
		{name: "over 100", in: agx(`{"Device Utilization %"=250}`), msg: "not a percentage"},
		{name: "negative", in: agx(`{"Device Utilization %"=-3}`), msg: "not a percentage"},
		{name: "not a dict", in: agx(`(1,2)`), msg: "not a dictionary"},
		{name: "not closed", in: agx(`{"Device Utilization %"=5`), msg: "not closed"},
		{name: "too big", in: strings.Repeat("x", maxIORegOutput+1), msg: "over"},
		{name: "second accelerator", in: agx(`{"Alloc system memory"=1}`) + agx(`{"Tiler Utilization %"=3,"Device Utilization %"=7,"In use system memory"=oops}`), util: 7},
		{name: "nested values", in: agx(`{"x"={"a"=1,"Device Utilization %"=99},"y"=("Device Utilization %",2),"z"=<2c2c>,"s"="a,b=c","Device Utilization %"=12}`), util: 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseIOReg([]byte(tt.in))
			switch {
			case tt.want != nil:
				if !errors.Is(err, tt.want) {
					t.Errorf("err %v, want %v", err, tt.want)
				}
			case tt.msg != "":
				if err == nil || !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("err %v, want one saying %q", err, tt.msg)
				}
			default:
				if err != nil || got.utilization != tt.util || got.memOK {
					t.Errorf("got %+v, %v; want utilisation %v and no memory", got, err, tt.util)
				}
			}
		})
	}
}

// FuzzParseIOReg: any bytes as ioreg's output. What parses is a
// percentage, and written back as an accelerator's statistics parses to
// the same figures.
func FuzzParseIOReg(f *testing.F) {
	f.Add(readFixture(f, "ioreg_m2_pro.txt"))
	f.Add([]byte("+-o AGX  <class AGX, id 0x1>\n\"PerformanceStatistics\" = {\"Device Utilization %\"=5}\n"))
	f.Add([]byte(`"PerformanceStatistics" = {"a"={"b"=(1,"}",<7d>)},"Device Utilization %"=100,"In use system memory"=18446744073709551615}`))
	f.Add([]byte(`"PerformanceStatistics" = {"Device Utilization %"=101}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseIOReg(data)
		if err != nil {
			if s != (agxStats{}) {
				t.Fatalf("failed (%v) with %+v", err, s)
			}
			return
		}
		if s.utilization < 0 || s.utilization > 100 {
			t.Fatalf("utilisation %v out of range", s.utilization)
		}
		again := fmt.Sprintf(`"PerformanceStatistics" = {"Device Utilization %%"=%d`, int(s.utilization))
		if s.memOK {
			again += fmt.Sprintf(`,"In use system memory"=%d`, s.memUsed)
		}
		back, err := parseIOReg([]byte(again + "}\n"))
		if err != nil || back.utilization != s.utilization || back.memOK != s.memOK || back.memUsed != s.memUsed {
			t.Fatalf("%+v written back parsed to %+v, %v", s, back, err)
		}
	})
}

// TestDetectAppleUtilisation: on a Mac whose ioreg reports the AGX
// accelerator, the Apple GPU's telemetry carries its utilisation and the
// memory it uses, at every reading; where ioreg gives nothing, the node
// is told once why and utilisation is unknown.
func TestDetectAppleUtilisation(t *testing.T) {
	fixture := readFixture(t, "ioreg_m2_pro.txt")
	var runs atomic.Int32
	env := fakeEnv(noNVML)
	env.root = fstest.MapFS{}
	env.systemProfiler = func(context.Context) ([]byte, error) { return readFixture(t, "system_profiler_m2_ultra.json"), nil }
	env.ioreg = func(context.Context) ([]byte, error) {
		if runs.Add(1) > 2 {
			return []byte(strings.Replace(string(fixture), `"Device Utilization %"=43`, `"Device Utilization %"=88`, 1)), nil
		}
		return fixture, nil
	}
	p, inv, err := env.detect(t.Context(), "/data")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tel := inv.Devices[0].Telemetry
	if inv.Source != SourceApple || !tel.Known(fieldUtilization) || tel.Utilization != 43 || tel.MemoryUsed != 1<<30 {
		t.Errorf("source %q, telemetry %+v; want the Apple GPU at 43 %% using 1 GiB", inv.Source, tel)
	}
	if slices.ContainsFunc(inv.Warnings, func(w string) bool { return strings.Contains(w, "utilisation") }) {
		t.Errorf("warnings %q, want none about utilisation", inv.Warnings)
	}
	later, err := p.Telemetry(t.Context())
	if err != nil || len(later) != 1 || later[0].Utilization != 88 {
		t.Errorf("next reading %+v, %v; want the GPU at 88 %%", later, err)
	}

	for name, ioreg := range map[string]func(context.Context) ([]byte, error){
		"ioreg fails": func(context.Context) ([]byte, error) { return nil, errors.New("run ioreg: exit status 1") },
		"no AGX stats": func(context.Context) ([]byte, error) {
			return []byte("+-o AppleParavirtGPU  <class AppleParavirtGPU>\n"), nil
		},
		"no ioreg": nil,
	} {
		t.Run(name, func(t *testing.T) {
			env.ioreg = ioreg
			p, inv, err := env.detect(t.Context(), "/data")
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if !slices.ContainsFunc(inv.Warnings, func(w string) bool { return strings.Contains(w, "apple gpu utilisation unavailable") }) {
				t.Errorf("warnings %q, want why utilisation is unavailable", inv.Warnings)
			}
			if tel := inv.Devices[0].Telemetry; tel.Known(fieldUtilization) {
				t.Errorf("utilisation %v, want unknown", tel.Utilization)
			}
			if _, err := p.Telemetry(t.Context()); err != nil {
				t.Errorf("later reading: %v, want no error once ioreg was found wanting", err)
			}
		})
	}
}
