package cli

import (
	"fmt"
	"math/big"

	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/node/api"
)

func newSettleCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "settle",
		Short: "Redeem now every voucher this provider holds with anything not yet redeemed",
		Long: "Ask the running node to redeem, one transaction per requester, the latest voucher it\n" +
			"holds from each requester with anything outstanding, whatever the redemption policy\n" +
			"([settlement] redeem_threshold, redeem_interval) says. Prints what each paid and the\n" +
			"fees (the requester's is charged to its escrow on top, the provider's is taken out\n" +
			"of what it is paid), in dollars.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			out, err := c.Settle(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				if err := g.printJSON(out); err != nil {
					return err
				}
			} else {
				printSettlement(g, out)
			}
			if out.Error != "" {
				return fmt.Errorf("some redemptions failed: %s", out.Error)
			}
			return nil
		},
	}
}

// printSettlement writes out for a person.
func printSettlement(g *globals, out api.Settlement) {
	if len(out.Redemptions) == 0 {
		fmt.Fprintln(g.stdout, "nothing to redeem: every held voucher is redeemed")
		return
	}
	d := out.Decimals
	total, fees := new(big.Int), new(big.Int)
	for _, r := range out.Redemptions {
		switch {
		case r.Err != "":
			fmt.Fprintf(g.stdout, "%s  failed: %s\n", r.Channel, r.Err)
		case r.Paid != "":
			fmt.Fprintf(g.stdout, "%s  settled %s: paid %s, fees %s (requester) + %s (provider)  tx %s\n", r.Channel,
				usd(r.Amount, d), usd(r.Paid, d), usd(r.RequesterFee, d), usd(r.ProviderFee, d), r.Tx)
			total.Add(total, units(r.Paid))
			fees.Add(fees, units(r.RequesterFee))
			fees.Add(fees, units(r.ProviderFee))
		default:
			fmt.Fprintf(g.stdout, "%s  %s\n", r.Channel, r.Reason)
		}
	}
	fmt.Fprintf(g.stdout, "paid %s in all; fees %s to the treasury\n", settle.FormatUnits(total, d), settle.FormatUnits(fees, d))
}

// units reads a decimal base-unit string (0 when empty or bad: the node wrote it).
func units(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return new(big.Int)
	}
	return v
}

// usd formats a decimal base-unit string as dollars.
func usd(s string, d uint8) string { return settle.FormatUnits(units(s), d) }
