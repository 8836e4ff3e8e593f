package cli

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/ledger/settle/contracts"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/scheduler/pricing"
)

// chainTimeout bounds one chain command: dial, reads, and each transaction mined.
const chainTimeout = 3 * time.Minute

// chainOut is what `gpumesh escrow`, `stake` and `unstake` print.
type chainOut struct {
	// Action is what was done: deposited, withdraw_requested, withdrawn,
	// withdraw_waiting, staked, unstake_requested, unstaked, unstake_waiting.
	Action string `json:"action"`
	// Wallet is the wallet's address.
	Wallet string `json:"wallet"`
	// Amount is the amount moved or asked for, in dollars (token units by the token's decimals).
	Amount string `json:"amount,omitempty"`
	// Units is Amount in the token's base units.
	Units string `json:"units,omitempty"`
	// Tx is the transaction's hash, when one was sent.
	Tx string `json:"tx,omitempty"`
	// ReadyAt is when a pending withdrawal or unstaking can be completed (chain time).
	ReadyAt *time.Time `json:"ready_at,omitempty"`
	// Message says what happened, for a person.
	Message string `json:"message"`
	// Balances are the wallet's balances afterwards.
	Balances *settle.Balances `json:"balances,omitempty"`
	// Decimals are the token's decimals, for reading Balances.
	Decimals uint8 `json:"decimals"`
}

// chainSession is one command's view of the settlement chain: the wallet
// and the contract client sending with it.
type chainSession struct {
	chain    *contracts.Chain
	me       common.Address
	token    common.Address
	decimals uint8
}

// openChainSession loads the config and the wallet of the data dir and
// opens the settlement contract, sending with the wallet key.
func openChainSession(ctx context.Context, g *globals, configPath string) (*chainSession, error) {
	dir, err := g.dir()
	if err != nil {
		return nil, err
	}
	if configPath == "" {
		configPath = filepath.Join(dir, config.FileName)
	}
	c, _, err := config.Load(configPath, "")
	if err != nil {
		return nil, err
	}
	if !c.Settlement.Enabled() {
		return nil, errors.New(c.Settlement.OffReason())
	}
	key, err := loadWalletKey(dir)
	if err != nil {
		return nil, err
	}
	ch, err := node.OpenSettlementChain(ctx, c, key)
	if err != nil {
		return nil, err
	}
	return &chainSession{chain: ch, me: settle.Address(key), token: c.Settlement.TokenAddress(), decimals: c.Settlement.TokenDecimals}, nil
}

// loadWalletKey loads the wallet of dir; it must exist (`gpumesh wallet` makes it).
func loadWalletKey(dir string) (*ecdsa.PrivateKey, error) {
	path := filepath.Join(dir, settle.WalletFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no wallet at %s: run `gpumesh wallet` to make one and fund it (%w)", path, err)
	}
	return settle.LoadWallet(path)
}

// parseAmount reads a dollar amount for a token with decimals: positive,
// at most six decimals, in base units.
func parseAmount(s string, decimals uint8) (*big.Int, error) {
	m, err := pricing.ParseMicros(s)
	if err != nil {
		return nil, err
	}
	if m == 0 {
		return nil, fmt.Errorf("amount %q: must be more than 0", s)
	}
	u, err := settle.ToUnits(ledger.Micros(m), decimals)
	if err != nil {
		return nil, fmt.Errorf("amount %q: %w", s, err)
	}
	return u, nil
}

// finish reads the balances after an action and prints out.
func (s *chainSession) finish(ctx context.Context, g *globals, out chainOut) error {
	out.Wallet, out.Decimals = s.me.Hex(), s.decimals
	if b, err := s.chain.Balances(ctx, s.me, s.token); err == nil {
		out.Balances = &b
	}
	if g.json {
		return g.printJSON(out)
	}
	fmt.Fprintln(g.stdout, out.Message)
	if out.Tx != "" {
		fmt.Fprintf(g.stdout, "  tx       %s\n", out.Tx)
	}
	if b := out.Balances; b != nil {
		fmt.Fprintf(g.stdout, "  wallet   %s\n  escrow   %s", settle.FormatUnits(b.Wallet, s.decimals), settle.FormatUnits(b.Escrow, s.decimals))
		if b.PendingWithdrawal != nil && b.PendingWithdrawal.Sign() > 0 {
			fmt.Fprintf(g.stdout, " (%s asked back)", settle.FormatUnits(b.PendingWithdrawal, s.decimals))
		}
		if d, err := s.stakeDecimals(); err == nil {
			fmt.Fprintf(g.stdout, "\n  stake    %s\n", settle.FormatUnits(b.Stake, d))
		} else {
			fmt.Fprintf(g.stdout, "\n  stake    %s base units\n", b.Stake)
		}
	}
	return nil
}

// money formats base units as dollars.
func (s *chainSession) money(u *big.Int) string { return settle.FormatUnits(u, s.decimals) }

// chainCmd is the shape every chain command shares: it opens the session,
// runs do with a deadline and prints what do returns.
func chainCmd(g *globals, configPath *string, do func(ctx context.Context, s *chainSession, args []string) (chainOut, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx, cancel := context.WithTimeout(cmd.Context(), chainTimeout)
		defer cancel()
		s, err := openChainSession(ctx, g, *configPath)
		if err != nil {
			return err
		}
		defer s.chain.Close()
		out, err := do(ctx, s, args)
		if err != nil {
			return err
		}
		return s.finish(ctx, g, out)
	}
}

func newEscrowCmd(g *globals) *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "escrow",
		Short: "Deposit into or withdraw from this wallet's escrow on the settlement contract",
		Long: "Escrow is what pays providers for your jobs: a provider redeems the vouchers your node\n" +
			"signs alongside each receipt from it. Amounts are in dollars (the token's units by its\n" +
			"decimals). A withdrawal waits out the contract's notice period, so providers can\n" +
			"still redeem: `escrow withdraw` asks, and run again once ready it completes.",
	}
	deposit := &cobra.Command{
		Use:   "deposit AMOUNT",
		Short: "Deposit AMOUNT dollars of the settlement token into escrow",
		Args:  cobra.ExactArgs(1),
		RunE:  chainCmd(g, &configPath, escrowDeposit),
	}
	withdraw := &cobra.Command{
		Use:   "withdraw [AMOUNT]",
		Short: "Ask for AMOUNT (default: all the escrow) back, or complete a withdrawal whose notice is over",
		Args:  cobra.MaximumNArgs(1),
		RunE:  chainCmd(g, &configPath, escrowWithdraw),
	}
	cmd.PersistentFlags().StringVar(&configPath, "config", "", "config file (default DIR/"+config.FileName+")")
	cmd.AddCommand(deposit, withdraw)
	return cmd
}

// escrowDeposit deposits args[0] dollars, refusing more than the wallet holds.
func escrowDeposit(ctx context.Context, s *chainSession, args []string) (chainOut, error) {
	u, err := parseAmount(args[0], s.decimals)
	if err != nil {
		return chainOut{}, err
	}
	have, err := s.chain.Client().BalanceOf(ctx, s.token, s.me)
	if err != nil {
		return chainOut{}, err
	}
	if have.Cmp(u) < 0 {
		return chainOut{}, fmt.Errorf("deposit %s: the wallet %s holds %s", s.money(u), s.me.Hex(), s.money(have))
	}
	rcpt, err := s.chain.Client().Deposit(ctx, s.token, u)
	if err != nil {
		return chainOut{}, fmt.Errorf("deposit: %w", err)
	}
	return chainOut{Action: "deposited", Amount: s.money(u), Units: u.String(), Tx: rcpt.TxHash.Hex(),
		Message: fmt.Sprintf("deposited %s into escrow", s.money(u))}, nil
}

// escrowWithdraw completes a pending withdrawal whose notice is over, says
// when one is ready, or asks for a new one (args[0], default all).
func escrowWithdraw(ctx context.Context, s *chainSession, args []string) (chainOut, error) {
	var want *big.Int
	if len(args) == 1 {
		u, err := parseAmount(args[0], s.decimals)
		if err != nil {
			return chainOut{}, err
		}
		want = u
	}
	now, err := s.chain.Now(ctx)
	if err != nil {
		return chainOut{}, err
	}
	c := s.chain.Client()
	return noticed{
		verb: "withdraw", done: "withdrawn", command: "gpumesh escrow withdraw", what: "withdrawal", holds: "the escrow holds",
		askedFmt: "asked for %s back: ready at %s; run `gpumesh escrow withdraw` again then (providers can still redeem until it completes)",
		doneFmt:  "withdrew %s from escrow",
		empty:    "the escrow is empty",
		money:    s.money,
		pending: func(ctx context.Context) (contracts.Pending, error) {
			return s.chain.PendingWithdrawal(ctx, s.me, s.token)
		},
		balance:  func(ctx context.Context) (*big.Int, error) { return s.chain.Escrow(ctx, s.me, s.token) },
		complete: func(ctx context.Context) (*types.Receipt, error) { return c.Withdraw(ctx, s.token) },
		request: func(ctx context.Context, u *big.Int) (*types.Receipt, error) {
			return c.RequestWithdraw(ctx, s.token, u)
		},
	}.run(ctx, now, want)
}
