package capacity

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
)

// A capability key is a DHT provider key that says "I offer this": a
// requester looks up the keys its filter implies (FindProviders), then
// fetches only those providers' capacity records.
//
// How keys are built: the text "gpumesh/cap/1/<dimension>/<value>/<shard>"
// (value lower-cased), hashed with SHA-256 into a raw CIDv1 so that the DHT
// places it uniformly. Dimensions:
//
//	any       every provider (value "all"): "show me everything"
//	pool      gpu, apple, cpu
//	class     the device class (a100-80gb, rtx-4090, cpu-x86, ...)
//	vram      one key per VRAMBuckets threshold at or below the largest
//	          device's memory: "vram >= 40 GB" is one lookup, not one per class
//	executor  wasm, docker, process
//	region    the declared market region
//	country   the declared ISO country code
//
// Why shards: the K (20) DHT servers closest to a key hold all its provider
// records and answer every lookup of it, and an answer holds only as many
// providers as fit in one message. With thousands of providers per key
// ("any", "pool/gpu", "executor/wasm") that is a hot spot and a truncated
// answer. So each key is split into Shards(dimension) shards; a provider
// announces itself under exactly one shard per key, chosen by hashing its
// peer ID (stable across restarts, spread evenly), and a requester queries
// every shard of a key in parallel. Popular dimensions have more shards;
// selective ones (class, country) few, so that a narrow search costs few
// lookups.

// Dimension names of capability keys.
const (
	DimAny      = "any"
	DimPool     = "pool"
	DimClass    = "class"
	DimVRAM     = "vram"
	DimExecutor = "executor"
	DimRegion   = "region"
	DimCountry  = "country"
)

// VRAMBuckets are the thresholds, in GB, of the vram capability keys: the
// memory sizes jobs ask for in practice (consumer cards, 24 GB, the 40/48 GB
// and 80 GB data-center cards, H200 and B200).
var VRAMBuckets = []int{8, 16, 24, 40, 48, 80, 141, 180}

// GB is a device memory size in MiB as the whole GB users filter on:
// rounded, so that an "80 GB" H100 reporting 81559 MiB is 80, not 79.6.
// Capability keys and offers use this one rule, so "vram >= 80" finds
// exactly the devices it matches.
func GB(mb uint64) float64 { return math.Round(float64(mb) / 1024) }

// shards is the number of shards per dimension.
var shards = map[string]int{
	DimAny: 16, DimPool: 8, DimClass: 4, DimVRAM: 8, DimExecutor: 8, DimRegion: 4, DimCountry: 2,
}

// Shards is the number of shards a dimension's keys are split into.
func Shards(dim string) int { return max(shards[dim], 1) }

// CapKey is one capability: a dimension and a value.
type CapKey struct {
	Dim   string `json:"dim"`
	Value string `json:"value"`
}

// String is the key's text without the shard.
func (k CapKey) String() string { return k.Dim + "/" + strings.ToLower(k.Value) }

// Shard is the CID of shard i of the key.
func (k CapKey) Shard(i int) cid.Cid {
	text := fmt.Sprintf("gpumesh/cap/1/%s/%d", k, i)
	sum := sha256.Sum256([]byte(text))
	h, err := mh.Encode(sum[:], mh.SHA2_256)
	if err != nil { // only for an unknown code, never for SHA2_256
		panic(err)
	}
	return cid.NewCidV1(cid.Raw, h)
}

// ShardOf is the shard a provider announces itself under for a dimension.
func ShardOf(id peer.ID, dim string) int {
	sum := sha256.Sum256([]byte(dim + "\x00" + string(id)))
	return int(binary.BigEndian.Uint32(sum[:4]) % uint32(Shards(dim)))
}

// Keys lists the capabilities a record announces, without duplicates, in a
// stable order.
func Keys(r *Record) []CapKey {
	var keys []CapKey
	add := func(dim, value string) {
		if value == "" {
			return
		}
		k := CapKey{Dim: dim, Value: strings.ToLower(value)}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	add(DimAny, "all")
	var maxMB uint64
	for _, d := range r.Devices {
		add(DimPool, d.Pool)
		add(DimClass, d.Class)
		if d.Pool != "cpu" {
			maxMB = max(maxMB, d.MemoryMB)
		}
	}
	for _, b := range VRAMBuckets {
		if GB(maxMB) >= float64(b) {
			add(DimVRAM, fmt.Sprint(b))
		}
	}
	for _, e := range r.Executors {
		add(DimExecutor, e)
	}
	add(DimRegion, r.Region)
	add(DimCountry, r.Country)
	return keys
}

// VRAMKey is the vram key that finds every provider with at least gb GB on
// one device: the largest bucket at or below gb; ok is false below the
// smallest bucket (every GPU qualifies: search by pool instead).
func VRAMKey(gb float64) (CapKey, bool) {
	var best int
	for _, b := range VRAMBuckets {
		if float64(b) <= gb {
			best = b
		}
	}
	if best == 0 {
		return CapKey{}, false
	}
	return CapKey{Dim: DimVRAM, Value: fmt.Sprint(best)}, true
}
