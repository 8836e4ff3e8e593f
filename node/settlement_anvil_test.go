package node_test

import (
	"context"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/ledger/settle/contracts"
	"github.com/gpumesh/gpumesh/ledger/settle/contracts/contractstest"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// settleConfig points c's settlement at rig (vouchers signed for its chain
// and contract, paid in its test stablecoin).
func settleConfig(c *config.Config, rig *contractstest.Rig) {
	c.Settlement.Contract = rig.Owner.Address().Hex()
	c.Settlement.Token = rig.Token.Hex()
	c.Settlement.ChainID = rig.ChainID()
}

// openChain opens rig's contract the way a node does (node.OpenSettlementChain
// from [anchor] rpc_url and [settlement]), sending with a fresh funded key:
// anyone may submit a voucher, the money goes to the provider it names.
func openChain(t *testing.T, rig *contractstest.Rig) *contracts.Chain {
	t.Helper()
	c := config.Default()
	settleConfig(&c, rig)
	c.Anchor.RPCURL = rig.URL
	ch, err := node.OpenSettlementChain(context.Background(), c, contractstest.FundedKey(t, rig.URL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ch.Close)
	return ch
}

// feeOf is the contract's fee at 25 bp of delta, rounded down.
func feeOf(delta *big.Int) *big.Int {
	return new(big.Int).Div(new(big.Int).Mul(delta, big.NewInt(contracts.DefaultFeeBP)), big.NewInt(10_000))
}

// TestSettlementEndToEnd on the dev chain: a requester with escrow runs a
// 2-worker job on two providers (wasm); each provider redeems its latest
// voucher once, through `gpumesh settle`'s API call, and the token moves
// exactly as the receipts say: each provider paid the sum of its
// receipts less 0.25 %, the escrow charged that sum plus 0.25 %, the
// treasury both fees.
func TestSettlementEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("a 3-node fleet on the dev chain")
	}
	rig := contractstest.Deploy(t, time.Hour)
	module := executortest.WasmModule(t, "copy")
	f := nodetest.Start(t, 3, nodetest.Options{
		SettlementChain: func(int) node.SettlementChain { return openChain(t, rig) },
		Configure: func(i int, c *config.Config) {
			c.Offer.Enabled = i > 0
			settleConfig(c, rig)
		},
	})
	f.WaitHeard(t, 30*time.Second)
	req := f.Nodes[0]
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
	v, err := req.Market().Submit(ctx, market.Spec{Workers: 2, Module: module, Inputs: []string{in}, Args: []string{"--epochs", "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = req.Market().Wait(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if v.State != market.StateSucceeded {
		t.Fatalf("state %s: %s", v.State, v.Error)
	}
	owed := map[common.Address]*big.Int{} // provider wallet -> sum of its receipts
	for _, u := range v.Usage {
		prov := f.Nodes[slices.IndexFunc(f.Nodes, func(nd *node.Node) bool { return nd.PeerID().String() == u.Peer })]
		payee := wallet(t, prov)
		for _, id := range u.Receipts {
			e, err := prov.Ledger().ByReceipt(id)
			if err != nil {
				t.Fatal(err)
			}
			sg, _ := e.Signed()
			rc, err := ledger.Verify(sg)
			if err != nil {
				t.Fatal(err)
			}
			if owed[payee] == nil {
				owed[payee] = new(big.Int)
			}
			owed[payee].Add(owed[payee], big.NewInt(int64(rc.Amount)))
		}
	}
	if len(owed) != 2 {
		t.Fatalf("receipts for %d providers, want 2: %+v", len(owed), v.Usage)
	}
	fees, charged := new(big.Int), new(big.Int)
	for _, prov := range f.Nodes[1:] {
		payee := wallet(t, prov)
		want := owed[payee]
		c := api.NewClient(apiURL(t, prov)).WithToken(prov.APIToken())
		s, err := c.Settle(ctx)
		if err != nil || s.Error != "" || len(s.Redemptions) != 1 {
			t.Fatalf("settle on provider %s: %+v, %v", prov.PeerID(), s, err)
		}
		r := s.Redemptions[0]
		pFee, rFee := feeOf(want), feeOf(want)
		paid := new(big.Int).Sub(want, pFee)
		if !r.Redeemed || r.Amount != want.String() || r.Paid != paid.String() || r.ProviderFee != pFee.String() || r.RequesterFee != rFee.String() {
			t.Errorf("provider %s settled %+v; want %s settled, %s paid, fees %s and %s", prov.PeerID(), r, want, paid, rFee, pFee)
		}
		if got := rig.Balance(t, payee); got.Cmp(paid) != 0 {
			t.Errorf("provider %s holds %s, want %s (receipts %s less 0.25 %%)", prov.PeerID(), got, paid, want)
		}
		fees.Add(fees, pFee).Add(fees, rFee)
		charged.Add(charged, want).Add(charged, rFee)
		if s, err := c.Settle(ctx); err != nil || len(s.Redemptions) != 0 {
			t.Errorf("second settle: %+v, %v; want nothing to redeem", s, err)
		}
	}
	if got := rig.Balance(t, rig.Treasury); got.Cmp(fees) != 0 {
		t.Errorf("treasury holds %s, want the fees %s", got, fees)
	}
	payer := settle.Address(key)
	if got, want := rig.Escrow(t, payer), new(big.Int).Sub(big.NewInt(deposit), charged); got.Cmp(want) != 0 {
		t.Errorf("escrow %s, want %s (deposit less receipts and the requester's fees)", got, want)
	}
}

// apiURL is nd's API address, as the CLI reads it from DIR/api.
func apiURL(t *testing.T, nd *node.Node) string {
	t.Helper()
	u, err := api.ReadAddrFile(nd.DataDir())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSettleWithoutSettlement: `gpumesh settle` on a node that does not
// settle is refused with a 409 saying why.
func TestSettleWithoutSettlement(t *testing.T) {
	f := nodetest.Start(t, 1, nodetest.Options{})
	nd := f.Nodes[0]
	_, err := api.NewClient(apiURL(t, nd)).WithToken(nd.APIToken()).Settle(context.Background())
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != 409 || !strings.Contains(ae.Message, "settlement off") {
		t.Fatalf("settle without settlement: %v, want a 409 saying settlement is off", err)
	}
	_, err = api.NewClient(apiURL(t, nd)).Settle(context.Background())
	if !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("settle without the token: %v, want 401", err)
	}
}
