package cli

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/node/api"
)

// controlError turns the API's refusals into what the user should do: a
// 400 is bad usage (exit 2), a 401 says where the token is.
func controlError(err error) error {
	var apiErr *api.Error
	if errors.As(err, &apiErr) {
		switch apiErr.Status {
		case http.StatusBadRequest:
			return usageError{errors.New(apiErr.Message)}
		case http.StatusUnauthorized:
			return fmt.Errorf("%s (run the command as the user who runs the node, with the same --data-dir)", apiErr.Message)
		}
	}
	return err
}

func newPauseCmd(g *globals) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "pause",
		Short: "Stop offering this node's devices (running work goes on)",
		Long: `Stop offering: the node bids on no job and its capacity record, published
again within seconds, shows every device busy. Work already awarded goes on.
The pause lasts until 'gpumesh resume' or the node restarts.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			m, err := c.Pause(cmd.Context(), reason)
			if err != nil {
				return controlError(err)
			}
			if g.json {
				return g.printJSON(m)
			}
			fmt.Fprintln(g.stdout, "offering paused: no bids, every device shown busy; 'gpumesh resume' to offer again")
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, shown in the dashboard")
	return cmd
}

func newResumeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "resume",
		Short: "Offer this node's devices again after a pause",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			m, err := c.Resume(cmd.Context())
			if err != nil {
				return controlError(err)
			}
			if g.json {
				return g.printJSON(m)
			}
			state := "offering again"
			if !m.Available {
				state += " (outside its hours now: " + strings.Join(m.Hours, ", ") + ")"
			}
			fmt.Fprintln(g.stdout, state)
			return nil
		},
	}
}

func newPricesCmd(g *globals) *cobra.Command {
	var hours []string
	var replace bool
	cmd := &cobra.Command{
		Use:   "prices [CLASS=PRICE ...]",
		Short: "Show or set this node's asking prices (USD per device-hour) and hours",
		Long: `With no argument, show this node's asks per device class, the offer.prices
entries they come from, its hours and whether it is paused.

With arguments, set entries: CLASS=PRICE or POOL=PRICE (pools: gpu, apple,
cpu; a class entry wins over its pool's), USD per device-hour. Entries not
named are kept unless --replace is given; CLASS= removes one. The new record
is published within seconds and the change is written to the config file.

  gpumesh prices gpu=1.20 A100-80GB=2.10
  gpumesh prices --hours 18:00-08:00      # only take jobs overnight
  gpumesh prices --hours always`,
		RunE: func(cmd *cobra.Command, args []string) error {
			set := map[string]string{}
			var order []string
			for _, a := range args {
				k, v, ok := strings.Cut(a, "=")
				k, v = strings.TrimSpace(k), strings.TrimSpace(v)
				if !ok || k == "" {
					return usageError{fmt.Errorf("%q: want CLASS=PRICE or POOL=PRICE", a)}
				}
				if v != "" {
					if p, err := strconv.ParseFloat(v, 64); err != nil || p <= 0 {
						return usageError{fmt.Errorf("%q: the price must be a positive number of USD per device-hour", a)}
					}
				}
				if _, dup := set[k]; !dup {
					order = append(order, k)
				}
				set[k] = v
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			m, err := c.MarketStatus(cmd.Context())
			if err != nil {
				return err
			}
			if len(args) > 0 {
				if m, err = c.SetPrices(cmd.Context(), mergePrices(m.Prices, set, order, replace)); err != nil {
					return controlError(err)
				}
			}
			if cmd.Flags().Changed("hours") {
				if len(hours) == 1 && (hours[0] == "always" || hours[0] == "") {
					hours = nil
				}
				if m, err = c.SetHours(cmd.Context(), hours); err != nil {
					return controlError(err)
				}
			}
			if g.json {
				return g.printJSON(m)
			}
			return printMarket(g, m)
		},
	}
	cmd.Flags().StringSliceVar(&hours, "hours", nil, "local-time windows in which jobs are taken (HH:MM-HH:MM, comma-separated); 'always' for no limit")
	cmd.Flags().BoolVar(&replace, "replace", false, "replace every entry by those given, rather than changing only those")
	return cmd
}

// mergePrices applies set (key -> price, "" removes) to the entries in
// force, keeping their order; new keys follow in order. With replace, only
// set's entries remain.
func mergePrices(current []string, set map[string]string, order []string, replace bool) []string {
	var out []string
	done := map[string]bool{}
	if !replace {
		for _, e := range current {
			k, _, _ := strings.Cut(e, "=")
			k = strings.TrimSpace(k)
			if v, ok := set[k]; ok {
				done[k] = true
				if v != "" {
					out = append(out, k+"="+v)
				}
				continue
			}
			out = append(out, e)
		}
	}
	for _, k := range order {
		if !done[k] && set[k] != "" {
			out = append(out, k+"="+set[k])
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// printMarket shows what the node offers.
func printMarket(g *globals, m api.MarketStatus) error {
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	state := "offering"
	switch {
	case !m.Offering:
		state = "not offering (offer.enabled = false)"
	case m.Paused:
		state = "paused"
		if m.PauseReason != "" {
			state += ": " + m.PauseReason
		}
	case !m.Available:
		state = "outside its hours"
	}
	fmt.Fprintf(w, "state\t%s\n", state)
	fmt.Fprintf(w, "prices\t%s\n", strings.Join(m.Prices, " "))
	hours := "always"
	if len(m.Hours) > 0 {
		hours = strings.Join(m.Hours, ", ") + " (local time)"
	}
	fmt.Fprintf(w, "hours\t%s\n", hours)
	if m.SaveError != "" {
		fmt.Fprintf(w, "not saved\t%s\n", m.SaveError)
	} else if m.Saved {
		fmt.Fprintf(w, "saved to\t%s\n", m.ConfigFile)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(g.stdout)
	w = tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CLASS\tPOOL\tDEVICES\tFREE\tASK $/h")
	asks := slices.Clone(m.Asks)
	for _, a := range asks {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%.4f\n", a.Class, a.Pool, a.Devices, a.Free, a.Price)
	}
	return w.Flush()
}
