package ledger

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func voucherRec(role, receipt, channel string, nonce uint64) VoucherRecord {
	return VoucherRecord{Receipt: receipt, Role: role, Channel: channel, Nonce: nonce,
		Cumulative: fmt.Sprint(nonce * 1000), Amount: 1000, Voucher: []byte(`{"v":1}`), Work: []byte(`{"w":1}`)}
}

func prepared(t *testing.T, prov, req party, job string, rank int) Verified {
	t.Helper()
	v, err := Prepare(signBoth(t, prov, req, receipt(prov, req, job, rank, 1, 60)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVouchersWrittenWithReceipts(t *testing.T) {
	ctx := context.Background()
	prov, req := newParty(t), newParty(t)
	dir := t.TempDir()
	l := openLog(t, dir, prov)
	a, b := prepared(t, prov, req, "job-a", 0), prepared(t, prov, req, "job-b", 0)
	if _, err := l.AppendWithVouchers(ctx, []Verified{a, b}, []VoucherRecord{
		voucherRec(VoucherHeld, a.Receipt().ID, "ch", 1), voucherRec(VoucherHeld, b.Receipt().ID, "ch", 2),
	}); err != nil {
		t.Fatal(err)
	}
	// Out of order: refused, and nothing of the call is written.
	c := prepared(t, prov, req, "job-c", 0)
	if _, err := l.AppendWithVouchers(ctx, []Verified{c}, []VoucherRecord{voucherRec(VoucherHeld, c.Receipt().ID, "ch", 4)}); !errors.Is(err, ErrVoucherOrder) {
		t.Fatalf("nonce 4 after 2: %v, want ErrVoucherOrder", err)
	}
	if _, err := l.ByReceipt(c.Receipt().ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("receipt of a refused voucher was logged: %v", err)
	}
	// The same receipt again: refused.
	if _, err := l.AppendWithVouchers(ctx, nil, []VoucherRecord{voucherRec(VoucherHeld, a.Receipt().ID, "ch", 3)}); !errors.Is(err, ErrReplay) {
		t.Fatalf("second voucher for a receipt: %v, want ErrReplay", err)
	}
	// A voucher for no receipt: refused.
	if _, err := l.AppendWithVouchers(ctx, nil, []VoucherRecord{voucherRec(VoucherHeld, "nope", "ch", 3)}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("voucher for no receipt: %v, want ErrNotFound", err)
	}
	// A voucher for a receipt already logged, alone: accepted.
	if _, err := l.AppendVerified(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendWithVouchers(ctx, nil, []VoucherRecord{voucherRec(VoucherHeld, c.Receipt().ID, "ch", 3)}); err != nil {
		t.Fatalf("voucher for a logged receipt: %v", err)
	}
	if err := l.PutRedemption(Redemption{Channel: "ch", State: RedeemDone, Nonce: 2, Cumulative: "2000", Tx: "0xabc"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Everything survives a reopen, and the log still verifies.
	l = openLog(t, dir, prov)
	if err := l.Verify(ctx); err != nil {
		t.Fatalf("verify: %v", err)
	}
	latest, found, err := l.LatestVoucher(VoucherHeld, "ch")
	if err != nil || !found || latest.Nonce != 3 || latest.Receipt != c.Receipt().ID {
		t.Errorf("latest: %+v, %v, %v; want nonce 3 for %s", latest, found, err, c.Receipt().ID)
	}
	got, err := l.VoucherFor(VoucherHeld, b.Receipt().ID)
	if err != nil || got.Nonce != 2 || string(got.Work) != `{"w":1}` {
		t.Errorf("voucher for b: %+v, %v", got, err)
	}
	if _, err := l.VoucherFor(VoucherSigned, b.Receipt().ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("signed voucher for b: %v, want ErrNotFound (only held)", err)
	}
	all, err := l.LatestVouchers(VoucherHeld)
	if err != nil || len(all) != 1 {
		t.Errorf("latest vouchers: %d, %v; want 1 channel", len(all), err)
	}
	r, found, err := l.RedemptionOf("ch")
	if err != nil || !found || r.Cumulative != "2000" || r.State != RedeemDone {
		t.Errorf("redemption: %+v, %v, %v", r, found, err)
	}
	if n := l.Size(); n != 3 {
		t.Errorf("size %d, want 3", n)
	}
}

func TestVoucherRecordCheck(t *testing.T) {
	good := voucherRec(VoucherSigned, "r", "ch", 1)
	if err := good.Check(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*VoucherRecord){
		"role":       func(v *VoucherRecord) { v.Role = "stolen" },
		"nonce":      func(v *VoucherRecord) { v.Nonce = 0 },
		"cumulative": func(v *VoucherRecord) { v.Cumulative = "-1" },
		"empty":      func(v *VoucherRecord) { v.Voucher = nil },
		"channel":    func(v *VoucherRecord) { v.Channel = "a\nb" },
		"amount":     func(v *VoucherRecord) { v.Amount = -1 },
	} {
		v := good
		mut(&v)
		if err := v.Check(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}
