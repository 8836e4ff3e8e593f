package market

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// ErrBadSpec is wrapped by every error about a job spec the user gave.
var ErrBadSpec = errors.New("bad job spec")

// Spec is a job as a user describes it: in a job file (YAML or JSON, the
// same keys), as `gpumesh submit` flags, or as the body of POST
// /api/v1/jobs. Zero values take the defaults Normalize documents.
type Spec struct {
	// Workers is k, the number of workers (default 1).
	Workers int `json:"workers,omitempty" yaml:"workers"`
	// GPUs is the devices per worker (default 1; the CPU of a CPU-only
	// node counts as one device). 0 with CPUCores set asks for CPU workers.
	GPUs *int `json:"gpus,omitempty" yaml:"gpus"`
	// Pool restricts devices to gpu, apple or cpu; empty accepts any.
	Pool string `json:"pool,omitempty" yaml:"pool"`
	// Class is the device class required (A100-80GB, RTX-4090, CPU-x86).
	Class string `json:"class,omitempty" yaml:"class"`
	// MinVRAMGB is the least memory per device, in GB.
	MinVRAMGB float64 `json:"min_vram_gb,omitempty" yaml:"min_vram_gb"`
	// CPUCores is the least CPU cores per worker.
	CPUCores int `json:"cpu_cores,omitempty" yaml:"cpu_cores"`
	// RAMGB is the least host memory per worker, in GB.
	RAMGB float64 `json:"ram_gb,omitempty" yaml:"ram_gb"`
	// MaxRTT is the largest RTT allowed between any two workers ("40ms");
	// 0 means no bound.
	MaxRTT p2p.Duration `json:"max_rtt,omitempty" yaml:"max_rtt"`
	// Regions are the regions or countries workers must be in.
	Regions []string `json:"regions,omitempty" yaml:"regions"`
	// MaxPrice is the most paid per device-hour, USD (default market.default_max_price).
	MaxPrice float64 `json:"max_price,omitempty" yaml:"max_price"`
	// Duration is how long the job may run (default 1h).
	Duration p2p.Duration `json:"duration,omitempty" yaml:"duration"`
	// Executor is wasm (default), docker or process.
	Executor string `json:"executor,omitempty" yaml:"executor"`
	// Workload names what runs: a module's content hash, an image, a
	// command (default "none": a cluster with no workload yet).
	Workload string `json:"workload,omitempty" yaml:"workload"`
	// Urgency is low, normal (default) or high: providers charge more for high.
	Urgency string `json:"urgency,omitempty" yaml:"urgency"`
	// BidWindow is how long bidding stays open at most (default market.bid_window).
	BidWindow p2p.Duration `json:"bid_window,omitempty" yaml:"bid_window"`
	// MinReputation is the least provider reputation accepted (default market.min_reputation).
	MinReputation *float64 `json:"min_reputation,omitempty" yaml:"min_reputation"`
	// Module is a WASI module's path on the requesting node's machine: the
	// wasm executor runs it. Module, Image and Command each name the work;
	// give one, or none for a cluster without work.
	Module string `json:"module,omitempty" yaml:"module"`
	// Image is a container image the docker executor runs: a reference
	// (name@sha256:<digest>, which a provider pulls from a registry it
	// allows, or a name the providers already hold), or the absolute path
	// of an image archive (docker save output) on the requesting node's
	// machine, which travels to the providers with the job and is loaded
	// there: a locally built image runs without a registry.
	Image string `json:"image,omitempty" yaml:"image"`
	// Command is a command the providers allowlisted: the process executor runs it.
	Command string `json:"command,omitempty" yaml:"command"`
	// Args are the program's arguments.
	Args []string `json:"args,omitempty" yaml:"args"`
	// Env is extra environment for the work. Names gpumesh sets
	// (GPUMESH_*), loader, path, interpreter and GPU-selection variables
	// are refused (run.CheckEnv), and a process provider runs only the
	// names it allows.
	Env map[string]string `json:"env,omitempty" yaml:"env"`
	// Inputs are files on the requesting node's machine; every worker sees
	// each as /inputs/<its base name>.
	Inputs []string `json:"inputs,omitempty" yaml:"inputs"`
	// Failover is what happens to the ranks of a provider lost mid-job:
	// restart (default) starts them again from their inputs on the
	// next-best provider and, in a job whose ranks share a job network
	// (a process job of several workers), has every other rank start
	// again too, since a torch.distributed (NCCL, gloo) group is not
	// elastic; replace starts only the lost ranks again, the others go on
	// and see the replacement at the lost ranks' addresses (for elastic
	// engines: torchrun's elastic rendezvous, Ray); none fails the job.
	// Without a job network restart and replace are the same.
	Failover string `json:"failover,omitempty" yaml:"failover"`
	// Audit is the share of ranks, 0 to 1, that the requester runs again
	// itself, in its own wasm executor, to check the outputs a provider
	// returned: any share above 0 audits at least one rank (the count is
	// rounded up), 1 audits every rank; which ranks is drawn at random and
	// kept secret. Only wasm work can be audited. Default
	// market.default_audit for wasm work, else 0.
	Audit *float64 `json:"audit,omitempty" yaml:"audit"`
	// PerDevice runs one process of Command, or one container of Image,
	// per device a worker holds (process and docker executors), as
	// torchrun --nproc-per-node does: each sees only its own device and gets LOCAL_RANK (its index),
	// LOCAL_WORLD_SIZE (the worker's devices), NODE_RANK (the worker's
	// rank) and RANK and WORLD_SIZE counted over every process of the
	// job (NODE_RANK*GPUs + LOCAL_RANK, Workers*GPUs).
	PerDevice bool `json:"per_device,omitempty" yaml:"per_device"`
	// RequesterRTTCost weighs the RTT between this node and each worker
	// against price, for work that moves data in from and results out to
	// the requester: USD per device-hour a worker's ask is taken to rise
	// by per millisecond of RTT to this node (0.01: a provider 50 ms
	// further away must ask 0.50 less per device-hour to win). It only
	// ranks bids; the price paid is the ask. The RTT is this node's own
	// ping in the measured round where there was one, else predicted from
	// network coordinates. 0 (the default) ignores it.
	RequesterRTTCost float64 `json:"requester_rtt_cost,omitempty" yaml:"requester_rtt_cost"`
	// Staked asks for staked providers only: a provider's bid must name
	// its payout wallet with the wallet's proof, and the wallet's stake
	// on the Settlement contract must make it eligible (isEligible: the
	// contract's minimum stake, less pending unstaking). Needs settlement
	// with a chain client on the requesting node.
	Staked bool `json:"staked,omitempty" yaml:"staked"`
}

// maxRequesterRTTCost bounds Spec.RequesterRTTCost: at 1,000 USD per
// device-hour per ms, price no longer matters at all.
const maxRequesterRTTCost = 1000

// Failover policies of a Spec.
const (
	FailoverRestart = "restart"
	FailoverReplace = "replace"
	FailoverNone    = "none"
)

// MaxModuleBytes bounds a job's wasm module, and MaxInputsBytes its inputs together.
const (
	MaxModuleBytes = 64 << 20
	MaxInputsBytes = 256 << 20
)

// runnable reports whether the spec names work to run.
func (s Spec) runnable() bool { return s.Module != "" || s.Image != "" || s.Command != "" }

// workload checks the work the spec names, sets its executor and
// workload reference, and returns the problems.
func (s *Spec) workload() []error {
	var errs []error
	named := 0
	set := func(executor, ref string) {
		named++
		if s.Executor != "" && s.Executor != executor {
			errs = append(errs, fmt.Errorf("the %s executor runs this work, not %s", executor, s.Executor))
		}
		s.Executor, s.Workload = executor, ref
	}
	for _, p := range append([]string{s.Module}, s.Inputs...) { // an image that is a path is absolute by definition
		if p != "" && !filepath.IsAbs(p) {
			errs = append(errs, fmt.Errorf("path %s is relative: the node reads module and inputs by absolute path", p))
		}
	}
	if s.Module != "" {
		digest, err := fileDigest(s.Module, MaxModuleBytes)
		if err != nil {
			errs = append(errs, fmt.Errorf("module: %w", err))
		}
		set("wasm", digest)
	}
	switch {
	case IsImageArchive(s.Image):
		info, err := imageArchive(s.Image)
		if err != nil {
			errs = append(errs, fmt.Errorf("image archive: %w", err))
		}
		set("docker", info.Digest) // the archive's digest, never its path, is published
	case s.Image != "":
		set("docker", s.Image)
	}
	if s.Command != "" {
		set("process", s.Command)
	}
	if s.PerDevice && s.Command == "" && s.Image == "" {
		errs = append(errs, errors.New("per_device runs one process of a command, or one container of an image, per device: it needs command or image (the process or docker executor)"))
	}
	if named > 1 {
		errs = append(errs, errors.New("module, image and command each name the work: give one"))
	}
	if len(s.Inputs) > 0 && !s.runnable() {
		errs = append(errs, errors.New("inputs without work to read them (module, image or command)"))
	}
	if len(s.Env) > 0 && !s.runnable() {
		errs = append(errs, errors.New("env without work to read it (module, image or command)"))
	}
	if err := run.CheckEnv(s.Env); err != nil {
		errs = append(errs, fmt.Errorf("env: %w", err))
	}
	var total int64
	seen := map[string]bool{}
	for _, in := range s.Inputs {
		st, err := os.Stat(in)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("input: %w", err))
			continue
		case !st.Mode().IsRegular():
			errs = append(errs, fmt.Errorf("input %s is not a regular file", in))
		case seen[filepath.Base(in)]:
			errs = append(errs, fmt.Errorf("two inputs named %s", filepath.Base(in)))
		}
		seen[filepath.Base(in)] = true
		total += st.Size()
	}
	if total > MaxInputsBytes {
		errs = append(errs, fmt.Errorf("inputs of %d bytes, at most %d", total, MaxInputsBytes))
	}
	return errs
}

// MaxImageArchiveBytes bounds a job's image archive on the requesting
// side; each provider's executor.docker_max_image_mb bounds what it takes.
const MaxImageArchiveBytes = run.MaxInputBytes

// IsImageArchive reports whether a spec's image names an archive file
// rather than a reference: an absolute path (no image reference starts
// with "/").
func IsImageArchive(image string) bool { return filepath.IsAbs(image) }

// imageArchive checks the image archive at path: a regular file of at
// most MaxImageArchiveBytes that holds one image (executor.CheckArchive),
// read whole once to digest it.
func imageArchive(path string) (executor.ArchiveInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return executor.ArchiveInfo{}, err
	}
	if !st.Mode().IsRegular() {
		return executor.ArchiveInfo{}, fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return executor.ArchiveInfo{}, err
	}
	defer f.Close()
	info, err := executor.CheckArchive(f, MaxImageArchiveBytes)
	if err != nil {
		return info, fmt.Errorf("%s: %w", path, err)
	}
	return info, nil
}

// fileDigest is "sha256:<hex>" of the file at path, refused past limit bytes.
func fileDigest(path string, limit int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, limit+1))
	if err != nil {
		return "", err
	}
	if n > limit {
		return "", fmt.Errorf("%s is over %d bytes", path, limit)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// ParseSpec reads a job file: YAML unless name ends in .json. Unknown
// keys are errors.
func ParseSpec(name string, data []byte) (Spec, error) {
	var s Spec
	if strings.EqualFold(filepath.Ext(name), ".json") {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return s, fmt.Errorf("%w: %s: %w", ErrBadSpec, name, err)
		}
		return s, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("%w: %s: %w", ErrBadSpec, name, err)
	}
	return s, nil
}

// Normalize fills the defaults from cfg and checks the spec by turning it
// into the request it would publish (with placeholder identity fields).
func (s Spec) Normalize(cfg Config) (Spec, error) {
	if s.Workers == 0 {
		s.Workers = 1
	}
	if s.GPUs == nil {
		one := 1
		if s.CPUCores > 0 && s.Pool == "cpu" {
			one = 0
		}
		s.GPUs = &one
	}
	if s.MaxPrice == 0 {
		s.MaxPrice = cfg.DefaultMaxPrice
	}
	if s.Duration == 0 {
		s.Duration = p2p.Duration(time.Hour)
	}
	if errs := s.workload(); len(errs) > 0 {
		return s, fmt.Errorf("%w: %w", ErrBadSpec, errors.Join(errs...))
	}
	if s.Executor == "" {
		s.Executor = "wasm"
	}
	if s.Workload == "" {
		s.Workload = "none"
	}
	if s.Urgency == "" {
		s.Urgency = string(gossip.UrgencyNormal)
	}
	if s.BidWindow == 0 {
		s.BidWindow = cfg.BidWindow
	}
	if s.MinReputation == nil {
		r := cfg.MinReputation
		s.MinReputation = &r
	}
	switch s.Failover {
	case "":
		s.Failover = FailoverRestart
	case FailoverRestart, FailoverReplace, FailoverNone:
	default:
		return s, fmt.Errorf("%w: failover %q is not restart, replace or none", ErrBadSpec, s.Failover)
	}
	if r := *s.MinReputation; !(r >= 0 && r <= 1) {
		return s, fmt.Errorf("%w: min_reputation %v not in [0, 1]", ErrBadSpec, r)
	}
	if c := s.RequesterRTTCost; !(c >= 0 && c <= maxRequesterRTTCost) {
		return s, fmt.Errorf("%w: requester_rtt_cost %v USD per device-hour per ms, want 0 to %v", ErrBadSpec, c, float64(maxRequesterRTTCost))
	}
	if err := s.normalizeAudit(cfg); err != nil {
		return s, fmt.Errorf("%w: %w", ErrBadSpec, err)
	}
	now := time.Now()
	req := s.request("00000000000000000000000000000000", 1, now)
	if err := req.Validate(now, time.Minute); err != nil {
		return s, fmt.Errorf("%w: %w", ErrBadSpec, err)
	}
	return s, nil
}

// normalizeAudit sets the audit share from cfg when the spec names none,
// and checks it: in [0, 1], and above 0 only for wasm work.
func (s *Spec) normalizeAudit(cfg Config) error {
	if s.Audit == nil {
		a := 0.0
		if s.Module != "" {
			a = cfg.DefaultAudit
		}
		s.Audit = &a
	}
	switch a := *s.Audit; {
	case !(a >= 0 && a <= 1):
		return fmt.Errorf("audit %v not in [0, 1]", a)
	case a > 0 && !s.runnable():
		return errors.New("audit without work to audit (module)")
	case a > 0 && s.Module == "":
		return fmt.Errorf("audit: %s work cannot be audited: the requester checks outputs by running a rank again in its own wasm executor, so only wasm work (module) can be", s.Executor)
	}
	return nil
}

// auditShare is the share of ranks audited, 0 when none is set.
func (s Spec) auditShare() float64 {
	if s.Audit == nil {
		return 0
	}
	return *s.Audit
}

// request is the job request s publishes, sent at now.
func (s Spec) request(id string, seq uint64, now time.Time) *gossip.JobRequest {
	gpus := 1
	if s.GPUs != nil {
		gpus = *s.GPUs
	}
	return &gossip.JobRequest{
		ID: id, Seq: seq, Sent: now, BidDeadline: now.Add(time.Duration(s.BidWindow)),
		Workers: s.Workers,
		PerWorker: gossip.Resources{GPUs: gpus, Pool: s.Pool, Class: s.Class, MinVRAMGB: s.MinVRAMGB,
			CPUCores: s.CPUCores, RAMGB: s.RAMGB},
		MaxRTT: time.Duration(s.MaxRTT), Regions: s.Regions, MaxPrice: s.MaxPrice,
		Duration: time.Duration(s.Duration), Executor: s.Executor, Workload: s.Workload,
		Urgency: gossip.Urgency(s.Urgency),
	}
}

// devicesPerWorker is how many devices one worker of req takes.
func devicesPerWorker(req *gossip.JobRequest) int { return max(req.PerWorker.GPUs, 1) }
