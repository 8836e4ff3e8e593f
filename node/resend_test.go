package node_test

import (
	"context"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestLostSettleAnswerVouchersResent: the provider loses the settle answer
// of a first job (the requester logged its receipt and voucher, the
// provider has neither); the next job's settlement resends them, and the
// provider holds both vouchers, the latest paying for both receipts, and
// redeems it once for both.
func TestLostSettleAnswerVouchersResent(t *testing.T) {
	if testing.Short() {
		t.Skip("a 2-node fleet running two jobs")
	}
	chain := newFakeChain()
	f := nodetest.Start(t, 2, nodetest.Options{SettlementChain: func(int) node.SettlementChain { return chain },
		Configure: func(i int, c *config.Config) {
			c.Offer.Enabled = i == 1
			c.Settlement.Contract = testContract.Hex()
			c.Settlement.Token = testToken.Hex()
			c.Settlement.ChainID = 31337
		}})
	f.WaitHeard(t, 30*time.Second)
	req, prov := f.Nodes[0], f.Nodes[1]
	chain.setEscrow(wallet(t, req), big.NewInt(1e12))
	module := executortest.WasmModule(t, "copy")
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("gpumesh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := func() market.JobView {
		t.Helper()
		v, err := req.Market().Submit(ctx, market.Spec{Workers: 1, Module: module, Inputs: []string{in}, Args: []string{"--epochs", "1"}})
		if err != nil {
			t.Fatal(err)
		}
		if v, err = req.Market().Wait(ctx, v.ID); err != nil || v.State != market.StateSucceeded {
			t.Fatalf("job: %s %s %v", v.State, v.Error, err)
		}
		return v
	}
	ch := market.Channel(testDomain, wallet(t, req), wallet(t, prov), testToken)

	f.SetBadActor(1, nodetest.BadActor{LoseSettleAnswers: true})
	first := run()
	var firstReceipt string
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		sv, found, err := req.Ledger().LatestVoucher(ledger.VoucherSigned, ch)
		if err == nil && found && sv.Nonce == 1 {
			firstReceipt = sv.Receipt
			return true
		}
		return false
	}, func() string { return "the requester did not sign the first job's voucher" })
	if _, found, _ := prov.Ledger().LatestVoucher(ledger.VoucherHeld, ch); found {
		t.Fatal("the provider holds a voucher whose answer it lost")
	}
	if _, err := prov.Ledger().ByReceipt(firstReceipt); err == nil {
		t.Fatal("the provider logged a receipt whose answer it lost")
	}
	t.Logf("first job %s: receipt %s logged by the requester only", first.ID, firstReceipt[:8])

	f.SetBadActor(1, nodetest.BadActor{})
	run()
	var held ledger.VoucherRecord
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		v, found, err := prov.Ledger().LatestVoucher(ledger.VoucherHeld, ch)
		held = v
		return err == nil && found && v.Nonce == 2
	}, func() string { return "the provider does not hold both vouchers after the next job" })
	signed, _, _ := req.Ledger().LatestVoucher(ledger.VoucherSigned, ch)
	if held.Cumulative != signed.Cumulative || held.Receipt != signed.Receipt {
		t.Errorf("provider holds %+v, the requester signed %+v last", held, signed)
	}
	if _, err := prov.Ledger().ByReceipt(firstReceipt); err != nil {
		t.Errorf("the first job's receipt was not logged by the provider after the resend: %v", err)
	}
	if _, err := prov.Ledger().VoucherFor(ledger.VoucherHeld, firstReceipt); err != nil {
		t.Errorf("the first job's voucher is not held: %v", err)
	}
	res, err := prov.Redeem(ctx, true)
	if err != nil || len(res) != 1 || !res[0].Redeemed || res[0].Amount.String() != held.Cumulative {
		t.Fatalf("redeem: %+v, %v; want one redemption of %s", res, err, held.Cumulative)
	}
}
