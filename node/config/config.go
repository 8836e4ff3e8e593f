// Package config is a node's configuration: typed settings with documented
// defaults, named profiles applied as transforms, loading from a TOML file
// (unknown keys are errors), validation that names every bad key, and a
// crash-safe save that writes each key's documentation beside it.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/gpu"
	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/node/datadir"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// FileName is the config file's name inside the data dir.
const FileName = "config.toml"

// Config is everything a node can be told, one table per package.
type Config struct {
	// Profile names the profile applied before the file's own values.
	Profile string `toml:"profile" comment:"home | datacenter | bootstrap | test: the defaults this file starts from"`
	// Headless means no browser and JSON logs.
	Headless bool `toml:"headless" comment:"never open a browser; log JSON lines"`
	// Network names the network the node joins (p2p.Networks).
	Network string `toml:"network" comment:"the network to join: main (the public network) or local (LAN and explicit peers only)"`
	// P2P configures the libp2p host, DHT and discovery.
	P2P p2p.Config `toml:"p2p"`
	// Gossip configures GossipSub.
	Gossip gossip.Config `toml:"gossip"`
	// GPU configures hardware telemetry and proof-of-compute.
	GPU GPU `toml:"gpu"`
	// Proof configures the proof-of-compute helper for GPU classes.
	Proof Proof `toml:"proof"`
	// Offer says what this node offers and how it is advertised.
	Offer capacity.Config `toml:"offer"`
	// Market configures job requests, bids and awards.
	Market market.Config `toml:"market"`
	// Executor says which executors run strangers' work, and their caps.
	Executor executor.Config `toml:"executor"`
	// Anchor says where the ledger's checkpoints are anchored.
	Anchor anchor.Config `toml:"anchor"`
	// Settlement says which contract and token pay for receipts, on the anchor chain.
	Settlement settle.Config `toml:"settlement"`
	// API configures the local HTTP API.
	API API `toml:"api"`
	// Log configures logging.
	Log Log `toml:"log"`
}

// GPU is the [gpu] table.
type GPU struct {
	// SampleInterval is how often telemetry is read, and how often the
	// devices a job holds are read for its GPU accounting.
	SampleInterval p2p.Duration `toml:"sample_interval" comment:"how often GPU telemetry (temperature, power, utilisation) is read, and a job's GPUs for its accounting (busy time, peak memory); NVML's utilisation covers its last sample period (1/6 s to 1 s), so a shorter interval follows bursty work more closely"`
	// History is how much telemetry is kept for the dashboard.
	History p2p.Duration `toml:"history" comment:"how much telemetry history is kept in memory"`
	// ProofTolerance is the fraction of its class's expected throughput a
	// prover must reach to pass a proof-of-compute challenge.
	ProofTolerance float64 `toml:"proof_tolerance" comment:"fraction of the claimed class's expected throughput a challenged prover must reach"`
	// ChallengeMaxN is the largest matrix this node agrees to multiply for a challenger.
	ChallengeMaxN int `toml:"challenge_max_n" comment:"largest matrix size this node accepts in a proof-of-compute challenge"`
	// ChallengeMinInterval is how often one peer may challenge this node.
	ChallengeMinInterval p2p.Duration `toml:"challenge_min_interval" comment:"least time between two challenges from the same peer"`
}

// API is the [api] table.
type API struct {
	// Listen is the HOST:PORT of the local API; port 0 picks a free one.
	Listen string `toml:"listen" comment:"HOST:PORT of the local HTTP API; loopback only; port 0 = any free port"`
}

// Log is the [log] table.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `toml:"level" comment:"debug | info | warn | error"`
	// Format is text (for a person) or json (for machines); headless forces json.
	Format string `toml:"format" comment:"text | json (headless always logs json)"`
	// Libp2pLevel is the level below which libp2p's own logs are dropped.
	Libp2pLevel string `toml:"libp2p_level" comment:"level of libp2p's own logs, routed through the same handler"`
}

// Profiles lists the profile names, in the order the docs show them.
var Profiles = []string{"home", "datacenter", "test", "bootstrap"}

// Default returns the home profile: what a double-clicked binary runs with.
func Default() Config {
	return Config{
		Profile:    "home",
		Network:    p2p.MainNetwork,
		P2P:        p2p.DefaultConfig(),
		Gossip:     gossip.DefaultConfig(),
		Offer:      capacity.DefaultConfig(),
		Market:     market.DefaultConfig(),
		Executor:   executor.DefaultConfig(),
		Anchor:     anchor.DefaultConfig(),
		Settlement: settle.DefaultConfig(),
		Proof:      DefaultProof(),
		GPU: GPU{
			SampleInterval:       p2p.Duration(2 * time.Second),
			History:              p2p.Duration(10 * time.Minute),
			ProofTolerance:       0.5,
			ChallengeMaxN:        2048,
			ChallengeMinInterval: p2p.Duration(time.Minute),
		},
		API: API{Listen: "127.0.0.1:7780"},
		Log: Log{Level: "info", Format: "text", Libp2pLevel: "warn"},
	}
}

// ForProfile returns the defaults with the named profile applied.
func ForProfile(name string) (Config, error) {
	c := Default()
	err := c.ApplyProfile(name)
	return c, err
}

// ApplyProfile transforms c into the named profile:
//   - home: the defaults (mDNS, NAT port mapping, DHT mode auto, text logs).
//   - datacenter: headless with JSON logs, no mDNS or port mapping (racks have
//     public addresses), always a DHT server and a relay for peers behind NAT,
//     more connections.
//   - bootstrap: a public node others join through: headless with JSON
//     logs, no mDNS or port mapping, a DHT server and a relay that are
//     public from the start (no wait for AutoNAT), offers nothing, and has
//     room for many connections.
//   - test: loopback only on free ports, no mDNS or port mapping, DHT server
//     (loopback peers never look public), small resource limits so many nodes
//     fit in one process, heartbeats every second, no prover timing (no
//     self-test, no class check before awards).
func (c *Config) ApplyProfile(name string) error {
	switch name {
	case "home":
	case "datacenter":
		c.Headless = true
		c.Log.Format = "json"
		c.P2P.MDNS = false
		c.P2P.NATPortMap = false
		c.P2P.RelayService = true
		c.P2P.DHTMode = p2p.DHTModeServer
		c.P2P.ConnLow, c.P2P.ConnHigh = 256, 1024
	case "bootstrap":
		c.Headless = true
		c.Log.Format = "json"
		c.P2P.MDNS = false
		c.P2P.NATPortMap = false
		c.P2P.RelayService = true
		c.P2P.Public = true
		c.P2P.DHTMode = p2p.DHTModeServer
		c.P2P.ConnLow, c.P2P.ConnHigh = 512, 2048
		c.Offer.Enabled = false
	case "test":
		c.Headless = true
		c.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
		c.P2P.MDNS = false
		c.P2P.NATPortMap = false
		c.P2P.DHTMode = p2p.DHTModeServer
		c.P2P.MaxMemoryMB = 128
		c.P2P.MaxFDs = 512
		c.P2P.ConnLow, c.P2P.ConnHigh = 32, 96
		c.P2P.BootstrapTimeout = p2p.Duration(5e9)
		c.Gossip.HeartbeatInterval = p2p.Duration(1e9)
		c.GPU.SampleInterval = p2p.Duration(time.Second)
		c.GPU.ChallengeMaxN = 512
		c.GPU.ChallengeMinInterval = 0
		c.API.Listen = "127.0.0.1:0"
		c.Offer.SelfTest = false // dozens of nodes share two cores in tests
		// Timing a prover is meaningless on two loaded cores: an honest
		// provider fails as often as a liar. Tests of the check turn it on.
		c.Market.VerifyClass = market.VerifyOff
		c.Offer.SearchTimeout = p2p.Duration(5 * time.Second)
	default:
		return fmt.Errorf("profile: %q is not one of %s", name, strings.Join(Profiles, ", "))
	}
	c.Profile = name
	return nil
}

// Load reads the config file at path on top of its profile's defaults.
// profile, when not empty, overrides the file's own profile key. A missing
// file is not an error: the result is the profile's defaults and exists=false.
func Load(path, profile string) (c Config, exists bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if profile == "" {
			profile = "home"
		}
		c, err = ForProfile(profile)
		return c, false, err
	}
	if err != nil {
		return Config{}, false, fmt.Errorf("read config: %w", err)
	}
	if profile == "" {
		var head struct {
			Profile string `toml:"profile"`
		}
		if err := toml.Unmarshal(data, &head); err != nil {
			return Config{}, true, decodeError(path, err)
		}
		profile = head.Profile
		if profile == "" {
			profile = "home"
		}
	}
	c, err = ForProfile(profile)
	if err != nil {
		return Config{}, true, fmt.Errorf("config %s: %w", path, err)
	}
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, true, decodeError(path, err)
	}
	c.Profile = profile
	if err := c.Validate(); err != nil {
		return Config{}, true, fmt.Errorf("config %s: %w", path, err)
	}
	return c, true, nil
}

// decodeError turns go-toml's errors into one that names the file, the keys and the lines.
func decodeError(path string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var keys []string
		for _, e := range strict.Errors {
			row, _ := e.Position()
			keys = append(keys, fmt.Sprintf("%s (line %d)", strings.Join(e.Key(), "."), row))
		}
		return fmt.Errorf("config %s: unknown key %s", path, strings.Join(keys, ", "))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		key := strings.Join(de.Key(), ".")
		if key != "" {
			return fmt.Errorf("config %s: %s (line %d, column %d): %s", path, key, row, col, de.Error())
		}
		return fmt.Errorf("config %s: line %d, column %d: %s", path, row, col, de.Error())
	}
	return fmt.Errorf("config %s: %w", path, err)
}

// Validate returns every problem with c, each naming its key.
func (c Config) Validate() error {
	var errs []error
	if !slices.Contains(Profiles, c.Profile) {
		errs = append(errs, fmt.Errorf("profile: %q is not one of %s", c.Profile, strings.Join(Profiles, ", ")))
	}
	if _, err := p2p.LookupNetwork(c.Network); err != nil {
		errs = append(errs, fmt.Errorf("network: %w", err))
	}
	errs = append(errs, c.P2P.Validate("p2p"), c.Gossip.Validate("gossip"), c.Offer.Validate("offer"), c.Market.Validate("market"), c.Executor.Validate("executor"), c.Anchor.Validate("anchor"), c.Settlement.Validate("settlement"))
	errs = append(errs, c.GPU.validate(), c.Proof.validate())
	if err := validateAPIListen(c.API.Listen); err != nil {
		errs = append(errs, fmt.Errorf("api.listen: %w", err))
	}
	for key, v := range map[string]string{"log.level": c.Log.Level, "log.libp2p_level": c.Log.Libp2pLevel} {
		if !slices.Contains([]string{"debug", "info", "warn", "error"}, v) {
			errs = append(errs, fmt.Errorf("%s: %q is not one of debug, info, warn, error", key, v))
		}
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		errs = append(errs, fmt.Errorf("log.format: %q is not one of text, json", c.Log.Format))
	}
	return errors.Join(errs...)
}

func (g GPU) validate() error {
	var errs []error
	if g.SampleInterval < p2p.Duration(100*time.Millisecond) {
		errs = append(errs, fmt.Errorf("gpu.sample_interval: must be at least 100ms, got %s", time.Duration(g.SampleInterval)))
	}
	if g.History < g.SampleInterval {
		errs = append(errs, fmt.Errorf("gpu.history: must be at least gpu.sample_interval"))
	} else if g.SampleInterval > 0 && int64(g.History/g.SampleInterval) > gpu.MaxHistory {
		errs = append(errs, fmt.Errorf("gpu.history: %s at one reading every %s is more than %d readings per device",
			time.Duration(g.History), time.Duration(g.SampleInterval), gpu.MaxHistory))
	}
	if !(g.ProofTolerance > 0 && g.ProofTolerance <= 1) { // NaN too
		errs = append(errs, fmt.Errorf("gpu.proof_tolerance: must be in (0, 1], got %g", g.ProofTolerance))
	}
	if g.ChallengeMaxN < 64 || g.ChallengeMaxN > 8192 {
		errs = append(errs, fmt.Errorf("gpu.challenge_max_n: must be between 64 and 8192, got %d", g.ChallengeMaxN))
	}
	if g.ChallengeMinInterval < 0 {
		errs = append(errs, fmt.Errorf("gpu.challenge_min_interval: must not be negative"))
	}
	return errors.Join(errs...)
}

// validateAPIListen accepts HOST:PORT where HOST is a loopback address or
// localhost: the API controls the node and must not face the network.
func validateAPIListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT: %v", s, err)
	}
	if host != "localhost" {
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("host %q is not a loopback address (the API must stay on this machine)", host)
		}
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// Marshal renders c as TOML with each key's documentation as a comment.
func (c Config) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# gpumesh node configuration. Every key is shown with its value;\n# delete a key to take the profile's default.\n\n")
	enc := toml.NewEncoder(&buf)
	enc.SetIndentTables(true)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Save writes c to path atomically, readable only by its owner.
func (c Config) Save(path string) error {
	data, err := c.Marshal()
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := datadir.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// Template renders the file a node writes on first start: the profile key
// set, and every other key present but commented out at its default, so the
// file documents itself and the profile keeps deciding what the user has
// not changed.
func Template(profile string) ([]byte, error) {
	c, err := ForProfile(profile)
	if err != nil {
		return nil, err
	}
	data, err := c.Marshal()
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteString("# gpumesh node configuration. Uncomment a key to change it; a commented\n# key takes the profile's default (shown).\n\n")
	lines := strings.Split(string(data), "\n")
	for _, l := range lines[3:] { // skip Marshal's own header
		t := strings.TrimSpace(l)
		switch {
		case t == "", strings.HasPrefix(t, "#"), strings.HasPrefix(t, "["), strings.HasPrefix(t, "profile ="):
			out.WriteString(l)
		default:
			out.WriteString(strings.Replace(l, t, "# "+t, 1))
		}
		out.WriteByte('\n')
	}
	return bytes.TrimRight(out.Bytes(), "\n"), nil
}
