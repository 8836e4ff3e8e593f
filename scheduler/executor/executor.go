// Package executor runs one worker of a job in a sandbox, behind one small
// contract that the run protocol drives whatever the executor:
//
//   - Start(ctx, job) prepares and starts the work; it returns a Handle once
//     the work runs, or an error (ErrBadSpec, ErrNotAllowed, ErrTooLarge,
//     ErrUnavailable) and leaves nothing running.
//   - Handle.Wait(ctx) blocks until the work ends and returns its Result;
//     ctx only bounds the waiting, never the work.
//   - Handle.Logs() is the work's stdout and stderr, line by line, kept up
//     to the output limit (the work is stopped with StatusLimit past it).
//   - Handle.Cancel(ctx) stops the work; Wait then returns StatusCancelled.
//
// Every executor gives the job the same view: its inputs read-only under
// /inputs/<name>, its results written under /outputs/, stdout and stderr
// as logs, and the environment of Job.Env (GPUMESH_RANK,
// GPUMESH_WORLD_SIZE, GPUMESH_JOB_ID, GPUMESH_PEERS). A job may never set
// loader, path or interpreter variables (EnvNeverAllowed), and a process
// job only the names its provider allows (ProcessConfig.Env). On the host the job's
// folder (Job.Dir) holds inputs/ and outputs/; nothing else of the host is
// visible to wasm and docker work. The process executor runs only commands
// the provider allowlisted, with the folder as its working directory; on
// Linux, a process or container job given a Network runs in a network
// namespace of its own that holds only loopback and the job's network
// (Network).
package executor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// SpecVersion is the version of Spec this package reads.
const SpecVersion = 1

// Errors of Start. Each wraps one of these.
var (
	// ErrBadSpec: the spec is malformed or names an unknown executor.
	ErrBadSpec = errors.New("bad executor spec")
	// ErrNotAllowed: the spec asks for something the provider does not
	// allow (host network, privileged mode, a command not allowlisted, GPUs
	// it does not have).
	ErrNotAllowed = errors.New("not allowed by this provider")
	// ErrTooLarge: a module, image or input is over its size limit.
	ErrTooLarge = errors.New("over the size limit")
	// ErrUnavailable: the executor cannot run here (no Docker engine, ...).
	ErrUnavailable = errors.New("executor unavailable")
)

// Status is how a job's work ended.
type Status string

// Statuses of a Result.
const (
	// StatusSucceeded: the work exited 0.
	StatusSucceeded Status = "succeeded"
	// StatusFailed: the work exited non-zero or crashed.
	StatusFailed Status = "failed"
	// StatusLimit: the work was stopped at a limit (time, memory, output).
	StatusLimit Status = "limit"
	// StatusCancelled: Cancel stopped the work.
	StatusCancelled Status = "cancelled"
)

// Spec says what one worker runs. It travels in the run protocol, so it is
// versioned and every field is bounded by Validate.
type Spec struct {
	// Version is SpecVersion.
	Version int `json:"version"`
	// Executor is wasm, docker or process.
	Executor string `json:"executor"`
	// Wasm, Docker and Process: exactly the one Executor names is set.
	Wasm    *WasmSpec    `json:"wasm,omitempty"`
	Docker  *DockerSpec  `json:"docker,omitempty"`
	Process *ProcessSpec `json:"process,omitempty"`
	// Args are the program's arguments (after the program name).
	Args []string `json:"args,omitempty"`
	// Limits are what the requester asks for; the provider's own limits
	// cap them.
	Limits Limits `json:"limits"`
}

// WasmSpec is a WASI module.
type WasmSpec struct {
	// Module is the module's bytes; Digest its "sha256:<hex>".
	Module []byte `json:"module"`
	Digest string `json:"digest"`
}

// DockerSpec is a container.
type DockerSpec struct {
	// Image is the image reference: an image present on the provider, or
	// name@sha256:... in a registry the provider pulls from. Empty when
	// Archive is set.
	Image string `json:"image"`
	// Archive is "sha256:<hex>" of an image archive (docker save output)
	// that travels with the job; the provider loads it and runs the image
	// it holds (see ArchiveFile).
	Archive string `json:"archive,omitempty"`
	// Entrypoint, if set, replaces the image's.
	Entrypoint []string `json:"entrypoint,omitempty"`
	// GPUs is how many GPUs the work needs: the provider refuses it unless
	// the job holds exactly that many (Job.Devices), which the container
	// gets as device requests. 0 takes the devices the job holds.
	GPUs int `json:"gpus,omitempty"`
	// Network asks for a network; the provider must allow it.
	Network bool `json:"network,omitempty"`
	// Privileged and HostNetwork are refused unless the provider allows them.
	Privileged  bool `json:"privileged,omitempty"`
	HostNetwork bool `json:"host_network,omitempty"`
	// PerDevice runs one container of the image per device the worker
	// holds, all in one network namespace, each given only its own device
	// and told its place as ProcessSpec.PerDevice's processes are (see
	// startDockerPerDevice). A worker holding one device or none runs one
	// container as without it.
	PerDevice bool `json:"per_device,omitempty"`
}

// ProcessSpec is a command the provider allowlisted.
type ProcessSpec struct {
	// Command is the allowlisted command's name.
	Command string `json:"command"`
	// PerDevice runs one process of the command per device the worker
	// holds, in the same network namespace, each seeing only its own
	// device and told its place by LOCAL_RANK, LOCAL_WORLD_SIZE, RANK and
	// WORLD_SIZE (see startPerDevice). A worker holding one device or
	// none runs one process as without it.
	PerDevice bool `json:"per_device,omitempty"`
}

// Limits bound one worker's work. Zero means the provider's default.
type Limits struct {
	// Wall is the longest the work may run.
	Wall time.Duration `json:"wall_ns,omitempty"`
	// CPU is the most CPU time it may use.
	CPU time.Duration `json:"cpu_ns,omitempty"`
	// MemoryBytes is the most memory it may use.
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	// OutputBytes bounds its logs, and separately its /outputs/ folder.
	OutputBytes int64 `json:"output_bytes,omitempty"`
	// PIDs bounds the processes or threads it may start (docker, process).
	PIDs int64 `json:"pids,omitempty"`
}

// Cap returns l with each limit no larger than max's (and max's where l
// leaves it zero).
func (l Limits) Cap(max Limits) Limits {
	capD := func(a, b time.Duration) time.Duration {
		if a <= 0 || (b > 0 && a > b) {
			return b
		}
		return a
	}
	capI := func(a, b int64) int64 {
		if a <= 0 || (b > 0 && a > b) {
			return b
		}
		return a
	}
	return Limits{Wall: capD(l.Wall, max.Wall), CPU: capD(l.CPU, max.CPU), MemoryBytes: capI(l.MemoryBytes, max.MemoryBytes),
		OutputBytes: capI(l.OutputBytes, max.OutputBytes), PIDs: capI(l.PIDs, max.PIDs)}
}

// Or returns l with its zero fields taken from def: a provider's limits
// over the executor's defaults.
func (l Limits) Or(def Limits) Limits {
	pick := func(a, b int64) int64 {
		if a == 0 {
			return b
		}
		return a
	}
	return Limits{Wall: time.Duration(pick(int64(l.Wall), int64(def.Wall))), CPU: time.Duration(pick(int64(l.CPU), int64(def.CPU))),
		MemoryBytes: pick(l.MemoryBytes, def.MemoryBytes), OutputBytes: pick(l.OutputBytes, def.OutputBytes), PIDs: pick(l.PIDs, def.PIDs)}
}

// Validate checks the spec's shape (not what the provider allows).
func (s Spec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrBadSpec}, args...)...))
	}
	if s.Version != SpecVersion {
		bad("version %d, this provider reads %d", s.Version, SpecVersion)
	}
	set := 0
	for _, p := range []bool{s.Wasm != nil, s.Docker != nil, s.Process != nil} {
		if p {
			set++
		}
	}
	switch {
	case set != 1:
		bad("%d executor sections, want exactly one", set)
	case s.Executor == "wasm" && s.Wasm == nil, s.Executor == "docker" && s.Docker == nil, s.Executor == "process" && s.Process == nil:
		bad("executor %q without its section", s.Executor)
	case s.Executor != "wasm" && s.Executor != "docker" && s.Executor != "process":
		bad("executor %q is not wasm, docker or process", s.Executor)
	}
	if s.Docker != nil {
		if err := s.Docker.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(s.Args) > 256 {
		bad("%d arguments, at most 256", len(s.Args))
	}
	for _, a := range s.Args {
		if len(a) > 4096 {
			bad("an argument of %d bytes, at most 4096", len(a))
			break
		}
	}
	if s.Limits.Wall < 0 || s.Limits.CPU < 0 || s.Limits.MemoryBytes < 0 || s.Limits.OutputBytes < 0 || s.Limits.PIDs < 0 {
		bad("negative limits")
	}
	return errors.Join(errs...)
}

// Job is one worker's work as an executor receives it.
type Job struct {
	// ID is the job's ID; executors name containers and caches after it.
	ID string
	// Dir is the job's folder on the host: inputs/ (read-only to the work)
	// and outputs/ exist in it.
	Dir string
	// Spec is what to run, already validated.
	Spec Spec
	// Env is the work's environment.
	Env map[string]string
	// Limits are the limits in force: the spec's capped by the provider's.
	Limits Limits
	// Devices are the GPUs this worker holds, from the provider's
	// reservation: the work is given these and no others. Empty for work
	// that holds no GPU.
	Devices []Device
	// Network, if set, runs the work in a network namespace of its own
	// holding the job's network (process and docker executors, Linux).
	// Nil: the work runs as the executor runs it without one.
	Network *Network
}

// Device is one GPU a worker holds: its index on this host (NVML's) and its
// UUID, which docker device requests and CUDA_VISIBLE_DEVICES name it by.
type Device struct {
	Index int    `json:"index"`
	UUID  string `json:"uuid,omitempty"`
}

// Result is how the work ended.
type Result struct {
	// Status says how it ended; ExitCode is the program's (-1 if none).
	Status   Status `json:"status"`
	ExitCode int    `json:"exit_code"`
	// Reason says why, for a person: the limit hit, the signal, the error.
	Reason string `json:"reason,omitempty"`
	// Started and Ended bound the run.
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
}

// Handle is running work. All methods are safe for concurrent use.
type Handle interface {
	// Wait blocks until the work ends, or ctx does (an error then; the
	// work goes on).
	Wait(ctx context.Context) (Result, error)
	// Logs are the work's output lines.
	Logs() *Logs
	// Cancel stops the work and returns once it is stopped or ctx ends.
	Cancel(ctx context.Context) error
}

// Executor starts work of one kind.
type Executor interface {
	// Name is wasm, docker or process.
	Name() string
	// Start starts the job's work (see the package doc).
	Start(ctx context.Context, job Job) (Handle, error)
}

// outcome is what the docker and process handles share: their logs, the
// result once the work ended, and Wait, Logs and Cancel over them.
type outcome struct {
	logs   *Logs
	done   chan struct{}
	stopFn func(Status, string) // the handle's stop: never blocks

	resMu  sync.Mutex
	result Result
}

func newOutcome(stop func(Status, string)) outcome {
	return outcome{done: make(chan struct{}), stopFn: stop}
}

// finish records res as the result; work that ended by itself whose
// outputs folder is over limit ends StatusLimit instead, and so does work
// that failed with its outputs at the limit (a write past it refused by
// RLIMIT_FSIZE).
func (o *outcome) finish(res Result, outputs string, limit int64) {
	if res.Status == StatusSucceeded || res.Status == StatusFailed {
		n, err := dirSize(outputs)
		switch {
		case err != nil || limit <= 0:
		case n > limit:
			res.Status, res.Reason = StatusLimit, fmt.Sprintf("outputs of %d bytes, over %d", n, limit)
		case n == limit && res.Status == StatusFailed:
			res.Status, res.Reason = StatusLimit, fmt.Sprintf("outputs of %d bytes, at the limit (a write past it was refused)", n)
		}
	}
	o.resMu.Lock()
	o.result = res
	o.resMu.Unlock()
	close(o.done)
}

// Wait implements Handle.
func (o *outcome) Wait(ctx context.Context) (Result, error) {
	select {
	case <-o.done:
		o.resMu.Lock()
		defer o.resMu.Unlock()
		return o.result, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// Logs implements Handle.
func (o *outcome) Logs() *Logs { return o.logs }

// Cancel implements Handle.
func (o *outcome) Cancel(ctx context.Context) error {
	o.stopFn(StatusCancelled, "cancelled")
	select {
	case <-o.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
