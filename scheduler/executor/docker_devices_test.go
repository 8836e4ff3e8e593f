package executor

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// dockerPerDeviceJob is a per-device container job of rank 2 of 3 holding
// twoGPUs, running the test image with args.
func dockerPerDeviceJob(tb testing.TB, args ...string) Job {
	job := dockerJob(tb, args...)
	job.Devices = twoGPUs
	job.Spec.Docker.GPUs = 2
	job.Spec.Docker.PerDevice = true
	return job
}

// Container i of a per-device worker holds exactly device i, as a
// one-device job's container would (NVIDIA runtime by UUID, or CDI), and
// has process i's environment: its device, LOCAL_RANK i of 2, NODE_RANK
// the worker's rank (2), RANK 2*2+i of 3*2; the limits are the worker's.
func TestPerDeviceContainer(t *testing.T) {
	job := dockerPerDeviceJob(t)
	lim := Limits{MemoryBytes: 1 << 30, PIDs: 64, OutputBytes: 1 << 20}
	for _, access := range []GPUAccess{{NvidiaRuntime: true}, {CDI: []string{"nvidia.com/gpu=" + twoGPUs[0].UUID, "nvidia.com/gpu=" + twoGPUs[1].UUID}}} {
		cfg := DockerConfig{GPUs: access}
		for i, dev := range twoGPUs {
			cc, hc := perDeviceContainer(cfg, job, i, dev, lim, "65534:65534", "/in", "/out")
			if want := deviceRequests(access, []Device{dev}); !slices.EqualFunc(hc.DeviceRequests, want, sameRequest) ||
				len(hc.DeviceRequests) != 1 || len(hc.DeviceRequests[0].DeviceIDs) != 1 || !strings.HasSuffix(hc.DeviceRequests[0].DeviceIDs[0], dev.UUID) {
				t.Errorf("%+v: local rank %d: device requests %+v, want only %s", access, i, hc.DeviceRequests, dev.UUID)
			}
			for _, kv := range []string{"CUDA_VISIBLE_DEVICES=" + dev.UUID, "NVIDIA_VISIBLE_DEVICES=" + dev.UUID,
				"LOCAL_RANK=" + strconv.Itoa(i), "LOCAL_WORLD_SIZE=2", "NODE_RANK=2", "GROUP_RANK=2",
				"RANK=" + strconv.Itoa(4+i), "WORLD_SIZE=6", "GPUMESH_RANK=2"} {
				if !slices.Contains(cc.Env, kv) {
					t.Errorf("local rank %d: env %v lacks %s", i, cc.Env, kv)
				}
			}
			if hc.Memory != lim.MemoryBytes || hc.PidsLimit == nil || *hc.PidsLimit != lim.PIDs || cc.Labels["gpumesh.local_rank"] != strconv.Itoa(i) {
				t.Errorf("local rank %d: memory %d, pids %v, labels %v", i, hc.Memory, hc.PidsLimit, cc.Labels)
			}
		}
	}
	// A device known by index only is number 0 in its container.
	cc, _ := perDeviceContainer(DockerConfig{GPUs: GPUAccess{NvidiaRuntime: true}}, job, 1, Device{Index: 6}, lim, "1:1", "/in", "/out")
	if !slices.Contains(cc.Env, "CUDA_VISIBLE_DEVICES=0") || !slices.Contains(cc.Env, "NVIDIA_VISIBLE_DEVICES=6") {
		t.Errorf("by index: env %v", cc.Env)
	}
}

func sameRequest(a, b container.DeviceRequest) bool {
	return a.Driver == b.Driver && slices.Equal(a.DeviceIDs, b.DeviceIDs) && a.Count == b.Count && len(a.Capabilities) == len(b.Capabilities)
}

// recordDeviceRequests makes the containers created until the test ends
// get no device requests (the engine here has no GPUs) and returns what
// each would have been given, in the order they were created.
func recordDeviceRequests(t *testing.T) func() [][]container.DeviceRequest {
	var mu sync.Mutex
	var got [][]container.DeviceRequest
	dockerDeviceRequests = func(a GPUAccess, devs []Device) []container.DeviceRequest {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, deviceRequests(a, devs))
		return nil
	}
	t.Cleanup(func() { dockerDeviceRequests = deviceRequests })
	return func() [][]container.DeviceRequest {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// TestDockerPerDevice runs a per-device worker of two GPUs on the real
// engine: two containers, each asking for its own GPU alone, told its
// place (LOCAL_RANK, RANK over the job), sharing one loopback (local rank
// 1 reaches local rank 0 at 127.0.0.1:MASTER_PORT), logging with their
// local rank's prefix and writing to the worker's one outputs folder.
// Nothing is left behind.
func TestDockerPerDevice(t *testing.T) {
	d := dockerEngine(t, DockerConfig{Owner: "test", GPUs: GPUAccess{NvidiaRuntime: true}})
	requests := recordDeviceRequests(t)
	job := dockerPerDeviceJob(t, "local")
	job.Env = map[string]string{"GPUMESH_RANK": "0", "GPUMESH_WORLD_SIZE": "1"} // one worker: MASTER_ADDR is loopback
	res, logs := dockerRun(t, d, job)
	if res.Status != StatusSucceeded {
		t.Fatalf("got %+v\n%s", res, logs)
	}
	for i, dev := range twoGPUs {
		n := strconv.Itoa(i)
		want := "[local_rank " + n + "] env rank=" + n + "/2 local=" + n + "/2 node=0 cuda=" + dev.UUID + " nvidia=" + dev.UUID + " master=127.0.0.1:29500"
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
		if b, err := os.ReadFile(filepath.Join(job.Dir, "outputs", "local-"+n+".txt")); err != nil || string(b) != "local rank "+n+"\n" {
			t.Errorf("outputs of local rank %d: %q, %v", i, b, err)
		}
	}
	if !strings.Contains(logs, "[local_rank 0] heard hello from local rank 1") {
		t.Errorf("local rank 1 did not reach local rank 0 on loopback:\n%s", logs)
	}
	got := requests()
	if len(got) != 2 {
		t.Fatalf("%d containers asked for devices, want 2: %+v", len(got), got)
	}
	for i, dev := range twoGPUs {
		if len(got[i]) != 1 || got[i][0].Driver != "nvidia" || !slices.Equal(got[i][0].DeviceIDs, []string{dev.UUID}) {
			t.Errorf("local rank %d asked for %+v, want %s alone", i, got[i], dev.UUID)
		}
	}
}

// The holder of a per-device worker without a job network has the
// network a one-container job would: none by default, the engine's
// bridge when the provider allows it and the job asks.
func TestDockerPerDeviceNetworkMode(t *testing.T) {
	for _, allow := range []bool{false, true} {
		d := dockerEngine(t, DockerConfig{Owner: "test", AllowNetwork: allow, GPUs: GPUAccess{NvidiaRuntime: true}})
		recordDeviceRequests(t)
		job := dockerPerDeviceJob(t, "net")
		job.Spec.Docker.Network = allow
		res, logs := dockerRun(t, d, job)
		want := "route: none"
		if allow {
			want = "route: ok"
		}
		if ok := res.Status == StatusSucceeded; ok != allow || strings.Count(logs, want) != 2 ||
			!strings.Contains(logs, "[local_rank 0] "+want) || !strings.Contains(logs, "[local_rank 1] "+want) {
			t.Errorf("network allowed %t: got %+v, want %q from both containers\n%s", allow, res, want, logs)
		}
	}
}

// One failing container fails the worker, naming it, and stops the
// other; a cancelled worker stops both; neither leaves a container.
func TestDockerPerDeviceFailsAndCancels(t *testing.T) {
	d := dockerEngine(t, DockerConfig{Owner: "test", GPUs: GPUAccess{NvidiaRuntime: true}})
	recordDeviceRequests(t)
	job := dockerPerDeviceJob(t, "local", "fail=1")
	res, logs := dockerRun(t, d, job)
	if res.Status != StatusFailed || res.ExitCode != 3 || !strings.Contains(res.Reason, "local rank 1 of 2") {
		t.Errorf("got %+v, want failed with exit 3 naming local rank 1\n%s", res, logs)
	}
	dockerNoContainers(t, d, job.ID)

	job = dockerPerDeviceJob(t, "sleep")
	h, err := d.Start(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	dockerWaitLine(t, h.Logs(), "[local_rank 0] sleeping")
	dockerWaitLine(t, h.Logs(), "[local_rank 1] sleeping")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if res, _ := dockerWait(t, h); res.Status != StatusCancelled {
		t.Errorf("cancelled: got %+v", res)
	}
	dockerNoContainers(t, d, job.ID)
}

// dockerNoContainers fails the test if any container of job id is left.
func dockerNoContainers(t *testing.T, d *Docker, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", "gpumesh.job="+id)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) > 0 {
		t.Errorf("job %s left %d containers", id, len(list.Items))
	}
}

// On the real engine, read back: each per-device container is created
// with a device request naming its one GPU.
func TestDockerPerDeviceRequestsOnTheEngine(t *testing.T) {
	d := dockerEngine(t, DockerConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	job := dockerPerDeviceJob(t)
	cfg := d.cfg
	cfg.GPUs = GPUAccess{NvidiaRuntime: true}
	if err := dockerCheck(cfg, job); err != nil {
		t.Fatal(err)
	}
	in, out, err := dockerFolders(job.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, dev := range job.Devices {
		cc, hc := perDeviceContainer(cfg, job, i, dev, job.Limits.Cap(cfg.Limits), "65534:65534", in, out)
		created, err := d.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: dockerName(job.ID), Config: cc, HostConfig: hc})
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.cli.ContainerInspect(ctx, created.ID, client.ContainerInspectOptions{})
		if _, rerr := d.cli.ContainerRemove(context.Background(), created.ID, client.ContainerRemoveOptions{Force: true}); rerr != nil {
			t.Errorf("remove: %v", rerr)
		}
		if err != nil {
			t.Fatal(err)
		}
		reqs := got.Container.HostConfig.DeviceRequests
		if len(reqs) != 1 || reqs[0].Driver != "nvidia" || !slices.Equal(reqs[0].DeviceIDs, []string{dev.UUID}) {
			t.Errorf("local rank %d: engine holds device requests %+v, want %s alone", i, reqs, dev.UUID)
		}
		if !slices.Contains(got.Container.Config.Env, "NVIDIA_VISIBLE_DEVICES="+dev.UUID) || !slices.Contains(got.Container.Config.Env, "LOCAL_RANK="+strconv.Itoa(i)) {
			t.Errorf("local rank %d: env %v", i, got.Container.Config.Env)
		}
	}
}
