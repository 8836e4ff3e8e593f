package p2p

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// DHT modes accepted by Config.DHTMode.
const (
	// DHTModeAuto serves the DHT once AutoNAT finds the node publicly reachable
	// and acts as a client otherwise.
	DHTModeAuto = "auto"
	// DHTModeServer always answers DHT queries (data centers, tests on loopback).
	DHTModeServer = "server"
	// DHTModeClient never answers DHT queries.
	DHTModeClient = "client"
)

// ProtocolPrefix is the Kademlia protocol prefix of the main network's DHT
// (other networks have their own, NetworkDef.DHTPrefix). It keeps gpumesh
// peers out of the public IPFS DHT and lets us register our own namespaced
// record validators.
const ProtocolPrefix = "/gpumesh"

// Config holds the network settings of a node: the [p2p] table of the config file.
type Config struct {
	// Listen lists the multiaddrs the host listens on.
	Listen []string `toml:"listen" comment:"multiaddrs to listen on (TCP and QUIC by default)"`
	// Bootstrap lists full multiaddrs (with /p2p/<peer id>) or /dnsaddr/
	// names dialled at start, besides the network's own bootstrap peers.
	Bootstrap []string `toml:"bootstrap" comment:"extra bootstrap peers, besides the network's own: full multiaddrs ending in /p2p/<peer id>, or /dnsaddr/ names"`
	// MDNS turns LAN discovery on.
	MDNS bool `toml:"mdns" comment:"discover peers on the local network with mDNS"`
	// NATPortMap asks the home router for a port mapping (UPnP, NAT-PMP).
	NATPortMap bool `toml:"nat_port_map" comment:"ask the router for a port mapping (UPnP / NAT-PMP)"`
	// RelayService lets this node relay traffic for peers behind NAT.
	RelayService bool `toml:"relay_service" comment:"serve as a circuit relay for peers behind NAT (public nodes only)"`
	// Public declares the node publicly reachable: it skips AutoNAT's
	// verdict, serves the DHT in auto mode and relays for peers behind NAT
	// from the start (the relay service is implied).
	Public bool `toml:"public" comment:"this node is publicly reachable (bootstrap or relay node): relay and serve the DHT from the start, without waiting for AutoNAT"`
	// DHTMode is one of auto, server, client.
	DHTMode string `toml:"dht_mode" comment:"auto (server once publicly reachable), server or client"`
	// ConnLow and ConnHigh are the connection manager's watermarks.
	ConnLow int `toml:"conn_low" comment:"connection manager low watermark: trimming stops here"`
	// ConnHigh is the connection count above which the manager trims.
	ConnHigh int `toml:"conn_high" comment:"connection manager high watermark: trimming starts above this"`
	// MaxMemoryMB caps the memory the resource manager lets libp2p use; 0 scales with RAM.
	MaxMemoryMB int `toml:"max_memory_mb" comment:"resource manager memory limit in MiB; 0 = scale with system memory (RAM/8)"`
	// MaxFDs caps the file descriptors libp2p may use; 0 = half the process limit.
	MaxFDs int `toml:"max_fds" comment:"resource manager file descriptor limit; 0 = half of the process limit"`
	// BootstrapTimeout bounds the initial dials to bootstrap peers.
	BootstrapTimeout Duration `toml:"bootstrap_timeout" comment:"how long the initial bootstrap dials may take"`
	// ProbeInterval is how often the node pings a few peers to update its
	// network coordinate.
	ProbeInterval Duration `toml:"probe_interval" comment:"how often to ping a few peers to keep the network coordinate current"`
	// ProbePeers is how many peers each probe round pings.
	ProbePeers int `toml:"probe_peers" comment:"how many peers each probe round pings"`
}

// Duration is a time.Duration that reads and writes as text ("30s") in config files.
type Duration time.Duration

// MarshalText writes the duration as Go duration text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText parses Go duration text such as "500ms" or "1m".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// DefaultConfig returns the settings of a home node: TCP and QUIC on every
// interface on the default port, mDNS and NAT port mapping on, DHT mode auto.
func DefaultConfig() Config {
	return Config{
		Listen: []string{
			"/ip4/0.0.0.0/tcp/4101",
			"/ip4/0.0.0.0/udp/4101/quic-v1",
			"/ip6/::/tcp/4101",
			"/ip6/::/udp/4101/quic-v1",
		},
		MDNS:             true,
		NATPortMap:       true,
		DHTMode:          DHTModeAuto,
		ConnLow:          64,
		ConnHigh:         192,
		BootstrapTimeout: Duration(15 * time.Second),
		ProbeInterval:    Duration(10 * time.Second),
		ProbePeers:       3,
	}
}

// Validate returns every problem with c, each naming its config key under prefix.
func (c Config) Validate(prefix string) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, args...)))
	}
	if len(c.Listen) == 0 {
		bad("listen", "at least one listen address is required")
	}
	for _, s := range c.Listen {
		if _, err := ma.NewMultiaddr(s); err != nil {
			bad("listen", "%q is not a multiaddr: %v", s, err)
		}
	}
	if _, _, err := SplitBootstrap(c.Bootstrap); err != nil {
		bad("bootstrap", "%v", err)
	}
	switch c.DHTMode {
	case DHTModeAuto, DHTModeServer, DHTModeClient:
	default:
		bad("dht_mode", "%q is not one of auto, server, client", c.DHTMode)
	}
	if c.ConnLow < 1 || c.ConnHigh < c.ConnLow {
		bad("conn_low", "need 1 <= conn_low (%d) <= conn_high (%d)", c.ConnLow, c.ConnHigh)
	}
	if c.MaxMemoryMB < 0 {
		bad("max_memory_mb", "must be >= 0, got %d", c.MaxMemoryMB)
	}
	if c.MaxFDs < 0 {
		bad("max_fds", "must be >= 0, got %d", c.MaxFDs)
	}
	if c.BootstrapTimeout <= 0 {
		bad("bootstrap_timeout", "must be positive")
	}
	if c.ProbeInterval < Duration(100*time.Millisecond) {
		bad("probe_interval", "must be at least 100ms, got %s", time.Duration(c.ProbeInterval))
	}
	if c.ProbePeers < 1 || c.ProbePeers > 64 {
		bad("probe_peers", "must be 1 to 64, got %d", c.ProbePeers)
	}
	return errors.Join(errs...)
}

// ParseBootstrap parses full multiaddrs with a /p2p/<peer id> component into
// address infos, merging addresses of the same peer. It names the bad entry.
func ParseBootstrap(addrs []string) ([]peer.AddrInfo, error) {
	var mas []ma.Multiaddr
	for _, s := range addrs {
		m, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("bootstrap address %q: %w", s, err)
		}
		if _, err := m.ValueForProtocol(ma.P_P2P); err != nil {
			return nil, fmt.Errorf("bootstrap address %q: missing /p2p/<peer id>", s)
		}
		mas = append(mas, m)
	}
	infos, err := peer.AddrInfosFromP2pAddrs(mas...)
	if err != nil {
		return nil, fmt.Errorf("bootstrap addresses: %w", err)
	}
	// AddrInfosFromP2pAddrs groups through a map: put the peers back in
	// the order the operator listed them (the order they are tried, and
	// offered to autorelay, in).
	first := map[peer.ID]int{}
	for i, m := range mas {
		if id, err := peer.IDFromP2PAddr(m); err == nil {
			if _, ok := first[id]; !ok {
				first[id] = i
			}
		}
	}
	slices.SortFunc(infos, func(a, b peer.AddrInfo) int { return first[a.ID] - first[b.ID] })
	return infos, nil
}
