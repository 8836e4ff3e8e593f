package run

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/scheduler/executor"
)

// testGPU is the device of index i with a UUID made from it.
func testGPU(i int) executor.Device {
	return executor.Device{Index: i, UUID: "GPU-" + strings.Repeat(string(rune('a'+i)), 8)}
}

// Each rank's work gets exactly the devices its grant names, and a rank
// the grant gives none gets none.
func TestGrantGivesEachRankItsDevices(t *testing.T) {
	module := wasmModule(t, "copy")
	prov := newProvider(t, ServerConfig{})
	prov.auth.grant = Grant{Devices: map[int][]executor.Device{0: {testGPU(2), testGPU(5)}, 1: {testGPU(7)}}}
	req := newNode(t)
	connect(req, prov.node)
	in := writeFile(t, "in.txt", "x\n")
	peers := []peer.ID{prov.ID(), prov.ID(), prov.ID()}
	out, err := Run(t.Context(), req, req.key, prov.ID(), wasmRequest(jobID(t), []int{0, 1, 2}, peers),
		map[string]string{ModuleFile: module, "inputs/in.txt": in}, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Results) != 3 {
		t.Fatalf("%d results, want 3", len(out.Results))
	}
	jobs := prov.exec.started()
	want := map[int][]executor.Device{0: {testGPU(2), testGPU(5)}, 1: {testGPU(7)}, 2: nil}
	if len(jobs) != 3 {
		t.Fatalf("%d jobs started, want 3", len(jobs))
	}
	for _, j := range jobs {
		rk := rankOf(t, j)
		if !slices.Equal(j.Devices, want[rk]) {
			t.Errorf("rank %d: devices %v, want %v", rk, j.Devices, want[rk])
		}
	}
}

// rankOf is the rank of j, from its environment.
func rankOf(t *testing.T, j executor.Job) int {
	t.Helper()
	switch j.Env["GPUMESH_RANK"] {
	case "0":
		return 0
	case "1":
		return 1
	case "2":
		return 2
	}
	t.Fatalf("rank %q", j.Env["GPUMESH_RANK"])
	return -1
}

// A grant that does not fit the run is refused before anything is held:
// the requester reads why, BeginRun is never called, nothing runs.
func TestGrantThatDoesNotFitRefused(t *testing.T) {
	module := wasmModule(t, "copy")
	prov := newProvider(t, ServerConfig{})
	prov.auth.grant = Grant{Devices: map[int][]executor.Device{0: {testGPU(1)}, 1: {testGPU(1)}}}
	req := newNode(t)
	connect(req, prov.node)
	peers := []peer.ID{prov.ID(), prov.ID()}
	_, err := Run(t.Context(), req, req.key, prov.ID(), wasmRequest(jobID(t), []int{0, 1}, peers),
		map[string]string{ModuleFile: module}, t.TempDir(), nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "device 1 granted to rank") {
		t.Fatalf("got %v, want ErrRefused: device 1 granted to two ranks", err)
	}
	if begins, ends := prov.auth.calls(); len(begins) != 0 || len(ends) != 0 {
		t.Errorf("begins %q, ends %q: want neither", begins, ends)
	}
	if jobs := prov.exec.started(); len(jobs) != 0 {
		t.Errorf("work started: %d jobs", len(jobs))
	}
}

// Grant.check names every problem of a grant against a run.
func TestGrantCheck(t *testing.T) {
	docker := func(gpus int) executor.Spec {
		return executor.Spec{Version: executor.SpecVersion, Executor: "docker", Docker: &executor.DockerSpec{Image: "x", GPUs: gpus}}
	}
	many := make([]executor.Device, maxGrantDevices+1)
	for i := range many {
		many[i] = executor.Device{Index: i}
	}
	for _, tc := range []struct {
		name  string
		ranks []int
		spec  executor.Spec
		grant map[int][]executor.Device
		want  []string
	}{
		{"fits", []int{0, 1}, docker(1), map[int][]executor.Device{0: {testGPU(0)}, 1: {testGPU(3)}}, nil},
		{"no gpus asked, devices held", []int{0}, docker(0), map[int][]executor.Device{0: {testGPU(0), testGPU(1)}}, nil},
		{"no devices at all", []int{0}, executor.Spec{Executor: "wasm"}, nil, nil},
		{"more asked than held", []int{0, 1}, docker(2), map[int][]executor.Device{0: {testGPU(0), testGPU(1)}, 1: {testGPU(2)}},
			[]string{"asks for 2 GPUs per worker, the award holds 1 for rank 1"}},
		{"asked without a grant", []int{0}, docker(1), nil, []string{"asks for 1 GPUs per worker, the award holds 0 for rank 0"}},
		{"rank not run here", []int{0}, docker(0), map[int][]executor.Device{0: {testGPU(0)}, 4: {testGPU(1)}}, []string{"rank 4 holds devices but is not run here"}},
		{"one device twice", []int{0}, docker(0), map[int][]executor.Device{0: {testGPU(2), testGPU(2)}}, []string{"device 2 granted to rank 0 and rank 0"}},
		{"too many", []int{0}, docker(0), map[int][]executor.Device{0: many}, []string{"rank 0 holds 65 devices, at most 64"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Grant{Devices: tc.grant}.check(&RunRequest{Ranks: tc.ranks, Spec: tc.spec})
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrDevices) {
				t.Fatalf("got %v, want ErrDevices", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to say %q", err, w)
				}
			}
		})
	}
}

// beginOnly is an Authorizer that cannot check a run without holding it
// (no RunChecker): the server learns the grant from BeginRun only.
type beginOnly struct{ a *fakeAuth }

func (b beginOnly) BeginRun(job string, requester peer.ID, ranks []int) (Grant, error) {
	return b.a.BeginRun(job, requester, ranks)
}

func (b beginOnly) EndRun(job string, requester peer.ID, end RunEnd) { b.a.EndRun(job, requester, end) }

// A grant that does not fit, learnt from BeginRun, is given back at once
// (EndRun, with the reason) and the run refused: nothing stays held.
func TestGrantThatDoesNotFitGivenBack(t *testing.T) {
	module := wasmModule(t, "copy")
	n := newNode(t)
	auth := newFakeAuth()
	auth.grant = Grant{Devices: map[int][]executor.Device{0: {testGPU(1)}, 3: {testGPU(2)}}}
	srv := NewServer(n, map[string]executor.Executor{"wasm": testWasm(t)}, beginOnly{auth}, ServerConfig{Dir: t.TempDir()}, nil)
	srv.Start(t.Context())
	t.Cleanup(func() { srv.Close() })
	req := newNode(t)
	connect(req, n)
	_, err := Run(t.Context(), req, req.key, n.ID(), wasmRequest(jobID(t), []int{0}, []peer.ID{n.ID()}),
		map[string]string{ModuleFile: module}, t.TempDir(), nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "rank 3 holds devices but is not run here") {
		t.Fatalf("got %v, want ErrRefused: rank 3 is not run here", err)
	}
	if end := auth.waitEnd(t); !strings.HasPrefix(end, "refused: devices: rank 3") {
		t.Errorf("EndRun reason %q, want the refusal", end)
	}
	if begins, ends := auth.calls(); len(begins) != 1 || len(ends) != 1 {
		t.Errorf("begins %q, ends %q: want one of each", begins, ends)
	}
}
