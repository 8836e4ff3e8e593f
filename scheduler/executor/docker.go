package executor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"golang.org/x/sync/singleflight"
)

// DockerConfig is what the docker executor may do on this provider. Zero
// fields take the documented defaults; nothing is allowed unless a field
// says so.
type DockerConfig struct {
	// Host is the engine's address (unix:///var/run/docker.sock,
	// tcp://host:2376). Default: $DOCKER_HOST (with $DOCKER_TLS_VERIFY and
	// $DOCKER_CERT_PATH), else the local unix socket. The engine must see
	// this host's files: job folders are bind-mounted.
	Host string
	// AllowNetwork lets a job that asks for a network have the engine's
	// default bridge. Default false: network mode "none" (loopback only).
	AllowNetwork bool
	// AllowHostNetwork lets a job that asks share the host's network.
	// Default false.
	AllowHostNetwork bool
	// AllowPrivileged lets a job that asks run privileged (all
	// capabilities, all devices: no sandbox left). Default false.
	AllowPrivileged bool
	// GPUs is how the engine gives containers GPUs (DetectGPUs fills it
	// from the engine's Info). A job gets exactly the devices it holds
	// (Job.Devices) as device requests; the zero value gives none, and a
	// job holding GPUs is refused.
	GPUs GPUAccess
	// Limits cap every job's; zero fields take DefaultDockerLimits'. CPU is
	// CPU time, enforced by sampling the container's usage every second.
	Limits Limits
	// CPUs is how many CPUs a job's container may use at once (NanoCPUs).
	// Default 0: no cap.
	CPUs float64
	// Registries are the registries (host[:port], docker.io for Docker
	// Hub) an image that is not present may be pulled from, and only by a
	// pinned digest (name@sha256:...). Default none: only images already
	// present, and image archives sent with the job, run.
	Registries []string
	// MaxImageBytes is the largest image that runs (a pulled or loaded
	// image over it is removed again), and the largest image archive a job
	// may send. Default DefaultMaxImageBytes.
	MaxImageBytes int64
	// ArchiveCacheBytes bounds the images of loaded image archives kept
	// on the engine for the next job that sends the same archive; past
	// it the least recently used go (not one a container uses). Default
	// MaxImageBytes.
	ArchiveCacheBytes int64
	// User is the user the work runs as ("uid:gid"). Default: the owner of
	// the job's outputs/ folder, so the provider can read and delete what
	// the work writes; when that is root, 65534:65534 (nobody), and the
	// outputs/ folder is handed to it. The image's own USER is never used.
	User string
	// TmpBytes is the size of the writable tmpfs at /tmp (it counts
	// against the memory limit). Default 64 MiB.
	TmpBytes int64
	// Owner labels this node's containers (gpumesh.owner), so that Prune
	// removes only what this node left behind on an engine other nodes
	// may share. The node sets its peer ID.
	Owner string
	// StopGrace is how long a stopped container has between SIGTERM and
	// SIGKILL. Default 2 s.
	StopGrace time.Duration
}

// DefaultDockerLimits are the docker executor's limits when the provider
// sets none.
var DefaultDockerLimits = Limits{Wall: time.Hour, MemoryBytes: 2 << 30, OutputBytes: 64 << 20, PIDs: 256}

// DefaultMaxImageBytes is the largest image the docker executor runs when
// the provider sets no limit: room for the usual CUDA stacks.
const DefaultMaxImageBytes = 20 << 30

// dockerNobody runs the work when its outputs folder belongs to root.
const dockerNobody = 65534

// dockerPoll is how often a running container's outputs folder and CPU
// time are checked against their limits.
const dockerPoll = time.Second

// Docker runs containers through a Docker Engine, one per job (one per
// device for a per-device worker: docker_devices.go), hardened
// by default: no network, all capabilities dropped, no-new-privileges, a
// read-only root with a small tmpfs at /tmp, a non-root user, limits on
// memory (no swap), processes, wall and CPU time, logs and the outputs
// folder, and the engine keeps no log of its own. It does not protect
// against kernel exploits (containers share the host's kernel), and GPUs
// passed through are the driver's attack surface; use wasm for untrusted
// work where that matters.
type Docker struct {
	cfg   DockerConfig
	cli   *client.Client
	loads singleflight.Group // image archives being loaded, by digest
}

// NewDocker returns a docker executor for cfg. It does not contact the
// engine: Start says ErrUnavailable when the engine does not answer.
func NewDocker(cfg DockerConfig) (*Docker, error) {
	if cfg.CPUs < 0 || cfg.MaxImageBytes < 0 || cfg.TmpBytes < 0 || cfg.StopGrace < 0 {
		return nil, errors.New("docker executor: negative CPUs, MaxImageBytes, TmpBytes or StopGrace")
	}
	if cfg.User != "" && !validDockerUser(cfg.User) {
		return nil, fmt.Errorf("docker executor: user %q is not uid or uid:gid", cfg.User)
	}
	cfg.Limits = cfg.Limits.Or(DefaultDockerLimits)
	if cfg.MaxImageBytes == 0 {
		cfg.MaxImageBytes = DefaultMaxImageBytes
	}
	if cfg.ArchiveCacheBytes <= 0 {
		cfg.ArchiveCacheBytes = cfg.MaxImageBytes
	}
	if cfg.TmpBytes == 0 {
		cfg.TmpBytes = 64 << 20
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 2 * time.Second
	}
	opts := []client.Opt{client.FromEnv}
	if cfg.Host != "" {
		opts = append(opts, client.WithHost(cfg.Host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker executor: %w", err)
	}
	return &Docker{cfg: cfg, cli: cli}, nil
}

// Name implements Executor.
func (*Docker) Name() string { return "docker" }

// Ping reports whether the engine answers, with an error wrapping
// ErrUnavailable when it does not.
func (d *Docker) Ping(ctx context.Context) error {
	if _, err := d.cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("%w: docker engine: %w", ErrUnavailable, err)
	}
	return nil
}

// Prune removes every container of this executor's Owner, running or not:
// what a provider that crashed mid-job left behind. Call it before any job
// starts. It returns how many it removed.
func (d *Docker) Prune(ctx context.Context) (int, error) {
	f := client.Filters{}.Add("label", "gpumesh.executor=docker", "gpumesh.owner="+d.cfg.Owner)
	list, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return 0, dockerErr("list containers", err)
	}
	n := 0
	for _, c := range list.Items {
		if c.Labels["gpumesh.owner"] != d.cfg.Owner { // the engine ANDs label filters; check anyway
			continue
		}
		if _, err := d.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			return n, dockerErr("remove container "+c.ID, err)
		}
		n++
	}
	return n, nil
}

// Close releases the connection to the engine; call it after every
// handle's work has ended.
func (d *Docker) Close() error { return d.cli.Close() }

// Start implements Executor. Beyond the package's contract: the image must
// be present, pullable by its pinned digest from an allowed registry, or
// an image archive in the job's folder (see jobImage); a refused spec
// names every field the provider does not allow; a container that was
// created is removed again whatever fails after.
func (d *Docker) Start(ctx context.Context, job Job) (Handle, error) {
	if err := dockerCheck(d.cfg, job); err != nil {
		return nil, err
	}
	in, out, err := dockerFolders(job.Dir)
	if err != nil {
		return nil, err
	}
	lim := job.Limits.Cap(d.cfg.Limits)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = d.cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("%w: docker engine does not answer: %w", ErrUnavailable, err)
	}
	image, err := d.jobImage(ctx, job)
	if err != nil {
		return nil, err
	}
	job.Spec.Docker = withImage(job.Spec.Docker, image) // run by ID: what was checked is what runs
	user, err := d.user(out)
	if err != nil {
		return nil, err
	}
	if job.Spec.Docker.PerDevice && len(job.Devices) > 1 {
		return d.startPerDevice(ctx, job, lim, user, in, out)
	}
	cc, hc := dockerContainer(d.cfg, job, lim, user, in, out)
	name := dockerName(job.ID)
	holder := ""
	if job.Network != nil { // see docker_network.go
		if holder, err = d.startHolder(ctx, job, job.Spec.Docker.Image, user, name+"-net", "none"); err != nil {
			return nil, err
		}
		joinHolder(cc, hc, holder)
	}
	h, err := d.startContainer(ctx, name, cc, hc, holder, lim, out, nil, "")
	if err != nil {
		if holder != "" {
			d.removeContainer(ctx, holder)
		}
		return nil, err
	}
	return h, nil
}

// joinHolder makes the container of cc and hc run in the network
// namespace of container holder.
func joinHolder(cc *container.Config, hc *container.HostConfig, holder string) {
	hc.NetworkMode = container.NetworkMode("container:" + holder)
	cc.Hostname = "" // the holder's: the engine refuses one beside a container's network
}

// startContainer creates and starts container name from cc and hc under
// lim, with outputs folder out, and returns its handle, which removes it
// (and holder, if not empty) once it ended. Its output goes to logs, each
// line after prefix, when logs is not nil (logs a per-device worker's
// handle owns and closes), else to logs of its own. On an error the
// container is removed again; holder is the caller's to remove.
func (d *Docker) startContainer(ctx context.Context, name string, cc *container.Config, hc *container.HostConfig, holder string,
	lim Limits, out string, logs *Logs, prefix string) (*dockerHandle, error) {
	created, err := d.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cc, HostConfig: hc})
	if err != nil {
		// The engine may have made it before ctx ended: remove it by name.
		d.removeContainer(ctx, name)
		return nil, dockerErr("create container "+name, err)
	}
	h := &dockerHandle{cli: d.cli, id: created.ID, holder: holder, name: name, lim: lim, grace: d.cfg.StopGrace, out: out,
		stopc: make(chan struct{}), sharedLogs: logs != nil}
	h.outcome = newOutcome(h.stop)
	h.logs = logs
	if logs == nil {
		h.logs = NewLogs(lim.OutputBytes, func() { h.stop(StatusLimit, fmt.Sprintf("output over %d bytes", lim.OutputBytes)) })
	}
	// The container's requests outlive Start's ctx: the handle owns them.
	runCtx, runCancel := context.WithCancel(context.WithoutCancel(ctx))
	fail := func(what string, err error) (*dockerHandle, error) {
		runCancel()
		d.removeContainer(ctx, h.id)
		return nil, dockerErr(what+" "+name, err)
	}
	// Attach and wait before starting, so no output and no exit is missed.
	att, err := d.cli.ContainerAttach(ctx, h.id, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return fail("attach to", err)
	}
	wait := d.cli.ContainerWait(runCtx, h.id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = stdcopy.StdCopy(h.logs.PrefixWriter("stdout", prefix), h.logs.PrefixWriter("stderr", prefix), att.Reader)
	}()
	h.started = time.Now()
	if _, err := d.cli.ContainerStart(ctx, h.id, client.ContainerStartOptions{}); err != nil {
		att.Close()
		<-copied
		return fail("start", err)
	}
	go h.run(runCtx, runCancel, wait, att.HijackedResponse, copied)
	return h, nil
}

// dockerCheck returns every problem of job's docker spec: malformed
// (ErrBadSpec) or more than cfg allows (ErrNotAllowed).
func dockerCheck(cfg DockerConfig, job Job) error {
	s := job.Spec.Docker
	if s == nil {
		return fmt.Errorf("%w: no docker section", ErrBadSpec)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: docker: "+format, append([]any{ErrBadSpec}, args...)...))
	}
	refuse := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: docker: "+format, append([]any{ErrNotAllowed}, args...)...))
	}
	if job.ID == "" {
		bad("job without an ID")
	}
	if err := s.validate(); err != nil {
		errs = append(errs, err)
	}
	for k, v := range job.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.Contains(v, "\x00") {
			bad("environment variable %q is not NAME=value", k)
		}
	}
	// A container is the requester's own code, so its environment mostly
	// reaches only that code; it is checked all the same because code of
	// the provider reads it too: the NVIDIA container runtime's hook runs
	// on the host as root and takes NVIDIA_VISIBLE_DEVICES and
	// NVIDIA_DRIVER_CAPABILITIES from the container's environment (all
	// GPUs, whatever was asked), and a loader variable such as LD_PRELOAD
	// would be honoured by any provider tool run inside the container
	// (docker exec, the runtime's hooks). So the never-allowed names of
	// the process executor are refused here too.
	if refused := refusedEnv(job.Env, nil, false); len(refused) > 0 {
		errs = append(errs, fmt.Errorf("%w: docker: the job sets %s, which no container may set", ErrEnvRefused, strings.Join(refused, ", ")))
	}
	if s.HostNetwork && !cfg.AllowHostNetwork {
		refuse("host_network: this provider does not share its network")
	}
	if s.Privileged && !cfg.AllowPrivileged {
		refuse("privileged: this provider does not run privileged containers")
	}
	if s.Network && !s.HostNetwork && !cfg.AllowNetwork {
		refuse("network: this provider gives containers no network")
	}
	if err := dockerDeviceCheck(cfg.GPUs, s, job.Devices); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validate checks the spec's own shape, whatever the provider allows.
func (s *DockerSpec) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: docker: "+format, append([]any{ErrBadSpec}, args...)...))
	}
	if err := s.validateImage(); err != nil {
		errs = append(errs, err)
	}
	if len(s.Entrypoint) > 256 {
		bad("entrypoint of %d words, at most 256", len(s.Entrypoint))
	}
	for _, w := range s.Entrypoint {
		if len(w) > 4096 || strings.Contains(w, "\x00") {
			bad("an entrypoint word of %d bytes or with a NUL", len(w))
			break
		}
	}
	if s.GPUs < 0 {
		bad("gpus %d is negative", s.GPUs)
	} else if s.GPUs > 64 {
		bad("gpus %d, at most 64", s.GPUs)
	}
	return errors.Join(errs...)
}

// dockerFolders returns the job folder's inputs/ and outputs/, which must
// be folders, not links that could point anywhere on the host.
func dockerFolders(dir string) (in, out string, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", "", fmt.Errorf("%w: job folder: %w", ErrBadSpec, err)
	}
	in, out = filepath.Join(dir, "inputs"), filepath.Join(dir, "outputs")
	for _, p := range []string{in, out} {
		fi, err := os.Lstat(p)
		if err != nil {
			return "", "", fmt.Errorf("%w: job folder: %w", ErrBadSpec, err)
		}
		if !fi.IsDir() {
			return "", "", fmt.Errorf("%w: job folder: %s is not a folder", ErrBadSpec, p)
		}
	}
	return in, out, nil
}

// user returns the uid:gid the work runs as (see DockerConfig.User).
func (d *Docker) user(out string) (string, error) {
	if d.cfg.User != "" {
		return d.cfg.User, nil
	}
	fi, err := os.Stat(out)
	if err != nil {
		return "", fmt.Errorf("%w: job folder: %w", ErrBadSpec, err)
	}
	uid, gid, ok := fileOwner(fi)
	if !ok {
		// No owner ids (Windows): Docker Desktop's bind mounts let any
		// user write, so the work runs as nobody.
		return fmt.Sprintf("%d:%d", dockerNobody, dockerNobody), nil
	}
	if uid != 0 {
		return fmt.Sprintf("%d:%d", uid, gid), nil
	}
	if err := os.Chown(out, dockerNobody, dockerNobody); err != nil {
		return "", fmt.Errorf("%w: docker: hand %s to the container's user: %w", ErrUnavailable, out, err)
	}
	return fmt.Sprintf("%d:%d", dockerNobody, dockerNobody), nil
}

// dockerContainer is the container for job: a pure function of the
// provider's config, the job, the limits in force, the user and the job's
// folders.
func dockerContainer(cfg DockerConfig, job Job, lim Limits, user, in, out string) (*container.Config, *container.HostConfig) {
	s := job.Spec.Docker
	vars := maps.Clone(job.Env)
	if job.Network != nil {
		if vars == nil {
			vars = map[string]string{}
		}
		maps.Copy(vars, job.Network.Env) // the job's network: addresses and ranks, the provider's
	}
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	// The runtime's own variable names the devices too ("void": none), so
	// an image's NVIDIA_VISIBLE_DEVICES=all cannot reach every GPU under
	// an engine whose default runtime is NVIDIA's.
	env = append(env, EnvNVIDIAVisible+"="+DeviceEnv(job.Devices)[EnvNVIDIAVisible])
	slices.Sort(env)
	grace := int((cfg.StopGrace + time.Second - 1) / time.Second)
	cc := &container.Config{
		Image:        s.Image,
		Cmd:          job.Spec.Args,
		Env:          env,
		User:         user,
		Hostname:     "gpumesh",
		AttachStdout: true,
		AttachStderr: true,
		Labels:       map[string]string{"gpumesh.executor": "docker", "gpumesh.job": job.ID, "gpumesh.owner": cfg.Owner},
		StopTimeout:  &grace,
	}
	if len(s.Entrypoint) > 0 {
		cc.Entrypoint = s.Entrypoint
	}
	hc := &container.HostConfig{
		NetworkMode:    dockerNetworkMode(cfg, s),
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		ReadonlyRootfs: true,
		IpcMode:        "private",
		Tmpfs:          map[string]string{"/tmp": "rw,nosuid,nodev,size=" + strconv.FormatInt(cfg.TmpBytes, 10)},
		// The work's output goes to the handle only; the engine keeps no
		// copy on disk that a chatty job could grow.
		LogConfig: container.LogConfig{Type: "none"},
		Mounts: []mount.Mount{
			{Type: mount.TypeBind, Source: in, Target: "/inputs", ReadOnly: true},
			{Type: mount.TypeBind, Source: out, Target: "/outputs"},
		},
	}
	if s.Privileged && cfg.AllowPrivileged {
		hc.Privileged, hc.CapDrop = true, nil
	}
	if lim.MemoryBytes > 0 {
		hc.Memory, hc.MemorySwap = lim.MemoryBytes, lim.MemoryBytes
	}
	if lim.OutputBytes > 0 {
		// The outputs folder is a bind mount, which no engine storage
		// quota covers, and a size-limited tmpfs would hold the outputs
		// in the provider's memory. So each file the work writes is
		// capped at the limit by RLIMIT_FSIZE (a sparse file counts
		// whole: the kernel refuses with EFBIG), and the folder's total is
		// measured every dockerPoll (see poll), which bounds it to what
		// the work writes in that time.
		hc.Ulimits = []*container.Ulimit{{Name: "fsize", Soft: lim.OutputBytes, Hard: lim.OutputBytes}}
	}
	if lim.PIDs > 0 {
		pids := lim.PIDs
		hc.PidsLimit = &pids
	}
	if cfg.CPUs > 0 {
		hc.NanoCPUs = int64(cfg.CPUs * 1e9)
	}
	hc.DeviceRequests = dockerDeviceRequests(cfg.GPUs, job.Devices)
	return cc, hc
}

// dockerDeviceRequests is deviceRequests; tests on an engine without
// GPUs replace it.
var dockerDeviceRequests = deviceRequests

// dockerNetworkMode is the network a container of spec s gets without a
// job network: none unless cfg allows what s asks.
func dockerNetworkMode(cfg DockerConfig, s *DockerSpec) container.NetworkMode {
	switch {
	case s.HostNetwork && cfg.AllowHostNetwork:
		return "host"
	case s.Network && cfg.AllowNetwork:
		return "bridge"
	}
	return "none"
}

// dockerName is a container name for job id: gpumesh-<id>-<random>, with
// what a container name may not hold replaced.
func dockerName(id string) string {
	b := []byte(id)
	if len(b) > 64 {
		b = b[:64]
	}
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	return "gpumesh-" + string(b) + "-" + hex.EncodeToString(r[:])
}

func validDockerUser(u string) bool {
	uid, gid, found := strings.Cut(u, ":")
	_, err1 := strconv.ParseUint(uid, 10, 32)
	if !found {
		return err1 == nil
	}
	_, err2 := strconv.ParseUint(gid, 10, 32)
	return err1 == nil && err2 == nil
}

// dockerErr wraps an engine error from Start: ErrBadSpec where the engine
// calls the request invalid, else ErrUnavailable.
func dockerErr(what string, err error) error {
	if cerrdefs.IsInvalidArgument(err) {
		return fmt.Errorf("%w: docker: %s: %w", ErrBadSpec, what, err)
	}
	return fmt.Errorf("%w: docker: %s: %w", ErrUnavailable, what, err)
}

// dockerHandle is a running container. Its run goroutine, started by
// Start, owns the container: it enforces the limits, collects the result
// and removes the container; it exits when the container is gone.
type dockerHandle struct {
	cli    *client.Client
	id     string
	holder string // the container holding its job network, if any and its own
	// sharedLogs: logs belong to a per-device worker's handle, which
	// closes them once every container ended.
	sharedLogs bool
	name       string
	lim        Limits
	grace      time.Duration
	out        string
	started    time.Time
	outcome    // done is closed once the result is set and the container removed

	stopOnce sync.Once
	stopc    chan struct{} // closed by the first stop

	mu     sync.Mutex
	status Status // set by the first stop
	reason string
}

// stop asks run to stop the container, recording why; the first call wins.
// Cancel (the outcome's) calls it: SIGTERM, SIGKILL after the grace
// period, and Cancel returns once the container is removed.
// It never blocks, so the logs' writer may call it.
func (h *dockerHandle) stop(status Status, reason string) {
	h.stopOnce.Do(func() {
		h.mu.Lock()
		h.status, h.reason = status, reason
		h.mu.Unlock()
		close(h.stopc)
	})
}

// run waits for the container to exit, stopping it at a limit or on
// Cancel, then records the result and removes the container.
func (h *dockerHandle) run(ctx context.Context, cancel context.CancelFunc, wait client.ContainerWaitResult, att client.HijackedResponse, copied <-chan struct{}) {
	defer cancel()
	var wallC <-chan time.Time
	if h.lim.Wall > 0 {
		t := time.NewTimer(h.lim.Wall)
		defer t.Stop()
		wallC = t.C
	}
	var pollC <-chan time.Time
	if h.lim.OutputBytes > 0 || h.lim.CPU > 0 {
		t := time.NewTicker(dockerPoll)
		defer t.Stop()
		pollC = t.C
	}
	stopc := h.stopc
	exit, engineErr := int64(-1), error(nil)
wait:
	for {
		select {
		case r := <-wait.Result:
			exit = r.StatusCode
			if r.Error != nil && r.Error.Message != "" {
				engineErr = errors.New(r.Error.Message)
			}
			break wait
		case err := <-wait.Error:
			engineErr = err
			break wait
		case <-wallC:
			h.stop(StatusLimit, fmt.Sprintf("wall time over %s", h.lim.Wall))
		case <-pollC:
			h.poll(ctx)
		case <-stopc:
			stopc = nil
			sctx, scancel := context.WithTimeout(ctx, h.grace+10*time.Second)
			secs := int(h.grace / time.Second)
			if _, err := h.cli.ContainerStop(sctx, h.id, client.ContainerStopOptions{Timeout: &secs}); err != nil && !cerrdefs.IsNotFound(err) {
				_, _ = h.cli.ContainerKill(sctx, h.id, client.ContainerKillOptions{Signal: "KILL"})
			}
			scancel()
		}
	}
	ended := time.Now()
	// The attach stream ends with the container; give the last output a
	// moment to arrive, then cut it.
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	att.Close()
	<-copied
	if !h.sharedLogs {
		h.logs.Close()
	}

	var state *container.State
	ictx, icancel := context.WithTimeout(ctx, 10*time.Second)
	// The engine may learn of an OOM kill after the exit itself (the two
	// are separate events from containerd, seen on cgroup v1): a killed
	// container with a memory limit is inspected again for a moment
	// before it counts as a plain failure.
	for try := 0; ; try++ {
		if info, err := h.cli.ContainerInspect(ictx, h.id, client.ContainerInspectOptions{}); err == nil {
			state = info.Container.State
		}
		if state == nil || state.OOMKilled || state.ExitCode != 137 || h.lim.MemoryBytes <= 0 || try == oomWaitTries {
			break
		}
		select {
		case <-ictx.Done():
		case <-time.After(oomWaitStep):
		}
	}
	icancel()
	h.remove(ctx)

	res := Result{Started: h.started, Ended: ended, ExitCode: int(exit)}
	if engineErr != nil && state != nil && !state.Running {
		res.ExitCode, engineErr = state.ExitCode, nil
	}
	h.mu.Lock()
	status, reason := h.status, h.reason
	h.mu.Unlock()
	switch {
	case status != "":
		res.Status, res.Reason = status, reason
	case state != nil && state.OOMKilled:
		res.Status, res.Reason = StatusLimit, fmt.Sprintf("memory limit of %d bytes", h.lim.MemoryBytes)
	case engineErr != nil:
		res.Status, res.Reason, res.ExitCode = StatusFailed, "docker engine: "+engineErr.Error(), -1
	case res.ExitCode == 0:
		res.Status = StatusSucceeded
	default:
		res.Status, res.Reason = StatusFailed, fmt.Sprintf("exit status %d", res.ExitCode)
	}
	h.finish(res, h.out, h.lim.OutputBytes)
}

// oomWaitTries × oomWaitStep is how long a SIGKILLed container with a
// memory limit is watched for the engine's OOM flag.
const (
	oomWaitTries = 10
	oomWaitStep  = 100 * time.Millisecond
)

// poll stops the container when its outputs folder or CPU time is over
// its limit.
func (h *dockerHandle) poll(ctx context.Context) {
	if h.lim.OutputBytes > 0 {
		if n, err := dirSize(h.out); err == nil && n > h.lim.OutputBytes {
			h.stop(StatusLimit, fmt.Sprintf("outputs of %d bytes, over %d", n, h.lim.OutputBytes))
			return
		}
	}
	if h.lim.CPU <= 0 {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := h.cli.ContainerStats(sctx, h.id, client.ContainerStatsOptions{})
	if err != nil {
		return
	}
	defer st.Body.Close()
	var stats container.StatsResponse
	if err := json.NewDecoder(io.LimitReader(st.Body, 1<<20)).Decode(&stats); err != nil {
		return
	}
	if used := time.Duration(stats.CPUStats.CPUUsage.TotalUsage); used > h.lim.CPU {
		h.stop(StatusLimit, fmt.Sprintf("CPU time over %s", h.lim.CPU))
	}
}

// remove removes the container, whatever state it is in, and then the
// holder of its job network, if it has one.
func (h *dockerHandle) remove(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, _ = h.cli.ContainerRemove(rctx, h.id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if h.holder != "" {
		_, _ = h.cli.ContainerRemove(rctx, h.holder, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}
}
