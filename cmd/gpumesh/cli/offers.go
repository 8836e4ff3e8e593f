package cli

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/scheduler/offers"
)

func newOffersCmd(g *globals) *cobra.Command {
	var order string
	var limit int
	var staked bool
	cmd := &cobra.Command{
		Use:   "offers [FILTER]",
		Short: "Search the network's capacity",
		Long: `Search the network's capacity: the running node looks up the capability keys
the filter implies in the DHT, fetches the providers' signed capacity records
and lists the offers (one per provider and device class) that match.

A filter is clauses joined by spaces, all of which must hold:
  gpumesh offers 'gpu_class=A100-80GB num_gpus>=4 vram_gb>=40 price<=1.2 region in [EU,US]'
Operators: = != < <= > >= in [a,b] notin [a,b]. Fields:
` + fieldHelp() + `
--order sorts by fields, '-' for descending: --order=-num_gpus,price.
--staked shows only providers whose payout wallet is staked on the settlement
contract (the same as the clause staked=true; the node checks on chain).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			filter := strings.Join(args, " ")
			if staked {
				filter = strings.TrimSpace(filter + " staked=true")
			}
			// Check the filter here first: a typo is a usage error (exit 2)
			// even before a node is asked.
			if _, err := offers.Parse(filter); err != nil {
				return usageError{err}
			}
			if _, err := offers.ParseOrder(order); err != nil {
				return usageError{err}
			}
			if limit < 0 {
				return usageError{errors.New("--limit must be >= 0")}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.Offers(cmd.Context(), filter, order, limit)
			var apiErr *api.Error
			if errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(res)
			}
			printOffers(g, res)
			return nil
		},
	}
	cmd.Flags().StringVar(&order, "order", "", "sort by these fields, '-' for descending (default price,rtt_ms)")
	cmd.Flags().IntVar(&limit, "limit", 0, "show at most this many offers (0 = all)")
	cmd.Flags().BoolVar(&staked, "staked", false, "only providers whose payout wallet is staked on the settlement contract (isEligible), checked on chain by the node")
	return cmd
}

func fieldHelp() string {
	var b strings.Builder
	for _, f := range offers.Fields() {
		fmt.Fprintf(&b, "  %-14s %-7s %s\n", f.Name, f.Type, f.Doc)
	}
	return strings.TrimRight(b.String(), "\n")
}

func printOffers(g *globals, res offers.Result) {
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PEER\tCLASS\tVERIFIED\tGPUS\tFREE\tVRAM\tPRICE/H\tREGION\tRTT\tEXECUTORS\tAVAILABLE")
	for _, o := range res.Offers {
		gpus, vram := fmt.Sprint(o.NumGPUs), fmt.Sprintf("%.0f GB", o.VRAMGB)
		free := fmt.Sprint(o.FreeGPUs)
		if o.Pool == "cpu" {
			gpus, vram, free = fmt.Sprintf("%d cores", o.Cores), "-", "-"
		}
		rtt := "?"
		if o.RTTms >= 0 {
			rtt = fmt.Sprintf("%.0f ms", o.RTTms)
		}
		region := strings.Trim(o.Region+"/"+o.Country, "/")
		if region == "" {
			region = "-"
		}
		verified := "no"
		if o.Verified {
			verified = "yes"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t$%.2f\t%s\t%s\t%s\t%v\n",
			o.Peer.String(), o.Class, verified, gpus, free, vram, o.Price, region, rtt, strings.Join(o.Executors, ","), o.Available)
	}
	w.Flush()
	shown := fmt.Sprintf("%d offers", len(res.Offers))
	if res.Matched > len(res.Offers) {
		shown = fmt.Sprintf("%d of %d offers", len(res.Offers), res.Matched)
	}
	how := fmt.Sprintf("%d providers found under %d key shards (%s), %d records (%d direct, %d from the DHT), %d without a valid record, in %s",
		res.Stats.Candidates, res.Stats.Keys, strings.Join(res.Keys, ", "), res.Stats.Records, res.Stats.Direct, res.Stats.DHT, res.Stats.Missing,
		res.Stats.Elapsed.Round(1e6))
	if res.Stats.LAN {
		how = fmt.Sprintf("no DHT servers known: asked the %d connected peers directly; %d records, in %s",
			res.Stats.Candidates, res.Stats.Records, res.Stats.Elapsed.Round(1e6))
	}
	fmt.Fprintf(g.stdout, "%s; %s", shown, how)
	if res.Partial {
		fmt.Fprint(g.stdout, "; the search timed out, results may be incomplete")
	}
	if res.StakeError != "" {
		fmt.Fprintf(g.stdout, "; some stakes could not be read, those offers count as not staked: %s", res.StakeError)
	}
	fmt.Fprintln(g.stdout)
}
