//go:build linux && cgo

package dashboard_test

import (
	"context"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ethereum/go-ethereum/common"

	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

var (
	ledgerContract = common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")
	ledgerToken    = common.HexToAddress("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")
)

// memChain is a Settlement contract in memory: escrow and stake by wallet,
// redemptions that pay cumulative - redeemed once.
type memChain struct {
	mu       sync.Mutex
	escrow   map[common.Address]*big.Int
	stake    map[common.Address]*big.Int
	redeemed map[[2]common.Address]*big.Int
}

func (c *memChain) get(m map[common.Address]*big.Int, a common.Address) *big.Int {
	if v, ok := m[a]; ok {
		return new(big.Int).Set(v)
	}
	return new(big.Int)
}

func (c *memChain) Balances(_ context.Context, owner, _ common.Address) (settle.Balances, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return settle.Balances{Wallet: big.NewInt(5e6), Escrow: c.get(c.escrow, owner), PendingWithdrawal: new(big.Int), Stake: c.get(c.stake, owner)}, nil
}

func (c *memChain) Escrow(_ context.Context, requester, _ common.Address) (*big.Int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.get(c.escrow, requester), nil
}

func (c *memChain) IsEligible(_ context.Context, provider common.Address) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.get(c.stake, provider).Cmp(big.NewInt(100e6)) >= 0, nil
}

func (c *memChain) Redeemed(_ context.Context, requester, provider, _ common.Address) (*big.Int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.redeemed[[2]common.Address{requester, provider}]; ok {
		return new(big.Int).Set(r), nil
	}
	return new(big.Int), nil
}

func (c *memChain) Redeem(_ context.Context, sv *settle.SignedVoucher) (common.Hash, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := [2]common.Address{sv.Voucher.Requester, sv.Voucher.Provider}
	r := c.redeemed[k]
	if r == nil {
		r = new(big.Int)
	}
	pay := new(big.Int).Sub(sv.Voucher.Cumulative, r)
	c.escrow[sv.Voucher.Requester] = new(big.Int).Sub(c.get(c.escrow, sv.Voucher.Requester), pay)
	c.redeemed[k] = new(big.Int).Set(sv.Voucher.Cumulative)
	return common.HexToHash("0xabc1"), nil
}

// walletOf is nd's settlement wallet.
func walletOf(t *testing.T, nd *node.Node) common.Address {
	t.Helper()
	k, err := settle.LoadWallet(filepath.Join(nd.DataDir(), settle.WalletFile))
	if err != nil {
		t.Fatal(err)
	}
	return settle.Address(k)
}

// TestDashboardLedgerSettlement: after a settled job, the requester's
// Ledger page shows its escrow and the voucher channel it signed; the
// provider's shows its stake (eligible), the voucher held and what is
// redeemable, and, once it redeemed, the redemption with nothing left to
// redeem.
func TestDashboardLedgerSettlement(t *testing.T) {
	if testing.Short() {
		t.Skip("two nodes and a browser")
	}
	ctx, pageErrors := browser(t)
	chain := &memChain{escrow: map[common.Address]*big.Int{}, stake: map[common.Address]*big.Int{}, redeemed: map[[2]common.Address]*big.Int{}}
	f := nodetest.Start(t, 2, nodetest.Options{
		SettlementChain: func(int) node.SettlementChain { return chain },
		Configure: func(i int, c *config.Config) {
			c.Offer.Enabled = i == 1
			c.Settlement.Contract = ledgerContract.Hex()
			c.Settlement.Token = ledgerToken.Hex()
			c.Settlement.ChainID = 31337
		},
	})
	req, prov := f.Nodes[0], f.Nodes[1]
	chain.mu.Lock()
	chain.escrow[walletOf(t, req)] = big.NewInt(250e6)
	chain.stake[walletOf(t, prov)] = big.NewInt(150e6)
	chain.mu.Unlock()
	f.WaitHeard(t, 30*time.Second)

	module := executortest.WasmModule(t, "copy")
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("gpumesh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	jctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v, err := req.Market().Submit(jctx, market.Spec{Workers: 1, Module: module, Inputs: []string{in}, Args: []string{"--epochs", "1"}, Staked: true})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = req.Market().Wait(jctx, v.ID); err != nil || v.State != market.StateSucceeded {
		t.Fatalf("job: %s %s %v", v.State, v.Error, err)
	}

	page := func(nd *node.Node, js string) string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(nd.DashboardURL()), chromedp.Navigate(nd.APIURL()+"/#/ledger")); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Poll[string](js, chromedp.WithPollingTimeout(20*time.Second)))
		if err != nil {
			t.Fatalf("ledger page of %s: %v", nd.PeerID(), err)
		}
		return got
	}
	text := page(req, `(() => { const t = document.querySelector("#lg-vouchers-table"); return t && document.querySelector("#lg-escrow") ? document.querySelector("#lg-wallet").innerText + "\n" + document.querySelector("#lg-vouchers").innerText : ""; })()`)
	for _, want := range []string{walletOf(t, req).Hex(), "250.000000", "signed (you pay)", "held: 0 channels, 0 vouchers; signed: 1 channel, 1 voucher"} {
		if !strings.Contains(text, want) {
			t.Errorf("requester's ledger page does not show %q:\n%s", want, text)
		}
	}
	shoot(t, ctx, "ledger-requester")

	text = page(prov, `(() => { const r = document.querySelector("#lg-redeemable"); return r && r.textContent !== "0.000000" ? document.querySelector("#lg-wallet").innerText + "\n" + document.querySelector("#lg-vouchers").innerText : ""; })()`)
	for _, want := range []string{walletOf(t, prov).Hex(), "150.000000", "eligible for staked jobs", "held (paid to you)", "held: 1 channel, 1 voucher", "none yet"} {
		if !strings.Contains(text, want) {
			t.Errorf("provider's ledger page does not show %q:\n%s", want, text)
		}
	}
	redeemable, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#lg-redeemable")))
	if redeemable == "0.000000" || redeemable == "" {
		t.Errorf("redeemable before redeeming: %q, want the voucher's amount", redeemable)
	}
	if res, err := prov.Redeem(jctx, true); err != nil || len(res) != 1 || !res[0].Redeemed {
		t.Fatalf("redeem: %+v, %v", res, err)
	}
	text = page(prov, `(() => { const t = document.querySelector("#lg-vouchers"); return t && t.innerText.includes("redeemed") && document.querySelector("#lg-redeemable").textContent === "0.000000" ? t.innerText : ""; })()`)
	if !strings.Contains(text, short(common.HexToHash("0xabc1").Hex())) {
		t.Errorf("provider's ledger page after redeeming does not show the transaction:\n%s", text)
	}
	shoot(t, ctx, "ledger-provider")
	if errs := pageErrors(); len(errs) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(errs, "\n"))
	}
}

// short is the page's short form of a long ID.
func short(s string) string {
	if len(s) > 16 {
		return s[:6] + "…" + s[len(s)-6:]
	}
	return s
}
