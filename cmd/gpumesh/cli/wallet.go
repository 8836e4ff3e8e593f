package cli

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
)

// walletOut is what `gpumesh wallet` prints.
type walletOut struct {
	// Address is the wallet's address.
	Address string `json:"address"`
	// File is the wallet key's path.
	File string `json:"file"`
	// Created is true when this command made the wallet.
	Created bool `json:"created,omitempty"`
	// Settlement is "off: ..." or "on".
	Settlement string `json:"settlement"`
	// ChainID, Contract, Token and TokenDecimals describe the settlement when on.
	ChainID       uint64 `json:"chain_id,omitempty"`
	Contract      string `json:"contract,omitempty"`
	Token         string `json:"token,omitempty"`
	TokenDecimals uint8  `json:"token_decimals,omitempty"`
	// Balances are read from the chain when settlement is on and it answers.
	Balances *settle.Balances `json:"balances,omitempty"`
	// BalancesError says why Balances are missing.
	BalancesError string `json:"balances_error,omitempty"`
}

// walletReadTimeout bounds reading balances from the chain.
const walletReadTimeout = 15 * time.Second

func newWalletCmd(g *globals) *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "wallet",
		Short: "Show this node's payment wallet (created on first use) and its balances",
		Long: "Show the address of the node's secp256k1 payment wallet, DIR/" + settle.WalletFile + ",\n" +
			"creating it on first use; and, when [settlement] names a contract, the wallet's\n" +
			"token balance, escrow and stake on the chain. Back the key up: vouchers held\n" +
			"or signed by it are redeemable only with it.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := g.dir()
			if err != nil {
				return err
			}
			out, err := readWallet(cmd.Context(), dir, configPath, node.OpenSettlementBalances)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(out)
			}
			printWallet(g, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "config file (default DIR/"+config.FileName+")")
	return cmd
}

// balancesOpener opens what balances are read through (node.OpenSettlementBalances; tests pass a fake).
type balancesOpener func(ctx context.Context, c config.Config, key *ecdsa.PrivateKey) (settle.BalanceReader, func(), error)

// readWallet loads or creates the wallet in dir and reads its balances
// through open when settlement is configured.
func readWallet(ctx context.Context, dir, configPath string, open balancesOpener) (walletOut, error) {
	if _, err := os.Stat(dir); err != nil {
		return walletOut{}, fmt.Errorf("no data dir %s: start the node once with `gpumesh run`, or pass --data-dir (%w)", dir, err)
	}
	path := filepath.Join(dir, settle.WalletFile)
	key, created, err := settle.LoadOrCreateWallet(path)
	if err != nil {
		return walletOut{}, err
	}
	out := walletOut{Address: settle.Address(key).Hex(), File: path, Created: created}
	if configPath == "" {
		configPath = filepath.Join(dir, config.FileName)
	}
	c, _, err := config.Load(configPath, "")
	if err != nil {
		return out, err
	}
	if !c.Settlement.Enabled() {
		out.Settlement = strings.TrimPrefix(c.Settlement.OffReason(), "settlement ")
		return out, nil
	}
	out.Settlement = "on"
	out.ChainID = node.SettlementChainID(c)
	out.Contract = c.Settlement.ContractAddress().Hex()
	out.Token = c.Settlement.TokenAddress().Hex()
	out.TokenDecimals = c.Settlement.TokenDecimals
	rctx, cancel := context.WithTimeout(ctx, walletReadTimeout)
	defer cancel()
	reader, closeReader, err := open(rctx, c, key)
	if err != nil {
		out.BalancesError = err.Error()
		return out, nil
	}
	defer closeReader()
	b, err := reader.Balances(rctx, settle.Address(key), c.Settlement.TokenAddress())
	if err != nil {
		out.BalancesError = fmt.Sprintf("read balances: %v", err)
		return out, nil
	}
	out.Balances = &b
	return out, nil
}

// printWallet writes out for a person.
func printWallet(g *globals, out walletOut) {
	fmt.Fprintf(g.stdout, "wallet %s\n", out.Address)
	if out.Created {
		fmt.Fprintf(g.stdout, "created %s: back it up; vouchers held or signed by it are redeemable only with it\n", out.File)
	}
	if out.Balances == nil && out.BalancesError == "" {
		fmt.Fprintf(g.stdout, "settlement %s\n", out.Settlement)
		return
	}
	fmt.Fprintf(g.stdout, "settlement on chain %d, contract %s, token %s (%d decimals)\n", out.ChainID, out.Contract, out.Token, out.TokenDecimals)
	if out.Balances == nil {
		fmt.Fprintf(g.stdout, "balances unknown: %s\n", out.BalancesError)
		return
	}
	b, d := out.Balances, out.TokenDecimals
	fmt.Fprintf(g.stdout, "  wallet   %s\n", settle.FormatUnits(b.Wallet, d))
	fmt.Fprintf(g.stdout, "  escrow   %s", settle.FormatUnits(b.Escrow, d))
	if b.PendingWithdrawal != nil && b.PendingWithdrawal.Sign() > 0 {
		fmt.Fprintf(g.stdout, " (%s asked back, waiting out the notice)", settle.FormatUnits(b.PendingWithdrawal, d))
	}
	fmt.Fprintf(g.stdout, "\n  stake    %s\n", settle.FormatUnits(b.Stake, d))
	if b.Allowance != nil {
		fmt.Fprintf(g.stdout, "  allowed  %s (the contract may take this much for deposits and stake without a new approval)\n", settle.FormatUnits(b.Allowance, d))
	}
}
