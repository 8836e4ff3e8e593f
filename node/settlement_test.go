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
	f := nodetest.Start(t, 4, nodetest.Options{Configure: func(i int, c *config.Config) {
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
	// Node 3 signs for chain 1: the providers refuse its vouchers.
	bad := f.Nodes[3]
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
