package market

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/settle"
)

// voucherPair is a requester and a provider that settle, each with its ledger.
type voucherPair struct {
	reqKey, provKey crypto.PrivKey
	reqID, provID   peer.ID
	req, prov       *Settlement
	reqLog, provLog *ledger.Log
	n               int
}

func newVoucherPair(t testing.TB) *voucherPair {
	t.Helper()
	vp := &voucherPair{}
	vp.reqKey, _, _ = crypto.GenerateEd25519Key(rand.Reader)
	vp.provKey, _, _ = crypto.GenerateEd25519Key(rand.Reader)
	vp.reqID, _ = peer.IDFromPrivateKey(vp.reqKey)
	vp.provID, _ = peer.IDFromPrivateKey(vp.provKey)
	d := settle.Domain{ChainID: 31337, Contract: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")}
	token := common.HexToAddress("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")
	wk := func() *ecdsa.PrivateKey { k, _ := ethcrypto.GenerateKey(); return k }
	vp.req = &Settlement{Domain: d, Token: token, Decimals: 6, Wallet: wk()}
	vp.prov = &Settlement{Domain: d, Token: token, Decimals: 6, Wallet: wk()}
	open := func(self peer.ID) *ledger.Log {
		l, err := ledger.Open(t.TempDir(), ledger.Options{Self: self})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		return l
	}
	vp.reqLog, vp.provLog = open(vp.reqID), open(vp.provID)
	return vp
}

// receipt is a countersigned receipt of seconds of work.
func (vp *voucherPair) receipt(t testing.TB, seconds int) ledger.Verified {
	t.Helper()
	vp.n++
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := ledger.Receipt{Job: fmt.Sprintf("%032x", vp.n), Requester: vp.reqID.String(), Provider: vp.provID.String(), Devices: 1,
		Start: start, End: start.Add(time.Duration(seconds) * time.Second), Issued: start.Add(time.Hour), UnitPrice: 3_600_000,
		Status: ledger.StatusFailed, Seq: 1}
	r.Finalize()
	sg, err := ledger.Sign(vp.provKey, r)
	if err == nil {
		sg, err = ledger.Countersign(vp.reqKey, sg)
	}
	var v ledger.Verified
	if err == nil {
		v, err = ledger.Prepare(sg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sign has the requester sign and log vouchers for vs.
func (vp *voucherPair) sign(t testing.TB, vs ...ledger.Verified) [][]byte {
	t.Helper()
	rcs := make([]ledger.Receipt, len(vs))
	for i, v := range vs {
		rcs[i] = v.Receipt()
	}
	recs, wire, err := vp.req.signVouchers(vp.reqLog, vp.prov.address(), rcs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vp.reqLog.AppendWithVouchers(context.Background(), vs, recs); err != nil {
		t.Fatal(err)
	}
	return wire
}

// take has the provider check and log vs with wire.
func (vp *voucherPair) take(t *testing.T, vs []ledger.Verified, wire [][]byte) error {
	t.Helper()
	recs, err := vp.prov.takeVouchers(vp.provLog, vp.req.address(), vs, wire)
	if _, aerr := vp.provLog.AppendWithVouchers(context.Background(), vs, recs); aerr != nil {
		t.Fatal(aerr)
	}
	return err
}

func TestTakeVouchersKeepsTheLastGoodOne(t *testing.T) {
	vp := newVoucherPair(t)
	a, b := vp.receipt(t, 10), vp.receipt(t, 20)
	if err := vp.take(t, []ledger.Verified{a, b}, vp.sign(t, a, b)); err != nil {
		t.Fatalf("good vouchers refused: %v", err)
	}
	ch := Channel(vp.prov.Domain, vp.req.address(), vp.prov.address(), vp.prov.Token)
	latest, _, _ := vp.provLog.LatestVoucher(ledger.VoucherHeld, ch)
	if latest.Nonce != 2 || latest.Cumulative != "30000" {
		t.Fatalf("latest held %+v, want nonce 2 cumulative 30000 (10 s + 20 s at $3.60/h)", latest)
	}
	// The requester signs a voucher that pays less than it owes.
	c := vp.receipt(t, 5)
	next := settle.NextVoucher(&settle.Voucher{Requester: vp.req.address(), Provider: vp.prov.address(), Token: vp.req.Token, Cumulative: big.NewInt(20_000), Nonce: 2},
		vp.req.address(), vp.prov.address(), vp.req.Token, big.NewInt(5_000))
	sv, _ := settle.SignVoucher(vp.req.Wallet, vp.req.Domain, next)
	low, _ := sv.Encode()
	err := vp.take(t, []ledger.Verified{c}, [][]byte{low})
	if !errors.Is(err, errVoucher) || !errors.Is(err, settle.ErrCumulative) {
		t.Fatalf("lower cumulative: %v, want errVoucher wrapping settle.ErrCumulative", err)
	}
	if _, err := vp.provLog.ByReceipt(c.Receipt().ID); err != nil {
		t.Errorf("the receipt of a refused voucher was not logged: %v", err)
	}
	if now, _, _ := vp.provLog.LatestVoucher(ledger.VoucherHeld, ch); now.Nonce != 2 || now.Receipt != latest.Receipt {
		t.Errorf("latest held after a refusal: %+v, want the previous good one", now)
	}
	// Signed by another key, or a count that does not match: refused too.
	d := vp.receipt(t, 5)
	otherWallet, _ := ethcrypto.GenerateKey()
	forged := settle.NextVoucher(&settle.Voucher{Cumulative: big.NewInt(30_000), Nonce: 2}, vp.req.address(), vp.prov.address(), vp.req.Token, big.NewInt(5_000))
	fsv := &settle.SignedVoucher{V: settle.WireVersion, Domain: vp.req.Domain, Voucher: forged}
	fsv.Sig, _ = settle.Sign(otherWallet, forged.Digest(vp.req.Domain))
	fb, _ := fsv.Encode()
	if err := vp.take(t, []ledger.Verified{d}, [][]byte{fb}); !errors.Is(err, settle.ErrSignature) {
		t.Errorf("voucher signed by another key: %v, want ErrSignature", err)
	}
	e := vp.receipt(t, 5)
	if err := vp.take(t, []ledger.Verified{e}, nil); !errors.Is(err, errVoucher) {
		t.Errorf("no voucher for a receipt: %v, want errVoucher", err)
	}
}
