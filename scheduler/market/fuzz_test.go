package market

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParseSpec: any bytes as a job file, YAML or JSON. Every error wraps
// ErrBadSpec; a spec that parses writes back (as YAML and as JSON, the
// same keys) to files that parse to the same spec, and one with a number
// that is not finite never normalizes. A spec that names no files
// normalizes the same when normalized again.
func FuzzParseSpec(f *testing.F) {
	gpus, rep := 2, 0.5
	full := Spec{Workers: 4, GPUs: &gpus, Pool: "gpu", Class: "A100-80GB", MinVRAMGB: 40, CPUCores: 8, RAMGB: 64,
		MaxRTT: 40e6, Regions: []string{"EU", "DE"}, MaxPrice: 2.5, Duration: 36e11, Executor: "docker",
		Image: "alpine:3", Args: []string{"-c", "echo hi"}, Urgency: "high", BidWindow: 5e9, MinReputation: &rep,
		Failover: FailoverNone}
	y, err := yaml.Marshal(full)
	if err != nil {
		f.Fatal(err)
	}
	j, _ := json.Marshal(full)
	f.Add(false, y)
	f.Add(true, j)
	for _, s := range []string{
		"workers: 2\ngpus: 1\nclass: RTX-4090\nmax_price: 1.5\nmax_rtt: 30ms\n",
		"workers: 1\ngpus: 0\npool: cpu\ncpu_cores: 4\n",
		"max_price: .nan\n",
		"min_vram_gb: .inf\n",
		"max_rtt: forever\n",
		"unknown: 1\n",
		"workers: [1]\n",
		"regions: EU\n",
		"{workers: 3}\n",
		"---\nworkers: 1\n---\nworkers: 2\n",
		"",
	} {
		f.Add(false, []byte(s))
	}
	for _, s := range []string{`{"workers":2,"max_rtt":"40ms"}`, `{"workers":1}{"workers":2}`, `{"gpus":null}`, `{"Workers":3}`, `[]`, ``} {
		f.Add(true, []byte(s))
	}
	f.Fuzz(func(t *testing.T, asJSON bool, data []byte) {
		name := "job.yaml"
		if asJSON {
			name = "job.json"
		}
		s, err := ParseSpec(name, data)
		if err != nil {
			if !errors.Is(err, ErrBadSpec) {
				t.Fatalf("error does not wrap ErrBadSpec: %v", err)
			}
			return
		}
		if !finiteSpec(s) {
			if s.Module == "" && len(s.Inputs) == 0 {
				if n, err := s.Normalize(DefaultConfig()); err == nil {
					t.Fatalf("a spec with a non-finite number normalized: %+v", n)
				}
			}
			return
		}
		j, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("json: %v", err)
		}
		y, err := yaml.Marshal(s)
		if err != nil {
			t.Fatalf("yaml: %v", err)
		}
		// The JSON form is the comparison: it writes an empty list and no
		// list alike, as the spec means them alike.
		for _, f := range []struct{ name, data string }{{"job.json", string(j)}, {"job.yaml", string(y)}} {
			back, err := ParseSpec(f.name, []byte(f.data))
			if err != nil {
				t.Fatalf("%s round trip: %v\n%s", f.name, err, f.data)
			}
			if bj, _ := json.Marshal(back); string(bj) != string(j) {
				t.Fatalf("%s round trip:\n%s\nread back as\n%s", f.name, j, bj)
			}
		}
		if s.Module != "" || len(s.Inputs) > 0 {
			return // Normalize reads them from this machine
		}
		n, err := s.Normalize(DefaultConfig())
		if err != nil {
			return
		}
		again, err := n.Normalize(DefaultConfig())
		nj, _ := json.Marshal(n)
		if aj, _ := json.Marshal(again); err != nil || string(aj) != string(nj) {
			t.Fatalf("normalizing twice: %v\n%s\n%s", err, nj, aj)
		}
	})
}

// finiteSpec reports whether every number of s is finite.
func finiteSpec(s Spec) bool {
	v := reflect.ValueOf(s)
	for i := range v.NumField() {
		fv := v.Field(i)
		if fv.Kind() == reflect.Pointer && !fv.IsNil() {
			fv = fv.Elem()
		}
		if fv.Kind() == reflect.Float64 && (math.IsNaN(fv.Float()) || math.IsInf(fv.Float(), 0)) {
			return false
		}
	}
	return true
}
