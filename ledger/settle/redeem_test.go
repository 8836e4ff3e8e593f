package settle

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger"
)

// fakeChain is a Settlement contract in memory: it pays cumulative minus
// redeemed and refuses a voucher not above what it recorded.
type fakeChain struct {
	redeemed map[common.Address]*big.Int // by provider (one requester and token in these tests)
	paid     *big.Int
	submits  int
	crash    bool // pay, then fail as a node killed before it heard back
}

func newFakeChain() *fakeChain {
	return &fakeChain{redeemed: map[common.Address]*big.Int{}, paid: new(big.Int)}
}

func (c *fakeChain) Redeemed(_ context.Context, _, provider, _ common.Address) (*big.Int, error) {
	if r, ok := c.redeemed[provider]; ok {
		return new(big.Int).Set(r), nil
	}
	return new(big.Int), nil
}

var errRefusedOnChain = errors.New("contract: cumulative not above redeemed")

func (c *fakeChain) Redeem(ctx context.Context, sv *SignedVoucher) (common.Hash, error) {
	c.submits++
	if err := sv.Verify(testDomain); err != nil {
		return common.Hash{}, err
	}
	r, _ := c.Redeemed(ctx, sv.Voucher.Requester, sv.Voucher.Provider, sv.Voucher.Token)
	if sv.Voucher.Cumulative.Cmp(r) <= 0 {
		return common.Hash{}, errRefusedOnChain
	}
	c.paid.Add(c.paid, new(big.Int).Sub(sv.Voucher.Cumulative, r))
	c.redeemed[sv.Voucher.Provider] = new(big.Int).Set(sv.Voucher.Cumulative)
	if c.crash {
		c.crash = false
		return common.Hash{}, errors.New("killed before the answer")
	}
	return common.BytesToHash([]byte{byte(c.submits)}), nil
}

// heldLedger is a provider's ledger in dir holding n receipts of amount
// micros each and the vouchers that pay for them.
type heldLedger struct {
	dir        string
	prov, req  crypto.PrivKey
	provID     peer.ID
	l          *ledger.Log
	prev       *Voucher
	n          int
	totalUnits *big.Int
}

func newHeldLedger(t *testing.T) *heldLedger {
	t.Helper()
	h := &heldLedger{dir: t.TempDir(), totalUnits: new(big.Int)}
	h.prov, _, _ = crypto.GenerateEd25519Key(rand.Reader)
	h.req, _, _ = crypto.GenerateEd25519Key(rand.Reader)
	h.provID, _ = peer.IDFromPrivateKey(h.prov)
	h.open(t)
	return h
}

func (h *heldLedger) open(t *testing.T) {
	t.Helper()
	l, err := ledger.Open(h.dir, ledger.Options{Self: h.provID})
	if err != nil {
		t.Fatal(err)
	}
	h.l = l
	t.Cleanup(func() { _ = l.Close() })
}

// add logs one receipt of seconds at $1/GPU-hour with its voucher.
func (h *heldLedger) add(t *testing.T, seconds int) {
	t.Helper()
	reqID, _ := peer.IDFromPrivateKey(h.req)
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h.n++
	r := ledger.Receipt{Job: "job-" + string(rune('a'+h.n)), Requester: reqID.String(), Provider: h.provID.String(), Devices: 1,
		Start: start, End: start.Add(time.Duration(seconds) * time.Second), Issued: start.Add(time.Hour), UnitPrice: 1_000_000,
		Status: ledger.StatusFailed, Seq: 1}
	r.Finalize()
	sg, err := ledger.Sign(h.prov, r)
	if err == nil {
		sg, err = ledger.Countersign(h.req, sg)
	}
	var v ledger.Verified
	if err == nil {
		v, err = ledger.Prepare(sg)
	}
	if err != nil {
		t.Fatal(err)
	}
	add, _ := ToUnits(r.Amount, 6)
	next := NextVoucher(h.prev, addr(requesterKey), addr(providerKey), testToken, add)
	sv, err := SignVoucher(requesterKey, testDomain, next)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := sv.Encode()
	rec := ledger.VoucherRecord{Receipt: r.ID, Role: ledger.VoucherHeld, Channel: "ch", Nonce: next.Nonce,
		Cumulative: next.Cumulative.String(), Amount: r.Amount, Voucher: b}
	if _, err := h.l.AppendWithVouchers(context.Background(), []ledger.Verified{v}, []ledger.VoucherRecord{rec}); err != nil {
		t.Fatal(err)
	}
	h.prev = &sv.Voucher
	h.totalUnits.Add(h.totalUnits, add)
}

func TestRedeemByThresholdOnceForManyReceipts(t *testing.T) {
	ctx := context.Background()
	h := newHeldLedger(t)
	chain := newFakeChain()
	p := Policy{Threshold: big.NewInt(3_000)} // $0.003
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for range 5 {
		h.add(t, 1) // 1 s at $1/h: 278 micros each
	}
	res, err := RedeemDue(ctx, h.l, chain, p, now, now, false)
	if err != nil || len(res) != 0 || chain.submits != 0 {
		t.Fatalf("below threshold: %+v, %v, %d submissions; want nothing", res, err, chain.submits)
	}
	for range 10 {
		h.add(t, 1)
	}
	res, err = RedeemDue(ctx, h.l, chain, p, now, now, false)
	if err != nil || len(res) != 1 || !res[0].Redeemed {
		t.Fatalf("over threshold: %+v, %v", res, err)
	}
	if chain.submits != 1 || chain.paid.Cmp(h.totalUnits) != 0 {
		t.Errorf("%d submissions paid %s, want 1 paying %s for 15 receipts", chain.submits, chain.paid, h.totalUnits)
	}
	// Nothing more to redeem: nothing sent.
	if res, err = RedeemDue(ctx, h.l, chain, p, now, now, true); err != nil || len(res) != 0 || chain.submits != 1 {
		t.Errorf("again: %+v, %v, %d submissions", res, err, chain.submits)
	}
	chans, err := HeldChannels(h.l)
	if err != nil || len(chans) != 1 || chans[0].Outstanding.Sign() != 0 || chans[0].Redeemed.Cmp(h.totalUnits) != 0 {
		t.Errorf("channels after: %+v, %v", chans, err)
	}
}

func TestRedeemByInterval(t *testing.T) {
	ctx := context.Background()
	h := newHeldLedger(t)
	chain := newFakeChain()
	p := Policy{Interval: time.Hour}
	since := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	h.add(t, 1)
	if res, _ := RedeemDue(ctx, h.l, chain, p, since, since.Add(59*time.Minute), false); len(res) != 0 {
		t.Fatalf("before the interval: %+v", res)
	}
	res, err := RedeemDue(ctx, h.l, chain, p, since, since.Add(time.Hour), false)
	if err != nil || len(res) != 1 || !res[0].Redeemed || chain.submits != 1 {
		t.Fatalf("after the interval: %+v, %v", res, err)
	}
	// The interval counts from the redemption now.
	h.add(t, 1)
	if res, _ := RedeemDue(ctx, h.l, chain, p, since, since.Add(90*time.Minute), false); len(res) != 0 {
		t.Errorf("30 minutes after a redemption: %+v", res)
	}
	if res, _ := RedeemDue(ctx, h.l, chain, p, since, since.Add(2*time.Hour), false); len(res) != 1 || chain.submits != 2 {
		t.Errorf("an hour after: %+v, %d submissions", res, chain.submits)
	}
}

// TestRedeemKilledBeforeRecording: the chain paid, the node died before
// recording it; after a restart nothing is submitted twice and nothing is lost.
func TestRedeemKilledBeforeRecording(t *testing.T) {
	ctx := context.Background()
	h := newHeldLedger(t)
	chain := newFakeChain()
	p := Policy{Threshold: big.NewInt(1)}
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	h.add(t, 10)
	chain.crash = true
	if _, err := RedeemDue(ctx, h.l, chain, p, now, now, false); err == nil {
		t.Fatal("the killed submission reported no error")
	}
	r, found, _ := h.l.RedemptionOf("ch")
	if !found || r.State != ledger.RedeemSubmitting {
		t.Fatalf("record before submitting: %+v, %v; want submitting", r, found)
	}
	if err := h.l.Close(); err != nil {
		t.Fatal(err)
	}
	h.open(t) // the restart
	res, err := RedeemDue(ctx, h.l, chain, p, now, now.Add(time.Minute), false)
	if err != nil || len(res) != 1 || !res[0].Redeemed || res[0].Tx != "" {
		t.Fatalf("after restart: %+v, %v; want found redeemed, no transaction", res, err)
	}
	if chain.submits != 1 || chain.paid.Cmp(h.totalUnits) != 0 {
		t.Errorf("%d submissions paid %s; want 1 paying %s", chain.submits, chain.paid, h.totalUnits)
	}
	// More work: the next redemption pays only the new part.
	before := new(big.Int).Set(h.totalUnits)
	h.add(t, 10)
	if _, err := RedeemDue(ctx, h.l, chain, p, now, now.Add(2*time.Minute), false); err != nil {
		t.Fatal(err)
	}
	if chain.paid.Cmp(h.totalUnits) != 0 || chain.submits != 2 {
		t.Errorf("paid %s in %d submissions; want %s (%s before) in 2", chain.paid, chain.submits, h.totalUnits, before)
	}
}

func TestPolicyDue(t *testing.T) {
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	p := Policy{Threshold: big.NewInt(100), Interval: time.Hour}
	for _, tt := range []struct {
		out  int64
		last time.Time
		want bool
	}{
		{0, now.Add(-2 * time.Hour), false},
		{99, now.Add(-time.Minute), false},
		{100, now, true},
		{1, now.Add(-time.Hour), true},
	} {
		if got, why := p.Due(big.NewInt(tt.out), tt.last, now); got != tt.want {
			t.Errorf("Due(%d, %s ago) = %v (%s), want %v", tt.out, now.Sub(tt.last), got, why, tt.want)
		}
	}
}
