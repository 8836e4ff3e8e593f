package executor

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// twoGPUs are two devices a job holds.
var twoGPUs = []Device{{Index: 3, UUID: "GPU-11111111-2222-3333-4444-555555555555"}, {Index: 6, UUID: "GPU-66666666-7777-8888-9999-000000000000"}}

// The device requests name exactly the devices a job holds: CDI names
// where the engine knows each device by one, else the NVIDIA runtime's
// request by UUID; none for a job without devices.
func TestDeviceRequests(t *testing.T) {
	u0, u1 := twoGPUs[0].UUID, twoGPUs[1].UUID
	for _, tc := range []struct {
		name   string
		access GPUAccess
		devs   []Device
		want   []container.DeviceRequest
	}{
		{"none held", GPUAccess{NvidiaRuntime: true}, nil, nil},
		{"nvidia runtime", GPUAccess{NvidiaRuntime: true}, twoGPUs,
			[]container.DeviceRequest{{Driver: "nvidia", DeviceIDs: []string{u0, u1}, Capabilities: [][]string{{"gpu"}}}}},
		{"cdi by uuid", GPUAccess{CDI: []string{"nvidia.com/gpu=" + u0, "nvidia.com/gpu=" + u1, "nvidia.com/gpu=all"}}, twoGPUs,
			[]container.DeviceRequest{{Driver: "cdi", DeviceIDs: []string{"nvidia.com/gpu=" + u0, "nvidia.com/gpu=" + u1}}}},
		{"cdi by index", GPUAccess{CDI: []string{"nvidia.com/gpu=3", "nvidia.com/gpu=6"}}, twoGPUs,
			[]container.DeviceRequest{{Driver: "cdi", DeviceIDs: []string{"nvidia.com/gpu=3", "nvidia.com/gpu=6"}}}},
		{"cdi lacks one: the runtime", GPUAccess{NvidiaRuntime: true, CDI: []string{"nvidia.com/gpu=3"}}, twoGPUs,
			[]container.DeviceRequest{{Driver: "nvidia", DeviceIDs: []string{u0, u1}, Capabilities: [][]string{{"gpu"}}}}},
		{"no uuid: by index", GPUAccess{NvidiaRuntime: true}, []Device{{Index: 2}},
			[]container.DeviceRequest{{Driver: "nvidia", DeviceIDs: []string{"2"}, Capabilities: [][]string{{"gpu"}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := deviceRequests(tc.access, tc.devs)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.Driver != w.Driver || g.Count != 0 || !slices.Equal(g.DeviceIDs, w.DeviceIDs) || len(g.Capabilities) != len(w.Capabilities) ||
					(len(w.Capabilities) > 0 && !slices.Equal(g.Capabilities[0], w.Capabilities[0])) {
					t.Errorf("got %+v, want %+v", g, w)
				}
			}
		})
	}
}

// A container job is refused when its spec asks for another number of
// GPUs than it holds, when it holds GPUs the engine cannot give, or when
// its devices are not a set of names.
func TestDockerDeviceCheck(t *testing.T) {
	rt := GPUAccess{NvidiaRuntime: true}
	for _, tc := range []struct {
		name   string
		access GPUAccess
		gpus   int
		devs   []Device
		is     error
		want   string
	}{
		{"fits", rt, 2, twoGPUs, nil, ""},
		{"takes what it holds", rt, 0, twoGPUs, nil, ""},
		{"no gpus, none held", GPUAccess{}, 0, nil, nil, ""},
		{"asks more", rt, 3, twoGPUs, ErrNotAllowed, "gpus: 3 asked, the job holds 2 here"},
		{"asks fewer", rt, 1, twoGPUs, ErrNotAllowed, "gpus: 1 asked, the job holds 2 here"},
		{"engine without gpus", GPUAccess{}, 2, twoGPUs, ErrNoGPUAccess, "NVIDIA Container Toolkit"},
		{"a device twice", rt, 0, []Device{twoGPUs[0], twoGPUs[0]}, ErrBadSpec, "named twice"},
		{"not a name", rt, 0, []Device{{Index: 1, UUID: "GPU-1,GPU-2"}}, ErrBadSpec, "not a name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := dockerDeviceCheck(tc.access, &DockerSpec{Image: "x", GPUs: tc.gpus}, tc.devs)
			if tc.is == nil {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %v saying %q", err, tc.is, tc.want)
			}
		})
	}
	if !errors.Is(ErrNoGPUAccess, ErrUnavailable) {
		t.Error("ErrNoGPUAccess does not wrap ErrUnavailable")
	}
}

// CDI spec files name their NVIDIA GPUs; other kinds and garbage none.
func TestParseCDISpec(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		want       []string
	}{
		{"yaml", "cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices:\n- name: \"0\"\n- name: GPU-abc\n- name: all\ncontainerEdits: {}\n",
			[]string{"nvidia.com/gpu=0", "nvidia.com/gpu=GPU-abc", "nvidia.com/gpu=all"}},
		{"json", `{"cdiVersion":"0.6.0","kind":"nvidia.com/gpu","devices":[{"name":"1"},{"name":"bad=name"}]}`, []string{"nvidia.com/gpu=1"}},
		{"another kind", "kind: vendor.com/fpga\ndevices:\n- name: \"0\"\n", nil},
		{"garbage", "\x00{{{", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseCDISpec([]byte(tc.spec)); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzParseCDISpec: no spec file makes the parser fail or name a device
// that is not nvidia.com/gpu=<one name>.
func FuzzParseCDISpec(f *testing.F) {
	f.Add([]byte("kind: nvidia.com/gpu\ndevices:\n- name: \"0\"\n"))
	f.Add([]byte(`{"kind":"nvidia.com/gpu","devices":[{"name":"GPU-1"}]}`))
	f.Add([]byte("kind: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, n := range ParseCDISpec(data) {
			name, ok := strings.CutPrefix(n, "nvidia.com/gpu=")
			if !ok || name == "" || strings.ContainsAny(name, "=, \t\r\n\x00") {
				t.Fatalf("bad CDI name %q", n)
			}
		}
	})
}

// A process job's environment names exactly its devices, none when it
// holds none, and a job cannot set them itself.
func TestProcessEnvNamesExactlyItsDevices(t *testing.T) {
	p, err := NewProcess(ProcessConfig{Allow: map[string][]string{"sh": {"/bin/sh", "-c"}}, Env: []string{"CUDA_*", "MY_*"}})
	if err != nil {
		t.Fatal(err)
	}
	script := `echo "cuda=[$CUDA_VISIBLE_DEVICES] nvidia=[$NVIDIA_VISIBLE_DEVICES] order=[$CUDA_DEVICE_ORDER]"`
	run := func(devs []Device, env map[string]string) (string, error) {
		t.Helper()
		job := Job{ID: "j", Dir: jobDir(t), Env: env, Devices: devs,
			Spec: Spec{Version: SpecVersion, Executor: "process", Process: &ProcessSpec{Command: "sh"}, Args: []string{script}}}
		h, err := p.Start(context.Background(), job)
		if err != nil {
			return "", err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if res, err := h.Wait(ctx); err != nil || res.Status != StatusSucceeded {
			t.Fatalf("got %+v, %v", res, err)
		}
		lines, _, _ := h.Logs().Lines(0)
		if len(lines) != 1 {
			t.Fatalf("got %d lines, want 1", len(lines))
		}
		return lines[0].Text, nil
	}
	got, err := run(twoGPUs, map[string]string{"MY_VAR": "1"})
	want := "cuda=[" + twoGPUs[0].UUID + "," + twoGPUs[1].UUID + "] nvidia=[" + twoGPUs[0].UUID + "," + twoGPUs[1].UUID + "] order=[PCI_BUS_ID]"
	if err != nil || got != want {
		t.Errorf("two GPUs: got %q, %v; want %q", got, err, want)
	}
	if got, err := run(nil, nil); err != nil || got != "cuda=[] nvidia=[void] order=[PCI_BUS_ID]" {
		t.Errorf("no GPUs: got %q, %v; want none visible", got, err)
	}
	// Allowed by the provider's CUDA_* pattern or not, the job may not set them.
	for _, name := range []string{"CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "NVIDIA_VISIBLE_DEVICES"} {
		if _, err := run(twoGPUs[:1], map[string]string{name: "all"}); !errors.Is(err, ErrEnvRefused) || !strings.Contains(err.Error(), name) {
			t.Errorf("job setting %s: got %v, want ErrEnvRefused naming it", name, err)
		}
	}
	if why := EnvNeverAllowed("CUDA_VISIBLE_DEVICES"); why != deviceEnvReason {
		t.Errorf("EnvNeverAllowed(CUDA_VISIBLE_DEVICES) = %q", why)
	}
	if _, err := run([]Device{twoGPUs[0], twoGPUs[0]}, nil); !errors.Is(err, ErrBadSpec) {
		t.Errorf("a device twice: got %v, want ErrBadSpec", err)
	}
}

// memhog builds testdata/memhog for this machine, or skips saying why.
func memhog(t *testing.T) string {
	t.Helper()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		if gobin, err = exec.LookPath("go"); err != nil {
			t.Skip("cannot build testdata/memhog: no go command in GOROOT or PATH")
		}
	}
	bin := filepath.Join(t.TempDir(), "memhog")
	cmd := exec.Command(gobin, "build", "-o", bin, "./testdata/memhog")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build memhog: %v\n%s", err, out)
	}
	return bin
}

// The memory limit of a process job holding GPUs lets a program reserve
// 64 GiB of address space PROT_NONE, as the CUDA driver does at start-up,
// which the limit of a job without GPUs (RLIMIT_AS) refuses; both stop a
// program that writes past the limit.
func TestGPUProcessMemoryLimit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("RLIMIT_DATA counts mappings on Linux only")
	}
	bin := memhog(t)
	const limit = 512 << 20
	p, err := NewProcess(ProcessConfig{Allow: map[string][]string{"memhog": {bin}}, Limits: Limits{MemoryBytes: limit}})
	if err != nil {
		t.Fatal(err)
	}
	run := func(devs []Device, args ...string) (Result, string) {
		t.Helper()
		h, err := p.Start(context.Background(), Job{ID: "j", Dir: jobDir(t), Devices: devs, Limits: Limits{MemoryBytes: limit},
			Spec: Spec{Version: SpecVersion, Executor: "process", Process: &ProcessSpec{Command: "memhog"}, Args: args}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := h.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		lines, _, _ := h.Logs().Lines(0)
		var out []string
		for _, l := range lines {
			out = append(out, l.Text)
		}
		return res, strings.Join(out, "\n")
	}
	for _, tc := range []struct {
		name string
		devs []Device
		args []string
		ok   bool
		want string // the end of its output
	}{
		{"gpu job reserves 64 GiB", twoGPUs, []string{"reserve", "64"}, true, "reserve 64 ok"},
		{"gpu job writes 128 MiB", twoGPUs, []string{"write", "128"}, true, "write 128 ok"},
		{"gpu job writes 1 GiB", twoGPUs, []string{"write", "1024"}, false, "write 1024 failed: cannot allocate memory"},
		// Under RLIMIT_AS at 512 MiB, even the Go runtime's own start-up
		// reservations fail, as CUDA's would.
		{"cpu job reserves 64 GiB", nil, []string{"reserve", "64"}, false, ""},
		{"cpu job writes 1 GiB", nil, []string{"write", "1024"}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, out := run(tc.devs, tc.args...)
			if ok := res.Status == StatusSucceeded; ok != tc.ok || !strings.HasSuffix(out, tc.want) {
				t.Errorf("got %s (exit %d) %q, want it to succeed: %t, ending %q", res.Status, res.ExitCode, out, tc.ok, tc.want)
			}
		})
	}
}

// On the real engine: DetectGPUs reads the engine's runtimes and CDI
// devices; the container of a job holding two GPUs is created with a
// device request naming exactly them (read back from the engine), and,
// where the engine has no NVIDIA runtime, Start fails at the start and
// leaves no container.
func TestDockerDeviceRequestsOnTheEngine(t *testing.T) {
	d := dockerEngine(t, DockerConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := d.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	access, err := d.DetectGPUs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, hasRuntime := info.Info.Runtimes["nvidia"]
	if access.NvidiaRuntime != hasRuntime || !slices.Equal(d.cfg.GPUs.CDI, access.CDI) {
		t.Errorf("detected %+v, engine runtimes %v", access, info.Info.Runtimes)
	}
	t.Logf("engine %s: GPU access %+v", info.Info.ServerVersion, access)

	// The create, read back.
	job := dockerJob(t)
	job.Devices = twoGPUs
	job.Spec.Docker.GPUs = 2
	cfg := d.cfg
	cfg.GPUs = GPUAccess{NvidiaRuntime: true}
	if err := dockerCheck(cfg, job); err != nil {
		t.Fatal(err)
	}
	in, out, err := dockerFolders(job.Dir)
	if err != nil {
		t.Fatal(err)
	}
	cc, hc := dockerContainer(cfg, job, job.Limits.Cap(cfg.Limits), "65534:65534", in, out)
	name := dockerName(job.ID)
	created, err := d.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cc, HostConfig: hc})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := d.cli.ContainerRemove(context.Background(), created.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
			t.Errorf("remove %s: %v", name, err)
		}
	}()
	got, err := d.cli.ContainerInspect(ctx, created.ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reqs := got.Container.HostConfig.DeviceRequests
	if len(reqs) != 1 || reqs[0].Driver != "nvidia" || !slices.Equal(reqs[0].DeviceIDs, []string{twoGPUs[0].UUID, twoGPUs[1].UUID}) ||
		reqs[0].Count != 0 || len(reqs[0].Capabilities) != 1 || !slices.Equal(reqs[0].Capabilities[0], []string{"gpu"}) {
		t.Errorf("engine holds device requests %+v, want exactly the job's two GPUs by UUID", reqs)
	}
	if !slices.Contains(got.Container.Config.Env, "NVIDIA_VISIBLE_DEVICES="+twoGPUs[0].UUID+","+twoGPUs[1].UUID) {
		t.Errorf("env %v does not name the job's devices", got.Container.Config.Env)
	}

	// The whole Start: without the NVIDIA runtime the engine cannot start
	// it, and nothing is left behind (dockerEngine's cleanup checks).
	if hasRuntime {
		return
	}
	d.cfg.GPUs = GPUAccess{NvidiaRuntime: true} // as if detected, to reach the engine
	job = dockerJob(t)
	job.Devices = twoGPUs[:1]
	if h, err := d.Start(ctx, job); err == nil {
		res, logs := dockerWait(t, h)
		t.Fatalf("a GPU container started on an engine without the NVIDIA runtime: %+v\n%s", res, logs)
	} else {
		t.Logf("start without the NVIDIA runtime: %v", err)
	}
	// And as detected: refused before the engine is asked.
	d.cfg.GPUs = access
	if _, err := d.Start(ctx, job); !errors.Is(err, ErrNoGPUAccess) {
		t.Errorf("got %v, want ErrNoGPUAccess", err)
	}
}
