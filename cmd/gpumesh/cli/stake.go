package cli

import (
	"context"
	"fmt"
	"math/big"

	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/ledger/settle/contracts"
	"github.com/gpumesh/gpumesh/node/config"
)

func newStakeCmd(g *globals) *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "stake AMOUNT",
		Short: "Stake AMOUNT dollars of the stake token as a provider",
		Long: "Stake makes a provider eligible for jobs that ask for staked providers once it reaches\n" +
			"the contract's minimum. A key that signs two conflicting statements of the same work\n" +
			"loses its stake. AMOUNT is in dollars: the stake token must be the settlement token\n" +
			"or the chain's native coin.",
		Args: cobra.ExactArgs(1),
		RunE: chainCmd(g, &configPath, stake),
	}
	cmd.Flags().StringVar(&configPath, "config", "", "config file (default DIR/"+config.FileName+")")
	return cmd
}

func newUnstakeCmd(g *globals) *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "unstake [AMOUNT]",
		Short: "Ask for AMOUNT (default: all) of the stake back, or complete an unstaking whose notice is over",
		Long: "Unstaking waits out the contract's notice period, during which the stake stays\n" +
			"slashable; `unstake` asks, and run again once ready it completes. Asking drops\n" +
			"eligibility at once when what stays is below the minimum stake.",
		Args: cobra.MaximumNArgs(1),
		RunE: chainCmd(g, &configPath, unstake),
	}
	cmd.Flags().StringVar(&configPath, "config", "", "config file (default DIR/"+config.FileName+")")
	return cmd
}

// stakeDecimals is the stake token's decimals, when the command can know
// them: the settlement token's, or the native coin's.
func (s *chainSession) stakeDecimals() (uint8, error) {
	switch st := s.chain.Client().StakeToken(); st {
	case contracts.NativeToken:
		return settle.NativeDecimals, nil
	case s.token:
		return s.decimals, nil
	default:
		return 0, fmt.Errorf("the contract's stake token %s is neither the settlement token nor the native coin: its decimals are unknown here", st.Hex())
	}
}

// stake stakes args[0] dollars, refusing more than the wallet holds.
func stake(ctx context.Context, s *chainSession, args []string) (chainOut, error) {
	d, err := s.stakeDecimals()
	if err != nil {
		return chainOut{}, err
	}
	u, err := parseAmount(args[0], d)
	if err != nil {
		return chainOut{}, err
	}
	have, err := s.chain.Client().BalanceOf(ctx, s.chain.Client().StakeToken(), s.me)
	if err != nil {
		return chainOut{}, err
	}
	if have.Cmp(u) < 0 {
		return chainOut{}, fmt.Errorf("stake %s: the wallet %s holds %s of the stake token", settle.FormatUnits(u, d), s.me.Hex(), settle.FormatUnits(have, d))
	}
	rcpt, err := s.chain.Client().Stake(ctx, u)
	if err != nil {
		return chainOut{}, fmt.Errorf("stake: %w", err)
	}
	msg := fmt.Sprintf("staked %s", settle.FormatUnits(u, d))
	if ok, err := s.chain.Client().IsEligible(ctx, s.me); err == nil {
		msg += map[bool]string{true: "; eligible for jobs that ask for staked providers", false: "; below the contract's minimum stake: not yet eligible"}[ok]
	}
	return chainOut{Action: "staked", Amount: settle.FormatUnits(u, d), Units: u.String(), Tx: rcpt.TxHash.Hex(), Message: msg}, nil
}

// unstake completes a pending unstaking whose notice is over, says when one
// is ready, or asks for a new one (args[0], default all).
func unstake(ctx context.Context, s *chainSession, args []string) (chainOut, error) {
	d, err := s.stakeDecimals()
	if err != nil {
		return chainOut{}, err
	}
	var want *big.Int
	if len(args) == 1 {
		if want, err = parseAmount(args[0], d); err != nil {
			return chainOut{}, err
		}
	}
	now, err := s.chain.Now(ctx)
	if err != nil {
		return chainOut{}, err
	}
	c := s.chain.Client()
	return noticed{
		verb: "unstake", done: "unstaked", command: "gpumesh unstake", what: "unstaking", holds: "the stake is",
		askedFmt: "asked for %s of the stake back: ready at %s; run `gpumesh unstake` again then (it stays slashable until then)",
		doneFmt:  "unstaked %s",
		empty:    "nothing is staked",
		money:    func(u *big.Int) string { return settle.FormatUnits(u, d) },
		pending:  func(ctx context.Context) (contracts.Pending, error) { return c.PendingUnstake(ctx, s.me) },
		balance:  func(ctx context.Context) (*big.Int, error) { return c.StakeOf(ctx, s.me) },
		complete: c.Unstake,
		request:  c.RequestUnstake,
	}.run(ctx, now, want)
}
