package market

import (
	"context"
	"errors"
	"testing"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/settle"
)

// resend is one settlement after lost ones: the provider's held voucher,
// the requester's missed vouchers for it, then vs's new vouchers; the
// provider opens the resent ones, checks all and logs. It returns the
// provider's refusal.
func (vp *voucherPair) resend(t *testing.T, vs ...ledger.Verified) error {
	t.Helper()
	held, err := vp.prov.held(vp.provLog, vp.req.address())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := vp.req.missed(vp.reqLog, vp.provID, vp.prov.address(), held.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	wire := vp.sign(t, vs...)
	all, rwire, fresh, err := openResent(vp.provLog, vp.provID, vp.reqID, rs)
	if err != nil {
		return err
	}
	recs, verr := vp.prov.takeVouchers(vp.provLog, vp.req.address(), append(all, vs...), append(rwire, wire...))
	if _, err := vp.provLog.AppendWithVouchers(context.Background(), append(fresh, vs...), recs); err != nil {
		t.Fatal(err)
	}
	return verr
}

// TestLostSettleAnswerResent: the requester logged two receipts' vouchers
// whose answers never reached the provider; at the next settlement the
// provider's held nonce shows the gap, the requester resends both with
// their receipts, and the provider holds all three, cumulative the sum.
// Without the resend the new voucher is refused for the gap.
func TestLostSettleAnswerResent(t *testing.T) {
	vp := newVoucherPair(t)
	a, b, c := vp.receipt(t, 10), vp.receipt(t, 20), vp.receipt(t, 30)
	vp.sign(t, a) // answer lost: the provider never sees a
	vp.sign(t, b) // nor b
	ch := Channel(vp.prov.Domain, vp.req.address(), vp.prov.address(), vp.prov.Token)

	// Today's path, on a copy of the provider's state: the gap is refused.
	wc := vp.sign(t, c)
	recs, err := vp.prov.takeVouchers(vp.provLog, vp.req.address(), []ledger.Verified{c}, wc)
	if !errors.Is(err, settle.ErrNonce) && !errors.Is(err, errVoucher) || len(recs) != 0 {
		t.Fatalf("a voucher after a gap, not resent: %d taken, %v; want refused", len(recs), err)
	}

	// The next settlement resends a, b and c's own (signed above) before d's.
	d := vp.receipt(t, 40)
	if err := vp.resend(t, d); err != nil {
		t.Fatalf("resend: %v", err)
	}
	latest, _, _ := vp.provLog.LatestVoucher(ledger.VoucherHeld, ch)
	if latest.Nonce != 4 || latest.Cumulative != "100000" {
		t.Fatalf("held after the resend: nonce %d cumulative %s, want 4 and 100000 (10+20+30+40 s at $3.60/h)", latest.Nonce, latest.Cumulative)
	}
	for _, v := range []ledger.Verified{a, b, c, d} {
		if _, err := vp.provLog.ByReceipt(v.Receipt().ID); err != nil {
			t.Errorf("receipt %s not logged by the provider: %v", v.Receipt().ID, err)
		}
		if _, err := vp.provLog.VoucherFor(ledger.VoucherHeld, v.Receipt().ID); err != nil {
			t.Errorf("voucher of receipt %s not held: %v", v.Receipt().ID, err)
		}
	}
	// Nothing missed: nothing resent.
	if rs, err := vp.req.missed(vp.reqLog, vp.provID, vp.prov.address(), 4); err != nil || len(rs) != 0 {
		t.Errorf("missed with nothing missing: %d, %v", len(rs), err)
	}
}

// TestResentBounded: a gap longer than maxResent closes over two
// settlements, each resending at most maxResent in nonce order.
func TestResentBounded(t *testing.T) {
	vp := newVoucherPair(t)
	for range maxResent + 4 {
		vp.sign(t, vp.receipt(t, 1))
	}
	rs, err := vp.req.missed(vp.reqLog, vp.provID, vp.prov.address(), 0)
	if err != nil || len(rs) != maxResent {
		t.Fatalf("missed: %d, %v; want %d", len(rs), err, maxResent)
	}
	// The first settlement takes maxResent and its own voucher stays
	// refused (still a gap); the next one closes it.
	if err := vp.resend(t, vp.receipt(t, 1)); !errors.Is(err, errVoucher) {
		t.Fatalf("first settlement: %v, want its own voucher refused past the gap", err)
	}
	if err := vp.resend(t, vp.receipt(t, 1)); err != nil {
		t.Fatalf("second settlement: %v", err)
	}
	ch := Channel(vp.prov.Domain, vp.req.address(), vp.prov.address(), vp.prov.Token)
	if latest, _, _ := vp.provLog.LatestVoucher(ledger.VoucherHeld, ch); latest.Nonce != maxResent+6 {
		t.Errorf("held nonce %d, want %d", latest.Nonce, maxResent+6)
	}
}

// TestResentRefusals: a resent receipt that is not the provider's, one
// resent twice, too many, or bytes that are no receipt, are refused; a
// resent voucher altered is refused as any voucher.
func TestResentRefusals(t *testing.T) {
	vp := newVoucherPair(t)
	a := vp.receipt(t, 10)
	vp.sign(t, a)
	rs, err := vp.req.missed(vp.reqLog, vp.provID, vp.prov.address(), 0)
	if err != nil || len(rs) != 1 {
		t.Fatalf("missed: %d, %v", len(rs), err)
	}
	many := make([]resentVoucher, maxResent+1)
	for i := range many {
		many[i] = rs[0]
	}
	for name, tc := range map[string]struct {
		rs              []resentVoucher
		self, requester bool
	}{
		"another provider's":  {rs: rs, self: false, requester: true},
		"another requester's": {rs: rs, self: true, requester: false},
		"resent twice":        {rs: []resentVoucher{rs[0], rs[0]}, self: true, requester: true},
		"too many":            {rs: many, self: true, requester: true},
		"not a receipt":       {rs: []resentVoucher{{Receipt: []byte("{}"), Voucher: rs[0].Voucher}}, self: true, requester: true},
	} {
		self, req := vp.provID, vp.reqID
		if !tc.self {
			self = vp.reqID
		}
		if !tc.requester {
			req = vp.provID
		}
		if _, _, _, err := openResent(vp.provLog, self, req, tc.rs); !errors.Is(err, errResent) {
			t.Errorf("%s: %v, want errResent", name, err)
		}
	}
	all, wire, _, err := openResent(vp.provLog, vp.provID, vp.reqID, rs)
	if err != nil {
		t.Fatal(err)
	}
	b := vp.receipt(t, 99) // a's voucher presented for another receipt's amount
	if _, err := vp.prov.takeVouchers(vp.provLog, vp.req.address(), []ledger.Verified{b}, wire); !errors.Is(err, errVoucher) {
		t.Errorf("a resent voucher for another amount: %v, want errVoucher", err)
	}
	if recs, err := vp.prov.takeVouchers(vp.provLog, vp.req.address(), all, wire); err != nil || len(recs) != 1 {
		t.Errorf("the resent voucher itself: %d, %v", len(recs), err)
	}
}

// FuzzOpenResent: whatever a requester resends, openResent never panics,
// refuses what is not this provider's receipt with errResent, and takes
// nothing it cannot verify.
func FuzzOpenResent(f *testing.F) {
	vp := newVoucherPair(f)
	vp.sign(f, vp.receipt(f, 10))
	rs, _ := vp.req.missed(vp.reqLog, vp.provID, vp.prov.address(), 0)
	f.Add(rs[0].Receipt, rs[0].Voucher)
	f.Add([]byte("{}"), []byte(nil))
	f.Add([]byte{}, []byte("x"))
	f.Fuzz(func(t *testing.T, receipt, voucher []byte) {
		all, wire, fresh, err := openResent(vp.provLog, vp.provID, vp.reqID, []resentVoucher{{Receipt: receipt, Voucher: voucher}})
		if err != nil {
			if !errors.Is(err, errResent) && !errors.Is(err, ledger.ErrCorrupt) {
				t.Fatalf("error %v is not errResent", err)
			}
			return
		}
		if len(all) != 1 || len(wire) != 1 || len(fresh) > 1 || all[0].Receipt().Provider != vp.provID.String() {
			t.Fatalf("took %d receipts (%d fresh) of provider %s", len(all), len(fresh), all[0].Receipt().Provider)
		}
	})
}
