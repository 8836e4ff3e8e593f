package p2p

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/pelletier/go-toml/v2"
)

// MainNetwork is the name of the public network, the default.
const MainNetwork = "main"

// LocalNetwork is the name of the network of the LAN and explicit peers only.
const LocalNetwork = "local"

// Limits on network definitions, which may come from a file.
const (
	// MaxNetworksBytes is the largest network definitions file read.
	MaxNetworksBytes = 64 << 10
	// MaxNetworks is the most definitions one file may hold.
	MaxNetworks = 32
	// MaxNetworkBootstrap is the most bootstrap entries one network may list.
	MaxNetworkBootstrap = 64
)

// Errors about network definitions; match them with errors.Is.
var (
	// ErrUnknownNetwork: no definition has the name asked for.
	ErrUnknownNetwork = errors.New("unknown network")
	// ErrBadNetwork: a definition is malformed, or collides with another.
	ErrBadNetwork = errors.New("bad network definition")
)

// NetworkDef defines one gpumesh network: its name, the prefixes that keep
// its protocols, gossip topics and DHT apart from every other network's,
// and its bootstrap peers.
type NetworkDef struct {
	// Name is what users choose the network by: lowercase letters, digits, '-'.
	Name string `toml:"name"`
	// ProtocolPrefix starts the network's stream protocol IDs and names
	// its LAN discovery: "/gpumesh" for main, "/gpumesh-<name>" for others.
	ProtocolPrefix string `toml:"protocol_prefix"`
	// TopicPrefix starts the network's gossip topic names ("gpumesh" for main).
	TopicPrefix string `toml:"topic_prefix"`
	// DHTPrefix is the Kademlia protocol prefix ("/gpumesh" for main).
	DHTPrefix string `toml:"dht_prefix"`
	// Bootstrap lists full multiaddrs ending in /p2p/<peer id>, or
	// /dnsaddr/ names resolved at start.
	Bootstrap []string `toml:"bootstrap"`
}

var (
	networkName  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	protoPrefix  = regexp.MustCompile(`^/[a-z][a-z0-9-]{0,39}$`)
	topicPrefix  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)
	markerSuffix = "/network/1"
)

// Validate returns every problem with d, each naming the network.
func (d NetworkDef) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: network %q: %s", ErrBadNetwork, d.Name, fmt.Sprintf(format, args...)))
	}
	if !networkName.MatchString(d.Name) {
		bad("name must be 1 to 32 lowercase letters, digits or '-', starting with a letter")
	}
	if !protoPrefix.MatchString(d.ProtocolPrefix) {
		bad("protocol_prefix %q must be '/' and 1 to 40 lowercase letters, digits or '-'", d.ProtocolPrefix)
	}
	if !protoPrefix.MatchString(d.DHTPrefix) {
		bad("dht_prefix %q must be '/' and 1 to 40 lowercase letters, digits or '-'", d.DHTPrefix)
	}
	if !topicPrefix.MatchString(d.TopicPrefix) {
		bad("topic_prefix %q must be 1 to 40 lowercase letters, digits or '-'", d.TopicPrefix)
	}
	if len(d.Bootstrap) > MaxNetworkBootstrap {
		bad("%d bootstrap entries, at most %d", len(d.Bootstrap), MaxNetworkBootstrap)
	} else if _, _, err := SplitBootstrap(d.Bootstrap); err != nil {
		bad("%v", err)
	}
	return errors.Join(errs...)
}

// MarkerProtocol is the protocol every node of the network serves, so that
// a peer of another network is told apart at identify and refused.
func (d NetworkDef) MarkerProtocol() protocol.ID {
	return protocol.ID(d.ProtocolPrefix + markerSuffix)
}

// MDNSService is the mDNS service name the network's nodes announce on the
// LAN: MDNSServiceName for main, one of its own for every other network.
func (d NetworkDef) MDNSService() string {
	if d.ProtocolPrefix == "/gpumesh" {
		return MDNSServiceName
	}
	return "_" + strings.TrimPrefix(d.ProtocolPrefix, "/") + "-discovery._udp"
}

// Topic is the wire name of a gossip topic of this network: name's leading
// "gpumesh" replaced by the topic prefix, so main's topics keep their names.
func (d NetworkDef) Topic(name string) string {
	return d.TopicPrefix + strings.TrimPrefix(name, "gpumesh")
}

// ParseNetworks reads network definitions ([[network]] tables) from TOML,
// refusing unknown keys, malformed definitions, and two definitions that
// share a name or any prefix.
func ParseNetworks(data []byte) ([]NetworkDef, error) {
	if len(data) > MaxNetworksBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrBadNetwork, len(data), MaxNetworksBytes)
	}
	var file struct {
		Network []NetworkDef `toml:"network"`
	}
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			var keys []string
			for _, e := range strict.Errors {
				row, _ := e.Position()
				keys = append(keys, fmt.Sprintf("%s (line %d)", strings.Join(e.Key(), "."), row))
			}
			return nil, fmt.Errorf("%w: unknown key %s", ErrBadNetwork, strings.Join(keys, ", "))
		}
		return nil, fmt.Errorf("%w: %v", ErrBadNetwork, err)
	}
	if len(file.Network) == 0 || len(file.Network) > MaxNetworks {
		return nil, fmt.Errorf("%w: %d definitions, want 1 to %d", ErrBadNetwork, len(file.Network), MaxNetworks)
	}
	var errs []error
	for _, d := range file.Network {
		errs = append(errs, d.Validate())
	}
	errs = append(errs, collisions(file.Network))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return file.Network, nil
}

// collisions names every pair of definitions that share a name or a prefix:
// their nodes would see each other's peers, records or gossip.
func collisions(defs []NetworkDef) error {
	var errs []error
	for i, a := range defs {
		for _, b := range defs[:i] {
			for _, f := range []struct{ what, x, y string }{
				{"name", a.Name, b.Name},
				{"protocol_prefix", a.ProtocolPrefix, b.ProtocolPrefix},
				{"topic_prefix", a.TopicPrefix, b.TopicPrefix},
				{"dht_prefix", a.DHTPrefix, b.DHTPrefix},
			} {
				if f.x == f.y {
					errs = append(errs, fmt.Errorf("%w: networks %q and %q share %s %q", ErrBadNetwork, b.Name, a.Name, f.what, f.x))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// checkBuiltin refuses a definition that passes for a built-in network: a
// built-in name with other prefixes, or another name with a built-in prefix.
func checkBuiltin(d NetworkDef) error {
	defs, err := builtin()
	if err != nil {
		return fmt.Errorf("built-in networks: %w", err)
	}
	var errs []error
	for _, b := range defs {
		if b.Name != d.Name {
			errs = append(errs, collisions([]NetworkDef{b, d}))
			continue
		}
		if b.ProtocolPrefix != d.ProtocolPrefix || b.TopicPrefix != d.TopicPrefix || b.DHTPrefix != d.DHTPrefix {
			errs = append(errs, fmt.Errorf("%w: network %q is built in with other prefixes", ErrBadNetwork, d.Name))
		}
	}
	return errors.Join(errs...)
}

//go:embed networks.toml
var builtinNetworks []byte

// builtin parses the embedded definitions once; a bad file is a build bug,
// caught by the package's tests.
var builtin = sync.OnceValues(func() ([]NetworkDef, error) { return ParseNetworks(builtinNetworks) })

// Networks returns the built-in network definitions, main first.
func Networks() []NetworkDef {
	defs, err := builtin()
	if err != nil {
		return nil
	}
	return slices.Clone(defs)
}

// LookupNetwork returns the built-in network called name ("" is main).
func LookupNetwork(name string) (NetworkDef, error) {
	if name == "" {
		name = MainNetwork
	}
	defs, err := builtin()
	if err != nil {
		return NetworkDef{}, fmt.Errorf("built-in networks: %w", err)
	}
	var names []string
	for _, d := range defs {
		if d.Name == name {
			d.Bootstrap = slices.Clone(d.Bootstrap)
			return d, nil
		}
		names = append(names, d.Name)
	}
	return NetworkDef{}, fmt.Errorf("%w %q: known networks are %s", ErrUnknownNetwork, name, strings.Join(names, ", "))
}

// SplitBootstrap parses a bootstrap list into the peers named by full
// multiaddrs (ParseBootstrap) and the /dnsaddr/ names to resolve at start.
// It names the bad entry.
func SplitBootstrap(addrs []string) ([]peer.AddrInfo, []ma.Multiaddr, error) {
	var static []string
	var dns []ma.Multiaddr
	for _, s := range addrs {
		m, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, nil, fmt.Errorf("bootstrap address %q: %w", s, err)
		}
		if isDNSAddr(m) {
			dns = append(dns, m)
			continue
		}
		static = append(static, s)
	}
	infos, err := ParseBootstrap(static)
	if err != nil {
		return nil, nil, err
	}
	return infos, dns, nil
}
