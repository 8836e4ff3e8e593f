package executor

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gpumesh/gpumesh/p2p"
)

// Config is the [executor] table: which executors a provider runs and how
// far it lets strangers' work go.
type Config struct {
	// Docker runs container jobs when a Docker engine answers.
	Docker bool `toml:"docker" comment:"run container jobs when a Docker engine answers (offer.executors must list docker too)"`
	// DockerAllowNetwork lets container jobs that ask have a network.
	DockerAllowNetwork bool `toml:"docker_allow_network" comment:"let container jobs that ask have a network (default: none, loopback only)"`
	// DockerAllowHostNetwork lets container jobs that ask share the host's network.
	DockerAllowHostNetwork bool `toml:"docker_allow_host_network" comment:"let container jobs that ask share the host's network"`
	// DockerAllowPrivileged lets container jobs that ask run privileged.
	DockerAllowPrivileged bool `toml:"docker_allow_privileged" comment:"let container jobs that ask run privileged (no sandbox left)"`
	// DockerRegistries are the registries container jobs' images may be
	// pulled from, by pinned digest only; see DockerConfig.Registries.
	DockerRegistries []string `toml:"docker_registries" comment:"registries (host[:port]; docker.io for Docker Hub) a container job's image may be pulled from when it is not present, and only as name@sha256:<digest>: a tag can be moved to other content between the bid and the run, a digest cannot. Empty (default) = pull nothing: only images already present, and image archives a job sends, run"`
	// DockerMaxImageMB bounds container images; see DockerConfig.MaxImageBytes.
	DockerMaxImageMB int64 `toml:"docker_max_image_mb" comment:"largest container image a job may use, MiB: a pulled or loaded image's size on the engine, and an image archive (docker save output) a job sends, which is received to disk and loaded; 20480 leaves room for the usual CUDA stacks"`
	// DockerArchiveCacheMB bounds the loaded image archives kept; see
	// DockerConfig.ArchiveCacheBytes.
	DockerArchiveCacheMB int64 `toml:"docker_archive_cache_mb" comment:"most disk, MiB, the images of loaded image archives keep on the engine so that a job sending the same archive again is not loaded again; past it the least recently used are removed (not one a container uses). 0 = docker_max_image_mb: every requester's archive would otherwise stay on the provider's disk for good"`
	// Commands are the process executor's allowlist, NAME=/absolute/program [ARGS...].
	Commands []string `toml:"commands" comment:"process executor allowlist: NAME=/absolute/program [fixed args...]; empty = no process jobs"`
	// CommandEnv names the environment variables a process job may set
	// (exact names or patterns such as OMP_*); see ProcessConfig.Env.
	CommandEnv []string `toml:"command_env" comment:"environment variables a process job may set: NAME or PATTERN (OMP_*); empty = none. Loader, path and interpreter variables (LD_*, PATH, PYTHONPATH, ...) are refused whatever this says"`
	// MaxWall, MaxCPU, MaxMemoryMB and MaxOutputMB cap every job's limits.
	MaxWall     p2p.Duration `toml:"max_wall" comment:"longest a job may run"`
	MaxCPU      p2p.Duration `toml:"max_cpu" comment:"most CPU time a job may use"`
	MaxMemoryMB int64        `toml:"max_memory_mb" comment:"most memory a job may use, MiB. A process job without GPUs is bounded by RLIMIT_AS (address space); one holding GPUs by RLIMIT_DATA (private writable memory, Linux 4.7+) instead, because the CUDA driver reserves tens of GiB of address space PROT_NONE at start-up, which RLIMIT_AS counts (CUDA would not start) and RLIMIT_DATA does not, while every byte of host memory the job can write still counts"`
	MaxOutputMB int64        `toml:"max_output_mb" comment:"most logs, and separately outputs, a job may write, MiB"`
	// JobEgress says whether process and container jobs on a job network
	// also reach public IPv4 addresses: EgressNone or EgressInternet.
	JobEgress string `toml:"job_egress" comment:"none | internet: what a networked process or container job reaches besides its job's network. none (default): nothing else. internet: public IPv4 addresses, masqueraded behind this host's; never this host itself, its subnets, private, shared (CGNAT), link-local (cloud metadata), loopback, multicast or reserved ranges, nor IPv6. Turns IPv4 forwarding on"`
}

// Values of Config.JobEgress.
const (
	// EgressNone keeps a networked job to its job's network.
	EgressNone = "none"
	// EgressInternet lets a networked job reach public IPv4 addresses.
	EgressInternet = "internet"
)

// DefaultConfig runs wasm only, with an hour, 2 GiB and 64 MiB of output
// at most per job.
func DefaultConfig() Config {
	return Config{MaxWall: p2p.Duration(time.Hour), MaxCPU: p2p.Duration(time.Hour), MaxMemoryMB: 2048, MaxOutputMB: 64,
		DockerMaxImageMB: DefaultMaxImageBytes >> 20, JobEgress: EgressNone}
}

// Limits are the caps of the config.
func (c Config) Limits() Limits {
	return Limits{Wall: time.Duration(c.MaxWall), CPU: time.Duration(c.MaxCPU), MemoryBytes: c.MaxMemoryMB << 20, OutputBytes: c.MaxOutputMB << 20}
}

// Allowlist parses Commands.
func (c Config) Allowlist() (map[string][]string, error) {
	out := map[string][]string{}
	var errs []error
	for _, e := range c.Commands {
		name, cmd, ok := strings.Cut(e, "=")
		argv := strings.Fields(cmd)
		switch {
		case !ok || strings.TrimSpace(name) == "" || len(argv) == 0:
			errs = append(errs, fmt.Errorf("%q is not NAME=/absolute/program [ARGS...]", e))
		case !filepath.IsAbs(argv[0]):
			errs = append(errs, fmt.Errorf("%q: the program must be an absolute path", e))
		default:
			out[strings.TrimSpace(name)] = argv
		}
	}
	return out, errors.Join(errs...)
}

// Validate names every bad key under prefix.
func (c Config) Validate(prefix string) error {
	var errs []error
	if _, err := c.Allowlist(); err != nil {
		errs = append(errs, fmt.Errorf("%s.commands: %w", prefix, err))
	}
	if err := validateEnvAllow(c.CommandEnv); err != nil {
		errs = append(errs, fmt.Errorf("%s.command_env: %w", prefix, err))
	}
	for _, r := range c.DockerRegistries {
		if err := ValidRegistry(r); err != nil {
			errs = append(errs, fmt.Errorf("%s.docker_registries: %w", prefix, err))
		}
	}
	if c.DockerMaxImageMB < 0 || c.DockerArchiveCacheMB < 0 {
		errs = append(errs, fmt.Errorf("%s.docker_max_image_mb and %s.docker_archive_cache_mb must not be negative (0: their defaults)", prefix, prefix))
	}
	if c.MaxWall <= 0 || c.MaxCPU <= 0 {
		errs = append(errs, fmt.Errorf("%s.max_wall and %s.max_cpu must be positive", prefix, prefix))
	}
	if c.JobEgress != "" && c.JobEgress != EgressNone && c.JobEgress != EgressInternet {
		errs = append(errs, fmt.Errorf("%s.job_egress: %q is neither %q nor %q", prefix, c.JobEgress, EgressNone, EgressInternet))
	}
	if c.MaxMemoryMB < 16 || c.MaxOutputMB < 1 {
		errs = append(errs, fmt.Errorf("%s.max_memory_mb must be at least 16 and %s.max_output_mb at least 1", prefix, prefix))
	}
	return errors.Join(errs...)
}

// Set is the executors a node runs, by name.
type Set map[string]Executor

// Names lists the set's executors, sorted.
func (s Set) Names() []string {
	out := make([]string, 0, len(s))
	for n := range s {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Close closes every executor that has a Close method.
func (s Set) Close() error {
	var errs []error
	for _, e := range s {
		if c, ok := e.(interface{ Close() error }); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// Open builds the executors cfg enables: wasm always (modules cached in
// cacheDir), docker when enabled and an engine answers, process when the
// allowlist is not empty. Executors that cannot run are left out, each
// with its reason in skipped. owner labels the docker executor's
// containers; those an earlier run of the same owner left behind (a crash
// mid-job) are removed here.
func Open(ctx context.Context, cfg Config, cacheDir, owner string) (set Set, skipped map[string]string, err error) {
	set, skipped = Set{}, map[string]string{}
	lim := cfg.Limits()
	w, err := NewWasm(WasmConfig{CacheDir: cacheDir, Limits: lim})
	if err != nil {
		return nil, nil, fmt.Errorf("wasm executor: %w", err)
	}
	set["wasm"] = w
	if cfg.Docker {
		d, err := NewDocker(DockerConfig{AllowNetwork: cfg.DockerAllowNetwork, AllowHostNetwork: cfg.DockerAllowHostNetwork,
			AllowPrivileged: cfg.DockerAllowPrivileged, Limits: lim, Owner: owner,
			Registries: cfg.DockerRegistries, MaxImageBytes: cfg.DockerMaxImageMB << 20, ArchiveCacheBytes: cfg.DockerArchiveCacheMB << 20})
		if err == nil {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = d.Ping(pctx)
			if err == nil {
				_, err = d.Prune(pctx)
			}
			if err == nil {
				// How containers get their GPUs; an engine that will not say
				// (an API proxy refusing /info) gives them none: GPU jobs
				// then get no bid, the others run.
				_, _ = d.DetectGPUs(pctx)
			}
			cancel()
			if err != nil {
				_ = d.Close()
			}
		}
		if err != nil {
			skipped["docker"] = err.Error()
		} else {
			set["docker"] = d
		}
	} else {
		skipped["docker"] = "executor.docker = false"
	}
	allow, err := cfg.Allowlist()
	if err != nil {
		return nil, nil, err
	}
	if len(allow) == 0 {
		skipped["process"] = "executor.commands is empty"
	} else {
		p, err := NewProcess(ProcessConfig{Allow: allow, Env: cfg.CommandEnv, Limits: lim})
		switch {
		case errors.Is(err, ErrOSUnsupported):
			skipped["process"] = err.Error()
		case err != nil:
			return nil, nil, err
		default:
			set["process"] = p
		}
	}
	return set, skipped, nil
}
