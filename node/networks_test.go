package node_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p"
)

// TestNetworksApartOnOneLoopback runs two main nodes and two local nodes
// on one loopback, then has the local nodes dial the main ones as a
// misconfigured node would. Each network hears its own gossip and finds
// its own capacity records; neither ever hears, finds or keeps a
// connection to a node of the other.
func TestNetworksApartOnOneLoopback(t *testing.T) {
	mains := nodetest.Start(t, 2, nodetest.Options{})
	locals := nodetest.Start(t, 2, nodetest.Options{Configure: func(_ int, c *config.Config) { c.Network = p2p.LocalNetwork }})
	mains.WaitHeard(t, time.Minute)
	locals.WaitHeard(t, time.Minute)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, l := range locals.Nodes {
		for _, m := range mains.Nodes {
			_ = l.Network().Connect(ctx, peer.AddrInfo{ID: m.PeerID(), Addrs: m.Network().Host().Addrs()})
		}
	}
	tried := time.Now()

	apart := func(a, b []*node.Node) string {
		for i, x := range a {
			for j, y := range b {
				if x.Network().Host().Network().Connectedness(y.PeerID()) == network.Connected {
					return fmt.Sprintf("node %d still connected to node %d of the other network", i, j)
				}
			}
		}
		return ""
	}
	nodetest.WaitFor(t, 30*time.Second, func() bool { return apart(mains.Nodes, locals.Nodes) == "" },
		func() string { return apart(mains.Nodes, locals.Nodes) })

	// Each network goes on: a fresh heartbeat from its own peer arrives.
	for _, f := range []*nodetest.Fleet{mains, locals} {
		nodetest.WaitFor(t, 30*time.Second, func() bool {
			seen, ok := f.Nodes[0].Gossip().Presence().Lookup(f.Nodes[1].PeerID())
			return ok && seen.Sent.After(tried)
		}, func() string { return "no fresh heartbeat within a network" })
	}
	nodetest.WaitFor(t, time.Minute, func() bool {
		for _, f := range []*nodetest.Fleet{mains, locals} {
			for _, nd := range f.Nodes {
				if !nd.Offering() {
					return false
				}
			}
		}
		return true
	}, func() string { return "not every node published its capacity record" })

	check := func(name string, own, other *nodetest.Fleet) {
		for i, nd := range own.Nodes {
			for _, o := range other.Nodes {
				if _, ok := nd.Gossip().Presence().Lookup(o.PeerID()); ok {
					t.Errorf("%s node %d heard %s of the other network", name, i, o.PeerID())
				}
			}
		}
		res, err := own.Nodes[0].Offers(ctx, "", "", 0)
		if err != nil {
			t.Fatalf("%s: search: %v", name, err)
		}
		found := map[peer.ID]bool{}
		for _, o := range res.Offers {
			found[o.Peer] = true
		}
		for _, o := range other.Nodes {
			if found[o.PeerID()] {
				t.Errorf("%s node 0 found the capacity record of %s of the other network", name, o.PeerID())
			}
		}
		if !found[own.Nodes[1].PeerID()] {
			t.Errorf("%s node 0 did not find its own network's provider %s (found %v)", name, own.Nodes[1].PeerID(), found)
		}
	}
	check("main", mains, locals)
	check("local", locals, mains)
}
