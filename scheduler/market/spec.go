package market

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p"
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
	if r := *s.MinReputation; !(r >= 0 && r <= 1) {
		return s, fmt.Errorf("%w: min_reputation %v not in [0, 1]", ErrBadSpec, r)
	}
	now := time.Now()
	req := s.request("00000000000000000000000000000000", 1, now)
	if err := req.Validate(now, time.Minute); err != nil {
		return s, fmt.Errorf("%w: %w", ErrBadSpec, err)
	}
	return s, nil
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
