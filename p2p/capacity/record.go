// Package capacity is how providers advertise what they offer and how
// requesters find it without asking every peer: a signed capacity record per
// provider, stored in the Kademlia DHT under the provider's peer ID, and
// provider records under capability keys (device class, VRAM bucket,
// executor, region, ...) that lead a requester to candidates. The record is
// a libp2p signed envelope with its own domain; the DHT validator accepts a
// record only under the key of the peer that signed it and keeps the newest
// sequence number, so no provider can overwrite another's record or replay
// an old one.
package capacity

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/gpumesh/gpumesh/p2p/coord"
)

// Domain is the signature domain of capacity records: a signature over
// one can never pass as any other gpumesh message.
const Domain = "gpumesh-capacity-record"

// codec is the envelope payload type, versioned.
var codec = []byte("/gpumesh/capacity-record/1")

// Limits on a record, so that nobody can store a huge or absurd one.
const (
	// MaxSize is the largest signed record, in bytes.
	MaxSize = 16 << 10
	// MaxTTL is the longest a record may live; providers republish well before.
	MaxTTL = 24 * time.Hour
	// MaxDevices is the most devices one node may list: more than any real
	// server (a DGX or HGX has 8, the largest single nodes 16).
	MaxDevices = 64
	// MaxMemoryMB is the most memory one device may claim (1 TiB).
	MaxMemoryMB = 1 << 20
	// MaxCores is the most CPU cores one node may claim.
	MaxCores = 4096
	// MaxPrice is the highest ask per device-hour, in USD.
	MaxPrice = 1000.0
	// MaxAttributes is the most provider-declared attributes.
	MaxAttributes = 16
	// MaxAddrs is the most addresses a record carries.
	MaxAddrs = 8
	// MaxProvable is the most provable classes a record lists.
	MaxProvable = 16
)

// ErrInvalid is wrapped by every content error of Validate.
var ErrInvalid = errors.New("invalid capacity record")

// ErrExpired is wrapped by Validate when the record is past its expiry or
// dated in the future.
var ErrExpired = errors.New("capacity record expired or from the future")

// Device is one device on offer.
type Device struct {
	// Class is the device class from the gpu package (A100-80GB, RTX-4090, CPU-x86, ...).
	Class string `json:"class"`
	// Pool is gpu, apple or cpu.
	Pool string `json:"pool"`
	// Model is the name the driver reports.
	Model string `json:"model,omitempty"`
	// MemoryMB is the device's memory (VRAM; unified memory on Apple; RAM for a CPU).
	MemoryMB uint64 `json:"memory_mb"`
	// Cores is the number of CPU cores (CPU devices only).
	Cores int `json:"cores,omitempty"`
	// ComputeCapability is the CUDA compute capability (NVIDIA only).
	ComputeCapability string `json:"compute_capability,omitempty"`
	// Free is whether the device is free for a new job now.
	Free bool `json:"free"`
}

// Window is a daily availability window in UTC, in minutes after midnight;
// From > To wraps around midnight.
type Window struct {
	From uint16 `json:"from"`
	To   uint16 `json:"to"`
}

// Contains reports whether the window contains the UTC time of t.
func (w Window) Contains(t time.Time) bool {
	t = t.UTC()
	m := uint16(t.Hour()*60 + t.Minute())
	if w.From <= w.To {
		return m >= w.From && m < w.To
	}
	return m >= w.From || m < w.To
}

// Proof is a proof-of-compute result the provider reports about itself.
type Proof struct {
	// Class is the device class the measured throughput supports.
	Class string `json:"class"`
	// GFLOPS is the measured throughput.
	GFLOPS float64 `json:"gflops"`
	// N is the matrix size of the challenge.
	N int `json:"n"`
	// At is when it was measured.
	At time.Time `json:"at"`
	// By is the verifier's peer ID; empty for the provider's own self-test.
	By string `json:"by,omitempty"`
	// Verdict is the verifier's verdict (pass, slow, wrong), empty for a self-test.
	Verdict string `json:"verdict,omitempty"`
}

// Record is what a provider offers, signed by it.
type Record struct {
	// Seq increases with every new version of the record; the DHT keeps
	// the highest.
	Seq uint64 `json:"seq"`
	// Issued is when the record was made.
	Issued time.Time `json:"issued"`
	// Expires is when the record stops counting; at most MaxTTL after Issued.
	Expires time.Time `json:"expires"`
	// Agent is the provider's software and version.
	Agent string `json:"agent,omitempty"`
	// Addrs are the provider's public addresses (multiaddrs), so a requester
	// can dial it without another lookup.
	Addrs []string `json:"addrs,omitempty"`
	// Devices are the devices on offer.
	Devices []Device `json:"devices"`
	// Prices is the ask per device-hour in USD, by device class.
	Prices map[string]float64 `json:"prices"`
	// Country is the provider's ISO 3166 alpha-2 country code, if declared.
	Country string `json:"country,omitempty"`
	// Region is a coarse market region (EU, NA, SA, AS, AF, OC, or a
	// provider's own label), if declared.
	Region string `json:"region,omitempty"`
	// Executors are the executors the provider runs (wasm, docker, process).
	Executors []string `json:"executors"`
	// Hours are the daily windows in which the provider takes jobs; none
	// means always.
	Hours []Window `json:"hours,omitempty"`
	// Attributes are provider-declared labels (green=true, tier=soc2).
	Attributes map[string]string `json:"attributes,omitempty"`
	// Coord is the provider's network coordinate, if it has one yet.
	Coord *coord.Coordinate `json:"coord,omitempty"`
	// Proofs are the provider's latest proof-of-compute results.
	Proofs []Proof `json:"proofs,omitempty"`
	// Provable are the device classes of Devices whose claims the provider
	// answers proof-of-compute challenges for: its CPU classes (every node
	// answers version 1), and its GPU classes when it runs a proof helper
	// (version 2). A class not listed is advertised unverified. Records from
	// before the field list none; their CPU classes are provable anyway.
	Provable []string `json:"provable,omitempty"`
	// Wallet, optional, is the provider's payout wallet (0x address), and
	// WalletSig its proof that the provider holds the wallet's key
	// (scheduler/offers VerifyPayout): what `gpumesh offers --staked`
	// checks on chain. Records before the fields name none.
	Wallet    string `json:"wallet,omitempty"`
	WalletSig string `json:"wallet_sig,omitempty"`
}

// Domain implements record.Record.
func (*Record) Domain() string { return Domain }

// Codec implements record.Record.
func (*Record) Codec() []byte { return codec }

// MarshalRecord implements record.Record.
func (r *Record) MarshalRecord() ([]byte, error) { return json.Marshal(r) }

// UnmarshalRecord implements record.Record.
func (r *Record) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, r) }

var (
	namePattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,47}$`)
	labelPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	countryRE    = regexp.MustCompile(`^[A-Z]{2}$`)
	pools        = map[string]bool{"gpu": true, "apple": true, "cpu": true}
)

// Validate returns every problem with the record at time now, with maxSkew
// the tolerated clock difference. Time errors wrap ErrExpired, the rest
// ErrInvalid.
func (r *Record) Validate(now time.Time, maxSkew time.Duration) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	if r.Seq == 0 {
		bad("seq must be positive")
	}
	if life := r.Expires.Sub(r.Issued); life <= 0 || life > MaxTTL {
		bad("lifetime %s not in (0, %s]", life, MaxTTL)
	}
	if len(r.Agent) > 128 {
		bad("agent is %d bytes, at most 128", len(r.Agent))
	}
	if len(r.Addrs) > MaxAddrs {
		bad("%d addresses, at most %d", len(r.Addrs), MaxAddrs)
	}
	for _, a := range r.Addrs {
		if len(a) > 256 {
			bad("address of %d bytes", len(a))
		}
	}
	if len(r.Devices) == 0 || len(r.Devices) > MaxDevices {
		bad("%d devices, want 1 to %d", len(r.Devices), MaxDevices)
	}
	for i, d := range r.Devices {
		if !namePattern.MatchString(d.Class) {
			bad("device %d: class %q", i, d.Class)
		}
		if !pools[d.Pool] {
			bad("device %d: pool %q (gpu, apple or cpu)", i, d.Pool)
		}
		if len(d.Model) > 128 || len(d.ComputeCapability) > 16 {
			bad("device %d: model or compute capability too long", i)
		}
		if d.MemoryMB == 0 || d.MemoryMB > MaxMemoryMB {
			bad("device %d: memory %d MB not in (0, %d]", i, d.MemoryMB, MaxMemoryMB)
		}
		if d.Cores < 0 || d.Cores > MaxCores || (d.Pool == "cpu") != (d.Cores > 0) {
			bad("device %d: %d cores (a CPU device has 1 to %d, others none)", i, d.Cores, MaxCores)
		}
		if _, ok := r.Prices[d.Class]; !ok {
			bad("device %d: no price for class %s", i, d.Class)
		}
	}
	if len(r.Prices) > MaxDevices {
		bad("%d prices", len(r.Prices))
	}
	for class, p := range r.Prices {
		if !namePattern.MatchString(class) {
			bad("price for class %q", class)
		}
		if math.IsNaN(p) || p <= 0 || p > MaxPrice {
			bad("price %v for %s not in (0, %v]", p, class, MaxPrice)
		}
	}
	if r.Country != "" && !countryRE.MatchString(r.Country) {
		bad("country %q is not an ISO 3166 alpha-2 code", r.Country)
	}
	if r.Region != "" && !namePattern.MatchString(r.Region) {
		bad("region %q", r.Region)
	}
	if len(r.Executors) == 0 || len(r.Executors) > 8 {
		bad("%d executors, want 1 to 8", len(r.Executors))
	}
	for _, e := range r.Executors {
		if !labelPattern.MatchString(e) {
			bad("executor %q", e)
		}
	}
	if len(r.Hours) > 8 {
		bad("%d availability windows, at most 8", len(r.Hours))
	}
	for _, w := range r.Hours {
		if w.From >= 24*60 || w.To > 24*60 || w.From == w.To {
			bad("availability window %d-%d", w.From, w.To)
		}
	}
	if len(r.Attributes) > MaxAttributes {
		bad("%d attributes, at most %d", len(r.Attributes), MaxAttributes)
	}
	for k, v := range r.Attributes {
		if !labelPattern.MatchString(k) || len(v) > 64 {
			bad("attribute %q", k)
		}
	}
	if r.Coord != nil {
		if err := r.Coord.Validate(); err != nil {
			bad("coordinate: %v", err)
		}
	}
	if len(r.Provable) > MaxProvable {
		bad("%d provable classes, at most %d", len(r.Provable), MaxProvable)
	}
	for _, c := range r.Provable {
		if !namePattern.MatchString(c) {
			bad("provable class %q", c)
		}
	}
	if err := ValidPayout(r.Wallet, r.WalletSig); err != nil {
		bad("%v", err)
	}
	if len(r.Proofs) > 8 {
		bad("%d proofs, at most 8", len(r.Proofs))
	}
	for i, p := range r.Proofs {
		if !namePattern.MatchString(p.Class) || math.IsNaN(p.GFLOPS) || p.GFLOPS < 0 || p.GFLOPS > 1e7 || p.N < 0 || p.N > 1<<16 || len(p.By) > 128 || len(p.Verdict) > 16 {
			bad("proof %d", i)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if r.Issued.After(now.Add(maxSkew)) {
		return fmt.Errorf("%w: issued %s ahead of our clock", ErrExpired, r.Issued.Sub(now))
	}
	if !now.Before(r.Expires) {
		return fmt.Errorf("%w: expired %s ago", ErrExpired, now.Sub(r.Expires))
	}
	return nil
}

// GPUs is the number of devices in the gpu and apple pools.
func (r *Record) GPUs() int {
	n := 0
	for _, d := range r.Devices {
		if d.Pool != "cpu" {
			n++
		}
	}
	return n
}

// Available reports whether t falls in one of the record's windows (always
// true without windows).
func (r *Record) Available(t time.Time) bool {
	if len(r.Hours) == 0 {
		return true
	}
	for _, w := range r.Hours {
		if w.Contains(t) {
			return true
		}
	}
	return false
}
