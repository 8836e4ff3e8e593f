package capacity

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/p2p/coord"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func newKey(t testing.TB) (crypto.PrivKey, peer.ID) {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(k)
	return k, id
}

func validRecord() *Record {
	return &Record{
		Seq: 7, Issued: t0, Expires: t0.Add(time.Hour), Agent: "gpumesh/test",
		Devices: []Device{
			{Class: "H100-80GB", Pool: "gpu", MemoryMB: 81559, ComputeCapability: "9.0", Free: true},
			{Class: "H100-80GB", Pool: "gpu", MemoryMB: 81559, ComputeCapability: "9.0"},
		},
		Prices:     map[string]float64{"H100-80GB": 2.1},
		Country:    "DE",
		Region:     "EU",
		Executors:  []string{"wasm", "docker"},
		Hours:      []Window{{From: 18 * 60, To: 8 * 60}},
		Attributes: map[string]string{"green": "true"},
		Coord:      &coord.Coordinate{Vec: make([]float64, coord.Dimensions), Height: 0.001},
		Proofs:     []Proof{{Class: "H100-80GB", GFLOPS: 900, N: 2048, At: t0}},
	}
}

func TestValidateRejectsImpossibleRecords(t *testing.T) {
	if err := validRecord().Validate(t0, MaxSkew); err != nil {
		t.Fatalf("valid record: %v", err)
	}
	tests := map[string]func(r *Record){
		"no seq":            func(r *Record) { r.Seq = 0 },
		"no devices":        func(r *Record) { r.Devices = nil },
		"10,000 GPUs":       func(r *Record) { r.Devices = slices.Repeat(r.Devices[:1], 10000) },
		"no VRAM":           func(r *Record) { r.Devices[0].MemoryMB = 0 },
		"2 TiB of VRAM":     func(r *Record) { r.Devices[0].MemoryMB = 2 << 20 },
		"unknown pool":      func(r *Record) { r.Devices[0].Pool = "tpu" },
		"gpu with cores":    func(r *Record) { r.Devices[0].Cores = 8 },
		"cpu without":       func(r *Record) { r.Devices[0].Pool = "cpu" },
		"bad class":         func(r *Record) { r.Devices[0].Class = "H100 80GB; DROP" },
		"unpriced class":    func(r *Record) { r.Prices = map[string]float64{"A100-80GB": 1} },
		"negative price":    func(r *Record) { r.Prices["H100-80GB"] = -1 },
		"absurd price":      func(r *Record) { r.Prices["H100-80GB"] = 1e9 },
		"bad country":       func(r *Record) { r.Country = "Germany" },
		"no executors":      func(r *Record) { r.Executors = nil },
		"bad executor":      func(r *Record) { r.Executors = []string{"rm -rf"} },
		"bad window":        func(r *Record) { r.Hours = []Window{{From: 1500, To: 10}} },
		"empty window":      func(r *Record) { r.Hours = []Window{{From: 10, To: 10}} },
		"bad attribute":     func(r *Record) { r.Attributes = map[string]string{"Green Energy": "yes"} },
		"bad coordinate":    func(r *Record) { r.Coord.Vec = []float64{1} },
		"bad proof":         func(r *Record) { r.Proofs[0].GFLOPS = -1 },
		"lifetime too long": func(r *Record) { r.Expires = r.Issued.Add(MaxTTL + time.Second) },
		"expires first":     func(r *Record) { r.Expires = r.Issued.Add(-time.Second) },
		"too many addrs":    func(r *Record) { r.Addrs = make([]string, MaxAddrs+1) },
	}
	for name, mutate := range tests {
		r := validRecord()
		mutate(r)
		if err := r.Validate(t0, MaxSkew); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate = %v, want ErrInvalid", name, err)
		}
	}
	if err := validRecord().Validate(t0.Add(time.Hour), MaxSkew); !errors.Is(err, ErrExpired) {
		t.Errorf("at expiry: %v, want ErrExpired", err)
	}
	if err := validRecord().Validate(t0.Add(-MaxSkew-time.Second), MaxSkew); !errors.Is(err, ErrExpired) {
		t.Errorf("from the future: %v, want ErrExpired", err)
	}
}

func TestValidatorBindsRecordToItsSigner(t *testing.T) {
	key, id := newKey(t)
	otherKey, other := newKey(t)
	v := Validator{Now: func() time.Time { return t0 }}
	good, err := Seal(validRecord(), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(Key(id), good); err != nil {
		t.Fatalf("own record under own key: %v", err)
	}
	if err := v.Validate(Key(other), good); err == nil {
		t.Error("a record stored under another peer's key was accepted")
	}
	forged, _ := Seal(validRecord(), otherKey)
	if err := v.Validate(Key(id), forged); err == nil || !strings.Contains(err.Error(), "signed by") {
		t.Errorf("forged record: %v, want 'signed by'", err)
	}
	tampered := slices.Clone(good)
	i := strings.Index(string(tampered), "2.1")
	tampered[i] = '0' // the price, inside the signed payload
	if err := v.Validate(Key(id), tampered); err == nil {
		t.Error("tampered record accepted")
	}
	for _, k := range []string{"/capacity/", "/capacity/notapeer", "/pk/" + string(id), Key(id) + "x"} {
		if err := v.Validate(k, good); err == nil {
			t.Errorf("key %q accepted", k)
		}
	}
	if err := v.Validate(Key(id), append(good, make([]byte, MaxSize)...)); err == nil {
		t.Error("oversized record accepted")
	}
	expired := Validator{Now: func() time.Time { return t0.Add(2 * time.Hour) }}
	if err := expired.Validate(Key(id), good); !errors.Is(err, ErrExpired) {
		t.Errorf("expired record: %v", err)
	}
}

func TestSelectKeepsNewestValid(t *testing.T) {
	key, id := newKey(t)
	otherKey, _ := newKey(t)
	v := Validator{Now: func() time.Time { return t0 }}
	at := func(seq uint64, k crypto.PrivKey) []byte {
		r := validRecord()
		r.Seq = seq
		b, err := Seal(r, k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	vals := [][]byte{at(5, key), at(9, key), at(100, otherKey), at(7, key), []byte("junk")}
	if i, err := v.Select(Key(id), vals); err != nil || i != 1 {
		t.Fatalf("Select = %d, %v; want 1 (seq 9; the forged seq 100 does not count)", i, err)
	}
	if _, err := v.Select(Key(id), [][]byte{[]byte("junk")}); err == nil {
		t.Fatal("Select chose among invalid records")
	}
}

func TestKeysAndShards(t *testing.T) {
	r := validRecord()
	keys := Keys(r)
	var names []string
	for _, k := range keys {
		names = append(names, k.String())
	}
	want := []string{"any/all", "pool/gpu", "class/h100-80gb", "vram/8", "vram/16", "vram/24", "vram/40", "vram/48", "vram/80",
		"executor/wasm", "executor/docker", "region/eu", "country/de"}
	if !slices.Equal(names, want) {
		t.Fatalf("Keys = %v\nwant %v", names, want)
	}
	// A search for "vram >= 70" uses the 48 GB bucket, which every 80 GB card announces.
	if k, ok := VRAMKey(70); !ok || k.Value != "48" {
		t.Errorf("VRAMKey(70) = %v %v", k, ok)
	}
	if _, ok := VRAMKey(4); ok {
		t.Error("VRAMKey(4) found a bucket below the smallest")
	}
	// Shards are stable, in range, spread, and distinct keys have distinct CIDs.
	seen := map[int]int{}
	for range 400 {
		_, id := newKey(t)
		s := ShardOf(id, DimAny)
		if s != ShardOf(id, DimAny) || s < 0 || s >= Shards(DimAny) {
			t.Fatalf("ShardOf unstable or out of range: %d", s)
		}
		seen[s]++
	}
	for s := range Shards(DimAny) {
		if seen[s] < 400/Shards(DimAny)/3 {
			t.Errorf("shard %d got %d of 400 providers: not spread", s, seen[s])
		}
	}
	k := CapKey{Dim: DimClass, Value: "H100-80GB"}
	if k.Shard(0).Equals(k.Shard(1)) || k.Shard(0).Equals(CapKey{Dim: DimClass, Value: "A100-80GB"}.Shard(0)) {
		t.Error("distinct shards share a CID")
	}
	if !k.Shard(2).Equals(CapKey{Dim: DimClass, Value: "h100-80gb"}.Shard(2)) {
		t.Error("key values are not case-insensitive")
	}
}

func TestConfigWindowsAndPrices(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate("offer"); err != nil {
		t.Fatal(err)
	}
	c.Hours = []string{"18:00-08:00"}
	berlin := time.FixedZone("CET", 3600)
	w, err := c.Windows(t0, berlin)
	if err != nil || len(w) != 1 || w[0] != (Window{From: 17 * 60, To: 7 * 60}) {
		t.Fatalf("18:00-08:00 CET = %v, %v; want 17:00-07:00 UTC", w, err)
	}
	r := &Record{Hours: w}
	if !r.Available(time.Date(2026, 1, 1, 23, 0, 0, 0, time.UTC)) || r.Available(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)) {
		t.Error("availability across midnight is wrong")
	}
	c.Hours = []string{"00:00-24:00"}
	if w, err := c.Windows(t0, berlin); err != nil || w != nil {
		t.Errorf("all day = %v, %v; want no windows", w, err)
	}
	c.Prices = []string{"A100-80GB=1.2", "gpu=2"}
	if p, _ := c.Price("A100-80GB", "gpu"); p != 1.2 {
		t.Errorf("class price = %v", p)
	}
	if p, _ := c.Price("H100-80GB", "gpu"); p != 2 {
		t.Errorf("pool price = %v", p)
	}
	if _, ok := c.Price("M2-Ultra", "apple"); ok {
		t.Error("a price for a pool that has none")
	}
	for name, mutate := range map[string]func(c *Config){
		"hours":     func(c *Config) { c.Hours = []string{"25:00-08:00"} },
		"trailing":  func(c *Config) { c.Hours = []string{`18:00-08:00"]...`} },
		"leading":   func(c *Config) { c.Hours = []string{"+18:00-08:00"} },
		"3 times":   func(c *Config) { c.Hours = []string{"18:00-08:00-09:00"} },
		"prices":    func(c *Config) { c.Prices = []string{"gpu=-1"} },
		"attrs":     func(c *Config) { c.Attributes = []string{"no-equals-sign"} },
		"country":   func(c *Config) { c.Country = "de" },
		"republish": func(c *Config) { c.Republish = c.TTL },
		"quorum":    func(c *Config) { c.SearchQuorum = 0 },
	} {
		c := DefaultConfig()
		mutate(&c)
		if err := c.Validate("offer"); err == nil || !strings.Contains(err.Error(), "offer.") {
			t.Errorf("%s: Validate = %v, want an error naming the key", name, err)
		}
	}
}

// FuzzVerify: any bytes under any key: never a panic, and whatever verifies
// is signed by the key's peer and valid.
func FuzzVerify(f *testing.F) {
	key, id := newKey(f)
	good, _ := Seal(validRecord(), key)
	f.Add(good, []byte(id))
	f.Add([]byte("{}"), []byte(id))
	f.Add(good[:len(good)/2], []byte("x"))
	f.Fuzz(func(t *testing.T, data, keyID []byte) {
		r, signer, err := Verify("/capacity/"+string(keyID), data, t0)
		if err != nil {
			return
		}
		if string(signer) != string(keyID) || r.Validate(t0, MaxSkew) != nil {
			t.Fatalf("verified a record of %s under %x", signer, keyID)
		}
	})
}
