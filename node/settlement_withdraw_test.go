package node_test

import (
	"context"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/ledger/settle/contracts/contractstest"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestProviderRedeemsOnWithdrawal on the dev chain: a provider holding a
// voucher below its redemption threshold redeems it at once when the
// requester asks for its escrow back, and refuses a new run from that
// requester, whose escrow less the withdrawal no longer covers the cap.
// The requester's node reads no chain, so only the provider checks.
func TestProviderRedeemsOnWithdrawal(t *testing.T) {
	if testing.Short() {
		t.Skip("a 2-node fleet on the dev chain")
	}
	rig := contractstest.Deploy(t, time.Hour)
	module := executortest.WasmModule(t, "copy")
	f := nodetest.Start(t, 2, nodetest.Options{
		SettlementChain: func(i int) node.SettlementChain {
			if i == 0 {
				return nil
			}
			return openChain(t, rig)
		},
		Configure: func(i int, c *config.Config) {
			c.Offer.Enabled = i == 1
			settleConfig(c, rig)
			c.Settlement.RedeemThreshold = 1_000_000 // never by policy in this test
		},
		RedeemCheck: 50 * time.Millisecond,
	})
	f.WaitHeard(t, 30*time.Second)
	req, prov := f.Nodes[0], f.Nodes[1]
	key, err := settle.LoadWallet(filepath.Join(req.DataDir(), settle.WalletFile))
	if err != nil {
		t.Fatal(err)
	}
	const deposit = 1_000_000_000_000
	rig.Deposit(t, key, deposit)
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("gpumesh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := func() market.JobView {
		v, err := req.Market().Submit(ctx, market.Spec{Workers: 1, Module: module, Inputs: []string{in}, Args: []string{"--epochs", "1"}})
		if err != nil {
			t.Fatal(err)
		}
		if v, err = req.Market().Wait(ctx, v.ID); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := run(); v.State != market.StateSucceeded {
		t.Fatalf("state %s: %s", v.State, v.Error)
	}
	held, err := prov.Ledger().LatestVouchers(ledger.VoucherHeld)
	if err != nil || len(held) != 1 {
		t.Fatalf("held vouchers: %+v, %v", held, err)
	}
	cum, _ := new(big.Int).SetString(held[0].Cumulative, 10)
	payer, payee := settle.Address(key), wallet(t, prov)
	if got, err := rig.Owner.Redeemed(ctx, payer, payee, rig.Token); err != nil || got.Sign() != 0 {
		t.Fatalf("redeemed before any withdrawal: %v, %v; want 0 (threshold not reached)", got, err)
	}
	// The requester asks for all but one unit back.
	if _, err := rig.Owner.With(key).RequestWithdraw(ctx, rig.Token, big.NewInt(deposit-1)); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		got, err := rig.Owner.Redeemed(ctx, payer, payee, rig.Token)
		if err != nil {
			t.Fatal(err)
		}
		if got.Cmp(cum) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the provider did not redeem %s after the requester asked its escrow back (redeemed %s)", cum, got)
		case <-tick.C:
		}
	}
	if got, want := rig.Balance(t, payee), new(big.Int).Sub(cum, feeOf(cum)); got.Cmp(want) != 0 {
		t.Errorf("provider holds %s, want %s", got, want)
	}
	// A new run: the provider refuses it for the escrow left after the withdrawal.
	v := run()
	if v.State == market.StateSucceeded || !slices.ContainsFunc(v.Events, func(e market.Event) bool { return strings.Contains(e.Text, "escrow does not cover") }) {
		t.Errorf("a job from a withdrawing requester: state %s (%s), want refused by the provider for its escrow", v.State, v.Error)
	}
}
