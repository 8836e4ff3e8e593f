package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/node/api"
)

func newStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the state of the running node: its network, bootstrap peers, reachability, addresses",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			s, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(s)
			}
			return printStatus(g.stdout, s)
		},
	}
}

// printStatus writes s for a person. Addresses and reasons may carry what
// peers told the node (observed addresses, dial errors): g.stdout passes
// them through termSafe.
func printStatus(out io.Writer, s api.Status) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "peer\t%s\n", s.PeerID)
	fmt.Fprintf(w, "version\t%s (profile %s)\n", s.Version, s.Profile)
	fmt.Fprintf(w, "uptime\t%s\n", (time.Duration(s.UptimeSeconds) * time.Second).String())
	printNetwork(w, s.Network)
	fmt.Fprintf(w, "peers\t%d connected, %d in DHT routing table (mode %s)\n", s.ConnectedPeers, s.RoutingTableSize, s.DHTMode)
	for _, a := range s.ObservedAddrs {
		fmt.Fprintf(w, "observed\t%s\n", a)
	}
	for _, t := range s.Topics {
		fmt.Fprintf(w, "topic\t%s (%d peers)\n", t.Name, t.Peers)
	}
	if len(s.Announces) > 0 {
		fmt.Fprintf(w, "announces on\t%s\n", strings.Join(s.Announces, ", "))
	}
	rej := 0
	for _, v := range s.Gossip.Rejected {
		rej += int(v)
	}
	fmt.Fprintf(w, "gossip\t%d accepted, %d ignored, %d rejected\n", s.Gossip.Accepted, s.Gossip.Ignored, rej)
	return w.Flush()
}

// printNetwork writes the network rows of status: which network, its
// bootstrap peers, reachability, relay and direct addresses.
func printNetwork(w io.Writer, n api.NetworkStatus) {
	name := n.Name
	if n.Kind != "" && n.Kind != n.Name {
		name += " (" + n.Kind + ")"
	}
	fmt.Fprintf(w, "network\t%s\n", name)
	b := n.Bootstrap
	switch {
	case b.Connected > 0:
		fmt.Fprintf(w, "bootstrap\tconnected %d of %d\n", b.Connected, b.Peers)
	case b.Peers > 0:
		fmt.Fprintf(w, "bootstrap\tconnected 0 of %d: %s\n", b.Peers, b.Reason)
	default:
		fmt.Fprintf(w, "bootstrap\tnone: %s\n", b.Reason)
	}
	fmt.Fprintf(w, "reachability\t%s\n", reachabilityText(n))
	for _, a := range n.RelayAddrs {
		fmt.Fprintf(w, "relay\t%s\n", a)
	}
	if len(n.RelayAddrs) == 0 && n.Reachability != "public" {
		fmt.Fprintf(w, "relay\tnone yet (peers behind NAT cannot reach this node until it has a relay reservation)\n")
	}
	for _, a := range n.DirectAddrs {
		fmt.Fprintf(w, "direct\t%s\n", a)
	}
}

// reachabilityText is the reachability with where it comes from.
func reachabilityText(n api.NetworkStatus) string {
	switch {
	case n.ReachabilitySource == "p2p.public":
		return n.Reachability + " (declared: p2p.public)"
	case n.Reachability == "unknown":
		return "unknown (AutoNAT has no verdict yet)"
	case n.Reachability == "private":
		return "private (behind NAT, says AutoNAT)"
	}
	return n.Reachability + " (AutoNAT)"
}
