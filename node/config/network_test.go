package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/gpumesh/gpumesh/p2p"
)

// TestNetworkKey: the default is main, a known name loads, and an unknown
// one is an error naming the key and the networks there are.
func TestNetworkKey(t *testing.T) {
	if got := Default().Network; got != p2p.MainNetwork {
		t.Errorf("default network %q, want main", got)
	}
	c, _, err := Load(writeConfig(t, "network = \"local\"\n"), "")
	if err != nil || c.Network != p2p.LocalNetwork {
		t.Fatalf("network = local: got %q, %v", c.Network, err)
	}
	_, _, err = Load(writeConfig(t, "network = \"mainnet\"\n"), "")
	if !errors.Is(err, p2p.ErrUnknownNetwork) || !strings.Contains(err.Error(), "network:") || !strings.Contains(err.Error(), "main, local") {
		t.Errorf("network = mainnet: err = %v, want the key and the known networks", err)
	}
}

// TestBootstrapProfile: a bootstrap node serves the DHT, relays from the
// start, offers nothing and has room for many peers.
func TestBootstrapProfile(t *testing.T) {
	c, err := ForProfile("bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	p := c.P2P
	if p.DHTMode != p2p.DHTModeServer || !p.RelayService || !p.Public || p.MDNS || p.NATPortMap {
		t.Errorf("p2p = %+v, want a public DHT server and relay without mDNS or port mapping", p)
	}
	if c.Offer.Enabled || !c.Headless || p.ConnHigh < 1024 {
		t.Errorf("offer.enabled=%v headless=%v conn_high=%d, want no offer, headless, >= 1024 connections", c.Offer.Enabled, c.Headless, p.ConnHigh)
	}
}
