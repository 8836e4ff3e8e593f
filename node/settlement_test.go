package node_test

import (
	"context"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

var (
	testContract = common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")
	testToken    = common.HexToAddress("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")
	testDomain   = settle.Domain{ChainID: 31337, Contract: testContract}
)

func wallet(t *testing.T, nd *node.Node) common.Address {
	t.Helper()
	k, err := settle.LoadWallet(filepath.Join(nd.DataDir(), settle.WalletFile))
	if err != nil {
		t.Fatalf("wallet of %s: %v", nd.PeerID(), err)
	}
	return settle.Address(k)
}

// TestVouchersWithReceipts: with settlement on, a 2-worker job ends in a
// countersigned receipt and a cumulative voucher per rank, signed by the
// requester's wallet to each provider's, kept by both sides with the
// receipt, and a work signed by the provider; a requester whose vouchers
// are for another chain has them refused, with the receipts still logged,
// and is charged a violation.
func TestVouchersWithReceipts(t *testing.T) {
	if testing.Short() {
		t.Skip("a 4-node fleet")
	}
	module := executortest.WasmModule(t, "copy")
	chain := newFakeChain()
	f := nodetest.Start(t, 4, nodetest.Options{SettlementChain: func(i int) node.SettlementChain {
		if i == 3 {
			return nil // reads no escrow: only its providers check it
		}
		return chain
	}, Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i == 1 || i == 2
		c.Settlement.Contract = testContract.Hex()
		c.Settlement.Token = testToken.Hex()
		c.Settlement.ChainID = 31337
		if i == 3 {
			c.Settlement.ChainID = 1 // signs for another chain
		}
	}})
	f.WaitHeard(t, 30*time.Second)
	req := f.Nodes[0]
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("gpumesh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := func(nd *node.Node) market.JobView {
		v, err := nd.Market().Submit(ctx, market.Spec{Workers: 2, Module: module, Inputs: []string{in}, Args: []string{"--epochs", "1"}})
		if err != nil {
			t.Fatal(err)
		}
		if v, err = nd.Market().Wait(ctx, v.ID); err != nil {
			t.Fatal(err)
		}
		if v.State != market.StateSucceeded {
			t.Fatalf("state %s: %s", v.State, v.Error)
		}
		return v
	}
	payer := wallet(t, req)
	// An escrow that cannot cover the job's cap: the job is refused before it is published.
	chain.setEscrow(payer, big.NewInt(1))
	if _, err := req.Market().Submit(ctx, market.Spec{Workers: 2, Module: module, Inputs: []string{in}}); !errors.Is(err, market.ErrEscrow) {
		t.Fatalf("submit with 1 unit in escrow: %v, want ErrEscrow", err)
	}
	chain.setEscrow(payer, big.NewInt(1e12))
	held := map[string]*big.Int{} // provider peer -> cumulative seen
	for range 2 {                 // two jobs: the second's vouchers follow the first's
		v := run(req)
		for _, u := range v.Usage {
			if len(u.Receipts) != len(u.Ranks) {
				t.Fatalf("usage of %s: receipts %v for ranks %v (%s)", u.Peer, u.Receipts, u.Ranks, u.Settlement)
			}
			prov := f.Nodes[slices.IndexFunc(f.Nodes, func(nd *node.Node) bool { return nd.PeerID().String() == u.Peer })]
			payee := wallet(t, prov)
			for _, id := range u.Receipts {
				checkVoucher(t, req, prov, id, payer, payee, held)
			}
		}
	}
	// Each provider redeems its latest voucher once: paid exactly the sum of its receipts.
	for _, prov := range f.Nodes[1:3] {
		res, err := prov.Redeem(ctx, true)
		if err != nil {
			t.Fatalf("redeem: %v", err)
		}
		want := held[prov.PeerID().String()]
		if want == nil {
			continue
		}
		if len(res) != 1 || !res[0].Redeemed || res[0].Amount.Cmp(want) != 0 {
			t.Errorf("provider %s redeemed %+v, want one redemption of %s", prov.PeerID(), res, want)
		}
		if got := chain.paidTo(wallet(t, prov)); got.Cmp(want) != 0 {
			t.Errorf("chain paid %s to provider %s, want %s", got, prov.PeerID(), want)
		}
		if res, err := prov.Redeem(ctx, true); err != nil || len(res) != 0 {
			t.Errorf("second redemption: %+v, %v; want nothing to do", res, err)
		}
		b, err := prov.Balances(ctx)
		if err != nil || len(b.Vouchers) != 1 || b.Vouchers[0].Role != ledger.VoucherHeld ||
			b.Vouchers[0].Redeemed != want.String() || b.Vouchers[0].Redeemable != "0" || b.Vouchers[0].Redemption != ledger.RedeemDone {
			t.Errorf("provider's balances: %+v, %v; want one held channel, %s redeemed, nothing redeemable", b.Vouchers, err, want)
		}
	}
	if b, err := req.Balances(ctx); err != nil || len(b.Vouchers) != 2 || b.Vouchers[0].Role != ledger.VoucherSigned {
		t.Errorf("requester's balances: %+v, %v; want two signed channels", b.Vouchers, err)
	}
	if chain.submitted() != 2 {
		t.Errorf("%d redemptions submitted, want one per provider", chain.submitted())
	}
	// Node 3 signs for chain 1: the providers refuse its vouchers.
	bad := f.Nodes[3]
	chain.setEscrow(wallet(t, bad), big.NewInt(1e12))
	v := run(bad)
	for _, u := range v.Usage {
		if !strings.Contains(u.Settlement, "voucher refused") || !strings.Contains(u.Settlement, "wrong chain or contract") {
			t.Errorf("usage of %s settled as %q, want the voucher refused for its chain", u.Peer, u.Settlement)
		}
		pid, _ := peer.Decode(u.Peer)
		prov := f.Nodes[slices.IndexFunc(f.Nodes, func(nd *node.Node) bool { return nd.PeerID() == pid })]
		for _, id := range u.Receipts {
			if _, err := prov.Ledger().ByReceipt(id); err != nil {
				t.Errorf("receipt %s of a refused voucher not logged by the provider: %v", id, err)
			}
			if _, err := prov.Ledger().VoucherFor(ledger.VoucherHeld, id); err == nil {
				t.Errorf("provider holds a voucher for another chain for %s", id)
			}
		}
		view, _ := prov.Reputation().View(bad.PeerID())
		if view.Counts[reputation.Violation] <= 0 {
			t.Errorf("provider %s did not charge the requester a violation: %+v", u.Peer, view.Counts)
		}
	}
	// Node 3 checks no escrow of its own; the providers do, and refuse to run for an empty one.
	chain.setEscrow(wallet(t, bad), big.NewInt(0))
	refused, err := bad.Market().Submit(ctx, market.Spec{Workers: 2, Module: module, Inputs: []string{in}})
	if err != nil {
		t.Fatal(err)
	}
	if refused, err = bad.Market().Wait(ctx, refused.ID); err != nil {
		t.Fatal(err)
	}
	if refused.State == market.StateSucceeded || !slices.ContainsFunc(refused.Events, func(e market.Event) bool { return strings.Contains(e.Text, "escrow does not cover") }) {
		t.Errorf("job of a requester with no escrow: state %s (%s), want refused by the providers for its escrow", refused.State, refused.Error)
	}
	// A provider that refused the run ended its reservation: its devices are free at once.
	refusedBy := 0
	for _, prov := range f.Nodes[1:3] {
		for _, r := range prov.Market().Reservations() {
			if r.Job == refused.ID && strings.HasPrefix(r.Ended, "refused: escrow does not cover") {
				refusedBy++
			}
		}
	}
	if refusedBy == 0 {
		t.Errorf("no provider ended its reservation of job %s for the requester's escrow", refused.ID)
	}
}

// checkVoucher checks the voucher for receipt id between req and prov, and
// that it follows the previous one held (tracked in held).
func checkVoucher(t *testing.T, req, prov *node.Node, id string, payer, payee common.Address, held map[string]*big.Int) {
	t.Helper()
	mine, err := req.Ledger().VoucherFor(ledger.VoucherSigned, id)
	if err != nil {
		t.Fatalf("requester's voucher for %s: %v", id, err)
	}
	theirs, err := prov.Ledger().VoucherFor(ledger.VoucherHeld, id)
	if err != nil {
		t.Fatalf("provider's voucher for %s: %v", id, err)
	}
	if string(mine.Voucher) != string(theirs.Voucher) {
		t.Errorf("voucher for %s differs between the two ledgers", id)
	}
	sv, err := settle.DecodeSignedVoucher(theirs.Voucher)
	if err != nil {
		t.Fatal(err)
	}
	if err := sv.Verify(testDomain); err != nil {
		t.Fatalf("held voucher: %v", err)
	}
	e, err := prov.Ledger().ByReceipt(id)
	if err != nil {
		t.Fatal(err)
	}
	sg, _ := e.Signed()
	rc, err := ledger.Verify(sg)
	if err != nil {
		t.Fatal(err)
	}
	prev, ok := held[rc.Provider]
	if !ok {
		prev = new(big.Int)
	}
	want := new(big.Int).Add(prev, big.NewInt(int64(rc.Amount)))
	if sv.Voucher.Requester != payer || sv.Voucher.Provider != payee || sv.Voucher.Token != testToken || sv.Voucher.Cumulative.Cmp(want) != 0 {
		t.Errorf("voucher %+v; want %s -> %s, cumulative %s (receipt amount %d)", sv.Voucher, payer.Hex(), payee.Hex(), want, rc.Amount)
	}
	held[rc.Provider] = want
	sw, err := settle.DecodeSignedWork(theirs.Work)
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Verify(testDomain, payee); err != nil {
		t.Errorf("work: %v", err)
	}
	if sw.Work.Job != settle.JobHash(rc.Job) || int(sw.Work.Rank) != rc.Rank || sw.Work.Amount.Int64() != int64(rc.Amount) || sw.Work.Requester != payer {
		t.Errorf("work %+v for receipt %+v", sw.Work, rc)
	}
	t.Logf("receipt %s: %d micros, voucher nonce %d cumulative %s", id[:8], rc.Amount, sv.Voucher.Nonce, sv.Voucher.Cumulative)
}

// fakeChain is a Settlement contract in memory for the nodes of a test:
// escrow by requester, and redemptions that pay cumulative - redeemed once.
type fakeChain struct {
	mu       sync.Mutex
	escrow   map[common.Address]*big.Int
	redeemed map[[2]common.Address]*big.Int
	paid     map[common.Address]*big.Int
	submits  int
}

func newFakeChain() *fakeChain {
	return &fakeChain{escrow: map[common.Address]*big.Int{}, redeemed: map[[2]common.Address]*big.Int{}, paid: map[common.Address]*big.Int{}}
}

func (c *fakeChain) setEscrow(a common.Address, v *big.Int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.escrow[a] = v
}

func (c *fakeChain) paidTo(a common.Address) *big.Int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.paid[a]; ok {
		return new(big.Int).Set(p)
	}
	return new(big.Int)
}

func (c *fakeChain) submitted() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.submits
}

func (c *fakeChain) Balances(_ context.Context, owner, _ common.Address) (settle.Balances, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return settle.Balances{Wallet: new(big.Int), Escrow: c.escrow[owner], PendingWithdrawal: new(big.Int), Stake: new(big.Int)}, nil
}

func (c *fakeChain) Escrow(_ context.Context, requester, _ common.Address) (*big.Int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.escrow[requester]; ok {
		return new(big.Int).Set(e), nil
	}
	return new(big.Int), nil
}

func (c *fakeChain) Redeemed(_ context.Context, requester, provider, _ common.Address) (*big.Int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.redeemed[[2]common.Address{requester, provider}]; ok {
		return new(big.Int).Set(r), nil
	}
	return new(big.Int), nil
}

func (c *fakeChain) Redeem(_ context.Context, sv *settle.SignedVoucher) (common.Hash, error) {
	if err := sv.Verify(testDomain); err != nil {
		return common.Hash{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.submits++
	k := [2]common.Address{sv.Voucher.Requester, sv.Voucher.Provider}
	r := c.redeemed[k]
	if r == nil {
		r = new(big.Int)
	}
	if sv.Voucher.Cumulative.Cmp(r) <= 0 {
		return common.Hash{}, errors.New("contract: cumulative not above redeemed")
	}
	pay := new(big.Int).Sub(sv.Voucher.Cumulative, r)
	if e := c.escrow[sv.Voucher.Requester]; e == nil || e.Cmp(pay) < 0 {
		return common.Hash{}, errors.New("contract: over the escrow")
	}
	c.escrow[sv.Voucher.Requester] = new(big.Int).Sub(c.escrow[sv.Voucher.Requester], pay)
	if c.paid[sv.Voucher.Provider] == nil {
		c.paid[sv.Voucher.Provider] = new(big.Int)
	}
	c.paid[sv.Voucher.Provider].Add(c.paid[sv.Voucher.Provider], pay)
	c.redeemed[k] = new(big.Int).Set(sv.Voucher.Cumulative)
	return common.BytesToHash([]byte{byte(c.submits)}), nil
}
