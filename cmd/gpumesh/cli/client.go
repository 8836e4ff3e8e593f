package cli

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/node"
)

func newIDCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "id",
		Short: "Print this node's peer ID (and addresses when it runs)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			type idOut struct {
				PeerID string   `json:"peer_id"`
				Addrs  []string `json:"addrs,omitempty"`
			}
			var out idOut
			if c, err := g.client(); err == nil {
				if s, err := c.Status(cmd.Context()); err == nil {
					out = idOut{PeerID: s.PeerID, Addrs: s.Addrs}
				}
			}
			if out.PeerID == "" {
				dir, err := g.dir()
				if err != nil {
					return err
				}
				id, err := node.ReadIdentity(filepath.Join(dir, node.KeyFile))
				if err != nil {
					return err
				}
				out.PeerID = id.String()
			}
			if g.json {
				return g.printJSON(out)
			}
			fmt.Fprintln(g.stdout, out.PeerID)
			for _, a := range out.Addrs {
				fmt.Fprintln(g.stdout, a)
			}
			return nil
		},
	}
}

func newPeersCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "peers",
		Short: "List the running node's connected peers",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			ps, err := c.Peers(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(ps)
			}
			w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "PEER\tDIRECTION\tRTT\tDHT\tHEARD\tAGENT\tADDRESS")
			for _, p := range ps {
				heard := "-"
				switch {
				case p.LastHeard != nil:
					heard = time.Since(*p.LastHeard).Round(time.Second).String() + " ago"
					if p.HeardVia == "direct" {
						heard += " (direct)"
					}
				case p.LastHeartbeat != nil:
					heard = time.Since(*p.LastHeartbeat).Round(time.Second).String() + " ago"
				}
				dht := "-"
				if p.InRoutingTable {
					dht = "yes"
				}
				fmt.Fprintf(w, "%s\t%s\t%.1fms\t%s\t%s\t%s\t%s\n", p.ID, p.Direction, p.LatencyMS, dht, heard, p.Agent, strings.Join(p.Addrs, ","))
			}
			return w.Flush()
		},
	}
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the gpumesh version",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			commit, date := buildInfo()
			v := map[string]string{"version": node.Version, "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH,
				"commit": commit, "date": date}
			if g.json {
				return g.printJSON(v)
			}
			fmt.Fprintf(g.stdout, "gpumesh %s (%s, %s, commit %s, built %s)\n", v["version"], v["go"], v["platform"], shortCommit(commit), date)
			return nil
		},
	}
}
