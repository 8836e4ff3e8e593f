package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p"
)

// TestStatusNetworkOverAPI reads GET /api/v1/status from two nodes of the
// local network: node 0, declared public, has no bootstrap peers and says
// why; node 1 bootstraps from it and is connected to 1 of 1. Both name the
// network and list their direct addresses.
func TestStatusNetworkOverAPI(t *testing.T) {
	f := nodetest.Start(t, 2, nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Network = p2p.LocalNetwork
		c.P2P.Public = i == 0
	}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	status := func(i int) api.NetworkStatus {
		s, err := api.NewClient(f.Nodes[i].APIURL()).Status(ctx)
		if err != nil {
			t.Fatalf("node %d: GET status: %v", i, err)
		}
		return s.Network
	}
	var boot, home api.NetworkStatus
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		boot, home = status(0), status(1)
		return home.Bootstrap.Connected == 1 && boot.Bootstrap.Reason != ""
	}, func() string { return "node 1 not connected to its bootstrap peer" })

	for i, n := range []api.NetworkStatus{boot, home} {
		if n.Name != "local" || n.Kind != "local" {
			t.Errorf("node %d: network %q kind %q, want local local", i, n.Name, n.Kind)
		}
		if len(n.DirectAddrs) == 0 {
			t.Errorf("node %d: no direct addresses", i)
		}
		for _, a := range n.DirectAddrs {
			if !strings.HasSuffix(a, "/p2p/"+f.Nodes[i].PeerID().String()) {
				t.Errorf("node %d: direct address %s does not end in its peer ID", i, a)
			}
		}
	}
	if boot.Reachability != "public" || boot.ReachabilitySource != "p2p.public" {
		t.Errorf("node 0: reachability %q from %q, want public from p2p.public", boot.Reachability, boot.ReachabilitySource)
	}
	if boot.Bootstrap.Peers != 0 || !strings.Contains(boot.Bootstrap.Reason, "no bootstrap peers") {
		t.Errorf("node 0: bootstrap %+v, want none with the reason", boot.Bootstrap)
	}
	if home.Bootstrap.Peers != 1 || home.Bootstrap.Reason != "" {
		t.Errorf("node 1: bootstrap %+v, want connected 1 of 1 and no reason", home.Bootstrap)
	}
	if home.ReachabilitySource != "autonat" || !strings.Contains("unknown private public", home.Reachability) || home.Reachability == "" {
		t.Errorf("node 1: reachability %q from %q, want AutoNAT's verdict", home.Reachability, home.ReachabilitySource)
	}
}
