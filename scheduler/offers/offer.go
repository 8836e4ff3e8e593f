// Package offers searches the network's capacity: it turns a filter such
// as `gpu_class=A100-80GB num_gpus>=4 price<=1.2 region in [EU,US]` into
// capability-key lookups in the DHT, fetches the matching providers' signed
// capacity records, and returns the offers that pass the filter, sorted.
package offers

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/p2p/coord"
)

// Offer is one provider's devices of one class: what a requester can rent.
// A node with devices of two classes makes two offers.
type Offer struct {
	// Peer is the provider.
	Peer peer.ID `json:"peer"`
	// Class is the device class (A100-80GB, RTX-4090, CPU-x86, ...).
	Class string `json:"gpu_class"`
	// Pool is gpu, apple or cpu.
	Pool string `json:"pool"`
	// Model is the device name the driver reports.
	Model string `json:"model,omitempty"`
	// NumGPUs is how many devices of the class the provider has (0 for a CPU offer).
	NumGPUs int `json:"num_gpus"`
	// FreeGPUs is how many of them are free now.
	FreeGPUs int `json:"free_gpus"`
	// VRAMGB is the memory of one device in whole GB (capacity.GB); 0 for a CPU offer.
	VRAMGB float64 `json:"vram_gb"`
	// Cores is the number of CPU cores (CPU offers).
	Cores int `json:"cores,omitempty"`
	// ComputeCap is the CUDA compute capability (8.0, 9.0), 0 if none.
	ComputeCap float64 `json:"compute_cap,omitempty"`
	// Price is the ask per device-hour in USD.
	Price float64 `json:"price"`
	// Country is the provider's ISO country code, if declared.
	Country string `json:"country,omitempty"`
	// Region is the provider's market region, if declared.
	Region string `json:"region,omitempty"`
	// Executors are the executors the provider runs.
	Executors []string `json:"executors"`
	// Available is whether the provider takes jobs now (its hours).
	Available bool `json:"available"`
	// Attributes are the provider's declared labels.
	Attributes map[string]string `json:"attributes,omitempty"`
	// RTTms is the round trip from the searching node to the provider that
	// the two network coordinates predict; negative when either is unknown.
	RTTms float64 `json:"rtt_ms"`
	// GFLOPS is the best proof-of-compute throughput the provider reports
	// for the class, 0 if none.
	GFLOPS float64 `json:"gflops,omitempty"`
	// Verified says the provider's claim to the class is checked by
	// proof-of-compute: it answers challenges for it (a CPU class, or a GPU
	// class with a proof helper), so a requester under market.verify_class
	// = all challenges it before an award, and one that fails is not
	// awarded. False: the class is the provider's word only.
	Verified bool `json:"verified"`
	// Wallet is the provider's payout wallet, when its record names one
	// with a valid proof (VerifyPayout); empty otherwise.
	Wallet string `json:"wallet,omitempty"`
	// Staked says the searching node checked Wallet on chain and its stake
	// makes it eligible for jobs that ask for staked providers. False
	// without a wallet, or when the node has no settlement chain to ask.
	Staked bool `json:"staked,omitempty"`
	// Coord is the provider's network coordinate, if known.
	Coord *coord.Coordinate `json:"coord,omitempty"`
	// Addrs are the provider's addresses.
	Addrs []string `json:"addrs,omitempty"`
	// Seq and Expires identify the record the offer came from.
	Seq     uint64    `json:"seq"`
	Expires time.Time `json:"expires"`
}

// FromRecord splits a verified capacity record into offers, one per device
// class, in the order the classes first appear. mine is the searching node's
// coordinate (nil if it has none yet), used for RTTms.
func FromRecord(id peer.ID, r *capacity.Record, mine *coord.Coordinate, now time.Time) []Offer {
	var out []Offer
	wallet := ""
	if w, err := VerifyPayout(id, r.Wallet, r.WalletSig); err == nil && w != (common.Address{}) {
		wallet = w.Hex()
	}
	index := map[string]int{}
	for _, d := range r.Devices {
		i, ok := index[d.Class]
		if !ok {
			i = len(out)
			index[d.Class] = i
			o := Offer{
				Peer: id, Class: d.Class, Pool: d.Pool, Model: d.Model,
				VRAMGB:     capacity.GB(d.MemoryMB),
				Price:      r.Prices[d.Class],
				Country:    r.Country,
				Region:     r.Region,
				Executors:  slices.Clone(r.Executors),
				Available:  r.Available(now),
				Attributes: r.Attributes,
				RTTms:      -1,
				Coord:      r.Coord,
				Addrs:      r.Addrs,
				Wallet:     wallet,
				Seq:        r.Seq,
				Expires:    r.Expires,
			}
			if d.Pool == "cpu" {
				o.VRAMGB = 0 // a CPU has no VRAM; vram keys are announced for GPUs only
			}
			o.ComputeCap = parseCC(d.ComputeCapability)
			o.Verified = d.Pool == "cpu" || slices.Contains(r.Provable, d.Class)
			for _, p := range r.Proofs {
				if p.Class == d.Class {
					o.GFLOPS = max(o.GFLOPS, p.GFLOPS)
				}
			}
			if mine != nil && r.Coord != nil {
				o.RTTms = math.Round(float64(coord.EstimateRTT(*mine, *r.Coord))/float64(time.Millisecond)*10) / 10
			}
			out = append(out, o)
		}
		o := &out[i]
		if d.Pool == "cpu" {
			o.Cores += d.Cores
			continue
		}
		o.NumGPUs++
		if d.Free {
			o.FreeGPUs++
		}
	}
	return out
}

// ccRE is a whole compute capability: major.minor, as "8.0" or "12.1".
var ccRE = regexp.MustCompile(`^([0-9]{1,2})\.([0-9])$`)

// parseCC reads "8.0" as 8.0; anything else, including a capability
// followed or preceded by other text, is 0.
func parseCC(s string) float64 {
	m := ccRE.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return float64(major) + float64(minor)/10
}
