package executor

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// dockerTestImage is the image the tests build from testdata/docker/hello.
const dockerTestImage = "gpumesh-test:latest"

// dockerEngine returns a docker executor for cfg on the local engine, or
// skips the test saying what is missing. scripts/test.sh sets
// GPUMESH_REQUIRE_DOCKER=1 once it has an engine: then a missing engine
// fails the test instead. After the test, no container of its jobs may be
// left.
func dockerEngine(tb testing.TB, cfg DockerConfig) *Docker {
	tb.Helper()
	d, err := NewDocker(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := d.cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		msg := fmt.Sprintf("docker: no engine answers at %s (%v): install docker.io and run dockerd --storage-driver=vfs, as scripts/test.sh does when it runs as root", d.cli.DaemonHost(), err)
		if os.Getenv("GPUMESH_REQUIRE_DOCKER") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	dockerBuildTestImage(tb, d)
	prefix := "gpumesh-" + dockerSafe(tb.Name()) + "-"
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		list, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("name", prefix)})
		if err != nil {
			tb.Errorf("list containers: %v", err)
			return
		}
		for _, c := range list.Items {
			tb.Errorf("container %v (%s) left behind", c.Names, c.State)
			_, _ = d.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
		}
	})
	return d
}

// dockerImageBuilt is set once the test image is known to be current.
var dockerImageBuilt struct {
	sync.Mutex
	done bool
}

// dockerBuildTestImage builds testdata/docker/hello static and, unless the
// engine already has an image of that very binary, builds it FROM scratch
// as dockerTestImage through the engine's API.
func dockerBuildTestImage(tb testing.TB, d *Docker) {
	tb.Helper()
	dockerImageBuilt.Lock()
	defer dockerImageBuilt.Unlock()
	if dockerImageBuilt.done {
		return
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		tb.Skipf("docker: no go command to build the test image's program: %v", err)
	}
	bin := filepath.Join(tb.TempDir(), "hello")
	cmd := exec.Command(goCmd, "build", "-trimpath", "-o", bin, "./testdata/docker/hello")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build the test program: %v\n%s", err, out)
	}
	prog, err := os.ReadFile(bin)
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(prog)
	hash := hex.EncodeToString(sum[:])
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if img, err := d.cli.ImageInspect(ctx, dockerTestImage); err == nil && img.Config != nil && img.Config.Labels["gpumesh.test.hash"] == hash {
		dockerImageBuilt.done = true
		return
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, []byte("FROM scratch\nCOPY hello /hello\nENTRYPOINT [\"/hello\"]\n")},
		{"hello", 0o755, prog},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	resp, err := d.cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{dockerTestImage}, Remove: true, ForceRemove: true,
		Labels: map[string]string{"gpumesh.test.hash": hash}})
	if err != nil {
		tb.Fatalf("build %s: %v", dockerTestImage, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			tb.Fatalf("build %s: %v", dockerTestImage, err)
		}
		if m.Error != nil {
			tb.Fatalf("build %s: %s", dockerTestImage, m.Error.Message)
		}
	}
	dockerImageBuilt.done = true
}

// dockerSafe is s as dockerName writes a job ID into a container name.
func dockerSafe(s string) string {
	name := dockerName(s)
	return name[len("gpumesh-") : len(name)-len("-01234567")]
}

var dockerJobs struct {
	sync.Mutex
	n int
}

// dockerJob is a job of the test's running the test image with args, in a
// fresh folder with inputs/in.txt.
func dockerJob(tb testing.TB, args ...string) Job {
	tb.Helper()
	dir := tb.TempDir()
	for _, d := range []string{"inputs", "outputs"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "inputs", "in.txt"), []byte("hello docker\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	dockerJobs.Lock()
	dockerJobs.n++
	id := fmt.Sprintf("%s-%d", tb.Name(), dockerJobs.n)
	dockerJobs.Unlock()
	return Job{ID: id, Dir: dir, Env: map[string]string{"GPUMESH_RANK": "2", "GPUMESH_WORLD_SIZE": "3"},
		Spec: Spec{Version: SpecVersion, Executor: "docker", Docker: &DockerSpec{Image: dockerTestImage}, Args: args}}
}

// dockerRun starts job and waits for its result and all its logs.
func dockerRun(tb testing.TB, d *Docker, job Job) (Result, string) {
	tb.Helper()
	h, err := d.Start(context.Background(), job)
	if err != nil {
		tb.Fatalf("start: %v", err)
	}
	return dockerWait(tb, h)
}

func dockerWait(tb testing.TB, h Handle) (Result, string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := h.Wait(ctx)
	if err != nil {
		tb.Fatalf("wait: %v", err)
	}
	lines, _, closed := h.Logs().Lines(0)
	if !closed {
		tb.Error("logs still open after the work ended")
	}
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%s: %s\n", l.Stream, l.Text)
	}
	return res, b.String()
}

// dockerWaitLine waits until a line containing s has come, and returns it.
func dockerWaitLine(tb testing.TB, logs *Logs, s string) Line {
	tb.Helper()
	deadline := time.After(60 * time.Second)
	for from := 0; ; {
		lines, changed, closed := logs.Lines(from)
		for _, l := range lines {
			if strings.Contains(l.Text, s) {
				return l
			}
		}
		from += len(lines)
		if closed {
			tb.Fatalf("logs ended without a line containing %q", s)
		}
		select {
		case <-changed:
		case <-deadline:
			tb.Fatalf("no line containing %q within 60 s", s)
		}
	}
}

func TestDockerRunsHello(t *testing.T) {
	d := dockerEngine(t, DockerConfig{})
	job := dockerJob(t, "a", "b c")
	res, logs := dockerRun(t, d, job)
	if res.Status != StatusSucceeded || res.ExitCode != 0 {
		t.Fatalf("got %s (exit %d, %s), want succeeded\n%s", res.Status, res.ExitCode, res.Reason, logs)
	}
	// As root the work runs as nobody; otherwise as the owner of outputs/.
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		uid, gid = 65534, 65534
	}
	for _, want := range []string{
		`stdout: rank=2 args=["a" "b c"]`,
		fmt.Sprintf("stdout: uid=%d gid=%d", uid, gid),
		"stdout: rootfs: not writable",
		"stdout: tmp: writable",
		"stdout: inputs: not writable",
		"stdout: wrote /outputs/out.txt",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	out, err := os.ReadFile(filepath.Join(job.Dir, "outputs", "out.txt"))
	if err != nil || string(out) != "HELLO DOCKER\n" {
		t.Errorf("got outputs/out.txt %q (%v), want %q", out, err, "HELLO DOCKER\n")
	}
	if res.Started.IsZero() || res.Ended.Before(res.Started) {
		t.Errorf("got started %v, ended %v", res.Started, res.Ended)
	}
}

func TestDockerWorkOutlivesStartContext(t *testing.T) {
	d := dockerEngine(t, DockerConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	h, err := d.Start(ctx, dockerJob(t, "exit", "0"))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	res, logs := dockerWait(t, h)
	if res.Status != StatusSucceeded || !strings.Contains(logs, "exiting 0") {
		t.Fatalf("got %s (%s), want succeeded with its logs\n%s", res.Status, res.Reason, logs)
	}
}

func TestDockerExitStatus(t *testing.T) {
	d := dockerEngine(t, DockerConfig{})
	res, logs := dockerRun(t, d, dockerJob(t, "exit", "3"))
	if res.Status != StatusFailed || res.ExitCode != 3 {
		t.Fatalf("got %s (exit %d, %s), want failed with exit 3\n%s", res.Status, res.ExitCode, res.Reason, logs)
	}
}

func TestDockerRefusesWhatIsNotAllowed(t *testing.T) {
	// The checks come before the engine is asked: no engine needed.
	d, err := NewDocker(DockerConfig{Host: "unix:///nonexistent/docker.sock", GPUs: GPUAccess{NvidiaRuntime: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tests := []struct {
		name string
		spec DockerSpec
		want []string
		is   error
	}{
		{"host network", DockerSpec{Image: "x", HostNetwork: true}, []string{"host_network"}, ErrNotAllowed},
		{"privileged", DockerSpec{Image: "x", Privileged: true}, []string{"privileged"}, ErrNotAllowed},
		{"network", DockerSpec{Image: "x", Network: true}, []string{"network"}, ErrNotAllowed},
		{"gpus", DockerSpec{Image: "x", GPUs: 2}, []string{"gpus: 2 asked, the job holds 0 here"}, ErrNotAllowed},
		{"all at once", DockerSpec{Image: "x", HostNetwork: true, Privileged: true, GPUs: 4}, []string{"host_network", "privileged", "gpus"}, ErrNotAllowed},
		{"no image", DockerSpec{}, []string{"image"}, ErrBadSpec},
		{"negative gpus", DockerSpec{Image: "x", GPUs: -1}, []string{"negative"}, ErrBadSpec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := dockerJob(t)
			job.Spec.Docker = &tt.spec
			_, err := d.Start(context.Background(), job)
			if !errors.Is(err, tt.is) {
				t.Fatalf("got %v, want %v", err, tt.is)
			}
			t.Log(err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	// Issue 16 item 1: the loader and GPU runtime variables are refused in
	// a container's environment too, by name.
	job := dockerJob(t)
	job.Spec.Docker = &DockerSpec{Image: "x"}
	job.Env["LD_PRELOAD"], job.Env["NVIDIA_VISIBLE_DEVICES"] = "/inputs/evil.so", "all"
	if _, err := d.Start(context.Background(), job); !errors.Is(err, ErrEnvRefused) || !strings.Contains(err.Error(), "LD_PRELOAD, NVIDIA_VISIBLE_DEVICES") {
		t.Errorf("loader and GPU variables: got %v, want ErrEnvRefused naming them", err)
	}
	job = dockerJob(t)
	job.Spec.Docker = nil
	if _, err := d.Start(context.Background(), job); !errors.Is(err, ErrBadSpec) {
		t.Errorf("no docker section: got %v, want ErrBadSpec", err)
	}
	job = dockerJob(t)
	if err := os.Remove(filepath.Join(job.Dir, "outputs")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/", filepath.Join(job.Dir, "outputs")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Start(context.Background(), job); !errors.Is(err, ErrBadSpec) {
		t.Errorf("outputs/ a link to /: got %v, want ErrBadSpec", err)
	}
}

func TestDockerUnavailableWithoutEngine(t *testing.T) {
	d, err := NewDocker(DockerConfig{Host: "unix:///nonexistent/docker.sock"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = d.Start(context.Background(), dockerJob(t))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	t.Log(err)
}

func TestDockerContainerIsHardened(t *testing.T) {
	cfg := DockerConfig{TmpBytes: 1 << 20, StopGrace: time.Second}
	lim := Limits{MemoryBytes: 1 << 30, PIDs: 64}
	job := dockerJob(t, "x")
	cc, hc := dockerContainer(cfg, job, lim, "65534:65534", "/j/inputs", "/j/outputs")
	if hc.NetworkMode != "none" || !slices.Equal(hc.CapDrop, []string{"ALL"}) || !hc.ReadonlyRootfs || hc.Privileged ||
		!slices.Contains(hc.SecurityOpt, "no-new-privileges") || hc.LogConfig.Type != "none" {
		t.Errorf("got network %q, cap drop %v, read-only %v, privileged %v, security %v, log %q; want none, [ALL], true, false, no-new-privileges, none",
			hc.NetworkMode, hc.CapDrop, hc.ReadonlyRootfs, hc.Privileged, hc.SecurityOpt, hc.LogConfig.Type)
	}
	if hc.Memory != 1<<30 || hc.MemorySwap != 1<<30 || hc.PidsLimit == nil || *hc.PidsLimit != 64 || hc.NanoCPUs != 0 || hc.DeviceRequests != nil {
		t.Errorf("got memory %d, swap %d, pids %v, nano CPUs %d, devices %v", hc.Memory, hc.MemorySwap, hc.PidsLimit, hc.NanoCPUs, hc.DeviceRequests)
	}
	if got := hc.Tmpfs["/tmp"]; !strings.Contains(got, "size=1048576") {
		t.Errorf("got /tmp %q, want size=1048576", got)
	}
	if len(hc.Mounts) != 2 || hc.Mounts[0].Target != "/inputs" || !hc.Mounts[0].ReadOnly || hc.Mounts[1].Target != "/outputs" || hc.Mounts[1].ReadOnly {
		t.Errorf("got mounts %+v, want /inputs read-only and /outputs writable", hc.Mounts)
	}
	if cc.User != "65534:65534" || !slices.Equal(cc.Cmd, []string{"x"}) || cc.Entrypoint != nil ||
		!slices.Equal(cc.Env, []string{"GPUMESH_RANK=2", "GPUMESH_WORLD_SIZE=3", "NVIDIA_VISIBLE_DEVICES=void"}) {
		t.Errorf("got user %q, cmd %v, entrypoint %v, env %v", cc.User, cc.Cmd, cc.Entrypoint, cc.Env)
	}

	// What the provider allows, asked for.
	cfg = DockerConfig{AllowNetwork: true, AllowHostNetwork: true, AllowPrivileged: true, GPUs: GPUAccess{NvidiaRuntime: true}, CPUs: 1.5}
	job.Spec.Docker = &DockerSpec{Image: "x", GPUs: 2, Network: true, Entrypoint: []string{"/bin/run"}}
	job.Devices = []Device{{Index: 3, UUID: "GPU-3"}, {Index: 5, UUID: "GPU-5"}}
	cc, hc = dockerContainer(cfg, job, lim, "1000:1000", "/j/inputs", "/j/outputs")
	if hc.NetworkMode != "bridge" || hc.NanoCPUs != 1.5e9 || len(hc.DeviceRequests) != 1 || hc.DeviceRequests[0].Driver != "nvidia" ||
		!slices.Equal(hc.DeviceRequests[0].DeviceIDs, []string{"GPU-3", "GPU-5"}) || hc.DeviceRequests[0].Count != 0 ||
		!slices.Equal(cc.Entrypoint, []string{"/bin/run"}) || !slices.Contains(cc.Env, "NVIDIA_VISIBLE_DEVICES=GPU-3,GPU-5") {
		t.Errorf("got network %q, nano CPUs %d, devices %+v, entrypoint %v", hc.NetworkMode, hc.NanoCPUs, hc.DeviceRequests, cc.Entrypoint)
	}
	job.Spec.Docker = &DockerSpec{Image: "x", HostNetwork: true, Privileged: true}
	_, hc = dockerContainer(cfg, job, lim, "1000:1000", "/j/inputs", "/j/outputs")
	if hc.NetworkMode != "host" || !hc.Privileged {
		t.Errorf("got network %q, privileged %v, want host, true", hc.NetworkMode, hc.Privileged)
	}
}

func TestDockerEngineGetsTheSandbox(t *testing.T) {
	d := dockerEngine(t, DockerConfig{})
	job := dockerJob(t, "sleep")
	job.Limits = Limits{MemoryBytes: 256 << 20, PIDs: 32}
	h, err := d.Start(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	dockerWaitLine(t, h.Logs(), "sleeping")
	id := h.(*dockerHandle).id
	info, err := d.cli.ContainerInspect(context.Background(), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hc, cc := info.Container.HostConfig, info.Container.Config
	if hc.NetworkMode != "none" || !hc.ReadonlyRootfs || hc.Memory != 256<<20 || hc.MemorySwap != 256<<20 || hc.PidsLimit == nil ||
		*hc.PidsLimit != 32 || !slices.Contains(hc.CapDrop, "ALL") || !slices.Contains(hc.SecurityOpt, "no-new-privileges") || cc.User == "" || strings.HasPrefix(cc.User, "0") {
		t.Errorf("engine has network %q, read-only %v, memory %d/%d, pids %v, cap drop %v, security %v, user %q",
			hc.NetworkMode, hc.ReadonlyRootfs, hc.Memory, hc.MemorySwap, hc.PidsLimit, hc.CapDrop, hc.SecurityOpt, cc.User)
	}
	if err := h.Cancel(context.Background()); err != nil {
		t.Fatal(err)
	}
	if res, logs := dockerWait(t, h); res.Status != StatusCancelled {
		t.Errorf("got %s (%s), want cancelled\n%s", res.Status, res.Reason, logs)
	}
}

func TestDockerNetwork(t *testing.T) {
	t.Run("none by default", func(t *testing.T) {
		d := dockerEngine(t, DockerConfig{})
		res, logs := dockerRun(t, d, dockerJob(t, "net"))
		if res.Status != StatusFailed || !strings.Contains(logs, "route: none") {
			t.Errorf("got %s (%s), want failed with no route\n%s", res.Status, res.Reason, logs)
		}
	})
	t.Run("bridge when allowed and asked", func(t *testing.T) {
		d := dockerEngine(t, DockerConfig{AllowNetwork: true})
		job := dockerJob(t, "net")
		job.Spec.Docker.Network = true
		res, logs := dockerRun(t, d, job)
		if res.Status != StatusSucceeded || !strings.Contains(logs, "route: ok") {
			t.Errorf("got %s (%s), want succeeded with a route\n%s", res.Status, res.Reason, logs)
		}
	})
}

func TestDockerWallLimit(t *testing.T) {
	d := dockerEngine(t, DockerConfig{StopGrace: time.Second})
	job := dockerJob(t, "sleep")
	job.Limits.Wall = time.Second
	res, logs := dockerRun(t, d, job)
	if res.Status != StatusLimit || !strings.Contains(res.Reason, "wall time") {
		t.Fatalf("got %s (%s), want limit on wall time\n%s", res.Status, res.Reason, logs)
	}
	if took := res.Ended.Sub(res.Started); took > 10*time.Second {
		t.Errorf("a 1 s wall limit took %s to stop the work", took)
	}
}

func TestDockerCancel(t *testing.T) {
	d := dockerEngine(t, DockerConfig{StopGrace: time.Second})
	h, err := d.Start(context.Background(), dockerJob(t, "sleep"))
	if err != nil {
		t.Fatal(err)
	}
	dockerWaitLine(t, h.Logs(), "sleeping")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	res, logs := dockerWait(t, h)
	if res.Status != StatusCancelled {
		t.Fatalf("got %s (%s), want cancelled\n%s", res.Status, res.Reason, logs)
	}
}

func TestDockerOutputLimit(t *testing.T) {
	d := dockerEngine(t, DockerConfig{StopGrace: time.Second})
	job := dockerJob(t, "spam")
	job.Limits.OutputBytes = 64 << 10
	h, err := d.Start(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := dockerWait(t, h)
	if res.Status != StatusLimit || !strings.Contains(res.Reason, "output") || !h.Logs().Over() {
		t.Fatalf("got %s (%s), over %v; want limit on output", res.Status, res.Reason, h.Logs().Over())
	}
}

func TestDockerOutputsFolderLimit(t *testing.T) {
	d := dockerEngine(t, DockerConfig{StopGrace: time.Second})
	job := dockerJob(t, "fill")
	job.Limits.OutputBytes = 1 << 20
	res, logs := dockerRun(t, d, job)
	if res.Status != StatusLimit || !strings.Contains(res.Reason, "outputs of") {
		t.Fatalf("got %s (%s), want limit on the outputs folder\n%s", res.Status, res.Reason, logs)
	}
}

func TestDockerMemoryLimit(t *testing.T) {
	d := dockerEngine(t, DockerConfig{})
	job := dockerJob(t, "alloc")
	job.Limits.MemoryBytes = 32 << 20
	res, logs := dockerRun(t, d, job)
	if res.Status != StatusLimit || !strings.Contains(res.Reason, "memory") {
		t.Fatalf("got %s (exit %d, %s), want limit on memory\n%s", res.Status, res.ExitCode, res.Reason, logs)
	}
}

func TestDockerCPULimit(t *testing.T) {
	d := dockerEngine(t, DockerConfig{StopGrace: time.Second})
	job := dockerJob(t, "spin")
	job.Limits.CPU = 500 * time.Millisecond
	res, logs := dockerRun(t, d, job)
	if res.Status != StatusLimit || !strings.Contains(res.Reason, "CPU time") {
		t.Fatalf("got %s (%s), want limit on CPU time\n%s", res.Status, res.Reason, logs)
	}
}

func TestDockerImages(t *testing.T) {
	t.Run("too large", func(t *testing.T) {
		d := dockerEngine(t, DockerConfig{MaxImageBytes: 1})
		_, err := d.Start(context.Background(), dockerJob(t))
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("got %v, want ErrTooLarge", err)
		}
		t.Log(err)
	})
	t.Run("absent, no pulls", func(t *testing.T) {
		d := dockerEngine(t, DockerConfig{})
		job := dockerJob(t)
		job.Spec.Docker.Image = "gpumesh-absent:latest"
		if _, err := d.Start(context.Background(), job); !errors.Is(err, ErrDigestRequired) || !strings.Contains(err.Error(), "not present") {
			t.Fatalf("got %v, want ErrDigestRequired: not present", err)
		}
	})
	t.Run("pull fails", func(t *testing.T) {
		d := dockerEngine(t, DockerConfig{Registries: []string{"127.0.0.1:1"}})
		job := dockerJob(t)
		job.Spec.Docker.Image = "127.0.0.1:1/gpumesh/absent@sha256:" + strings.Repeat("0", 64)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := d.Start(ctx, job)
		if !errors.Is(err, ErrPull) || !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "pull") {
			t.Fatalf("got %v, want ErrPull", err)
		}
		t.Log(err)
	})
}

// BenchmarkDockerFirstLine is B8 for docker: from Start to the hello
// image's first output line, then the whole run to removal as ns/op.
func BenchmarkDockerFirstLine(b *testing.B) {
	d := dockerEngine(b, DockerConfig{})
	var firsts []time.Duration
	for b.Loop() {
		job := dockerJob(b)
		t0 := time.Now()
		h, err := d.Start(context.Background(), job)
		if err != nil {
			b.Fatal(err)
		}
		first := dockerWaitLine(b, h.Logs(), "rank=")
		firsts = append(firsts, first.At.Sub(t0))
		if res, logs := dockerWait(b, h); res.Status != StatusSucceeded {
			b.Fatalf("got %s (%s)\n%s", res.Status, res.Reason, logs)
		}
	}
	slices.Sort(firsts)
	b.ReportMetric(float64(firsts[len(firsts)/2].Microseconds())/1000, "ms-first-line-p50")
	b.ReportMetric(float64(firsts[len(firsts)-1].Microseconds())/1000, "ms-first-line-max")
}

// TestDockerPruneRemovesLeftovers: Prune removes the containers of its
// owner (what a crashed provider left running) and no one else's.
func TestDockerPruneRemovesLeftovers(t *testing.T) {
	owner := "prune-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	d := dockerEngine(t, DockerConfig{Owner: owner})
	h, err := d.Start(context.Background(), dockerJob(t, "sleep"))
	if err != nil {
		t.Fatal(err)
	}
	dockerWaitLine(t, h.Logs(), "sleeping")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	other := dockerEngine(t, DockerConfig{Owner: owner + "-other"})
	if n, err := other.Prune(ctx); err != nil || n != 0 {
		t.Fatalf("another owner's Prune removed %d (%v), want 0", n, err)
	}
	same := dockerEngine(t, DockerConfig{Owner: owner})
	if n, err := same.Prune(ctx); err != nil || n != 1 {
		t.Fatalf("the owner's Prune removed %d (%v), want 1", n, err)
	}
	res, logs := dockerWait(t, h)
	if res.Status == StatusSucceeded {
		t.Fatalf("a pruned container's work succeeded\n%s", logs)
	}
	if n, err := same.Prune(ctx); err != nil || n != 0 {
		t.Fatalf("a second Prune removed %d (%v), want 0", n, err)
	}
}

// TestDockerSparseOutputRefused is issue 16 item 5 for containers: a file
// in /outputs may not grow past the outputs limit, even sparse (an 8 GiB
// truncate), because of the fsize ulimit; the work learns it from its
// write (EFBIG) and the folder stays within the limit.
func TestDockerSparseOutputRefused(t *testing.T) {
	d := dockerEngine(t, DockerConfig{StopGrace: time.Second})
	job := dockerJob(t, "sparse")
	job.Limits.OutputBytes, job.Limits.Wall = 8<<20, 20*time.Second
	res, logs := dockerRun(t, d, job)
	size, err := dirSize(filepath.Join(job.Dir, "outputs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s (%s), outputs %d bytes\n%s", res.Status, res.Reason, size, logs)
	if size > job.Limits.OutputBytes {
		t.Errorf("outputs hold %d bytes (apparent), the limit is %d", size, job.Limits.OutputBytes)
	}
	if res.Status == StatusSucceeded || !strings.Contains(logs, "file too large") && res.Status != StatusLimit {
		t.Errorf("got %s (%s): want the truncate refused\n%s", res.Status, res.Reason, logs)
	}
}
