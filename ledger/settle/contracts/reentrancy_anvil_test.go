package contracts_test

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"

	"github.com/gpumesh/gpumesh/ledger/settle/contracts"
)

// hostileState reads what the hostile token recorded of its last re-entry.
func hostileState(t *testing.T, r *rig, token common.Address) (reentered, succeeded bool, ret []byte) {
	t.Helper()
	h := contracts.NewHostileToken()
	inst := h.Instance(r.ec, token)
	opts := &bind.CallOpts{Context: r.ctx}
	var err error
	if reentered, err = bind.Call(inst, opts, h.PackReentered(), h.UnpackReentered); err != nil {
		t.Fatal(err)
	}
	if succeeded, err = bind.Call(inst, opts, h.PackReentrySucceeded(), h.UnpackReentrySucceeded); err != nil {
		t.Fatal(err)
	}
	if ret, err = bind.Call(inst, opts, h.PackReentryReturn(), h.UnpackReentryReturn); err != nil {
		t.Fatal(err)
	}
	return reentered, succeeded, ret
}

// TestReentrancyThroughHostileToken: a token that calls back into the
// contract from inside its transfer (redeeming the same voucher again,
// withdrawing, unstaking) is refused by the reentrancy guard; the outer
// redemption pays exactly once.
func TestReentrancyThroughHostileToken(t *testing.T) { onChains(t, testReentrancyThroughHostileToken) }

func testReentrancyThroughHostileToken(t *testing.T, ch *testChain) {
	r := newRig(t, ch, nil)
	req, prov := addr(r.requester), addr(r.provider)
	evil := r.deployToken(r.third, contracts.HostileTokenMetaData.Bin)
	r.mint(evil, req, 5_000_000)
	if _, err := r.as(r.requester).Deposit(r.ctx, evil, big.NewInt(5_000_000)); err != nil {
		t.Fatal(err)
	}
	h, s := contracts.NewHostileToken(), contracts.NewSettlement()
	v, sig := r.voucher(evil, 1_000_000, 1)

	attacks := []struct {
		name string
		data []byte
	}{
		{"redeem the same voucher again", s.PackRedeem(v, sig)},
		{"withdraw", s.PackWithdraw(evil)},
		{"deposit", s.PackDeposit(evil, big.NewInt(1))},
	}
	paid := int64(0)
	for i, a := range attacks {
		r.send(r.third, evil, h.PackArm(r.owner.Address(), a.data))
		vv, ss := v, sig
		if i > 0 { // later rounds need a newer voucher to reach the transfer
			vv, ss = r.voucher(evil, int64(i+1)*1_000_000, uint64(i+1))
		}
		red, err := r.as(r.provider).Redeem(r.ctx, vv, ss)
		if err != nil {
			t.Fatalf("%s: the outer redeem failed: %v", a.name, err)
		}
		paid += red.Paid.Int64()
		reentered, succeeded, ret := hostileState(t, r, evil)
		if !reentered || succeeded {
			t.Fatalf("%s: reentered %v, succeeded %v: want a refused re-entry", a.name, reentered, succeeded)
		}
		rev := contracts.DecodeRevert(ret)
		wantErr(t, rev, contracts.ErrReentrant)
		t.Logf("%s: %v", a.name, rev)
	}
	wantBig(t, "provider paid once per voucher", r.balance(evil, prov), paid)
	wantBig(t, "provider", r.balance(evil, prov), 3*997_500)
	wantBig(t, "treasury", r.balance(evil, r.treasury), 3*5_000)
	wantBig(t, "escrow", r.escrow(req, evil), 5_000_000-3*1_002_500)
	got, _ := r.owner.Redeemed(r.ctx, req, prov, evil)
	wantBig(t, "redeemed", got, 3_000_000)
}
