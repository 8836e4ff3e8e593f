package contracts_test

import (
	"bytes"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/gpumesh/gpumesh/ledger/settle/contracts"
)

// TestRedeemPaysExactly deposits, redeems two cumulative vouchers (the
// second submitted by a third party) and checks every balance to the base
// unit: 25 bp from each side to the treasury, rounded down; then refuses a
// replayed, an equal and a lower voucher without moving anything.
func TestRedeemPaysExactly(t *testing.T) { onChains(t, testRedeemPaysExactly) }

func testRedeemPaysExactly(t *testing.T, ch *testChain) {
	r := newRig(t, ch, nil)
	req, prov := addr(r.requester), addr(r.provider)
	r.mint(r.token, req, 10_000_000)
	if _, err := r.as(r.requester).Deposit(r.ctx, r.token, big.NewInt(10_000_000)); err != nil {
		t.Fatal(err)
	}
	wantBig(t, "escrow after deposit", r.escrow(req, r.token), 10_000_000)
	wantBig(t, "requester's tokens after deposit", r.balance(r.token, req), 0)

	// The contract hashes the voucher exactly as go-ethereum's EIP-712
	// code does from the spec's text.
	v1, sig1 := r.voucher(r.token, 1_000_000, 1)
	onChain, err := r.owner.VoucherDigest(r.ctx, v1)
	if err != nil {
		t.Fatal(err)
	}
	if want := voucherHash(t, r.domain(), v1); !bytes.Equal(onChain[:], want) {
		t.Fatalf("contract digest %x, EIP-712 digest %x", onChain, want)
	}
	if local := contracts.VoucherDigest(r.owner.ChainID(), r.owner.Address(), v1); local != onChain {
		t.Fatalf("contracts.VoucherDigest %x, contract %x", local, onChain)
	}

	red, err := r.as(r.provider).Redeem(r.ctx, v1, sig1)
	if err != nil {
		t.Fatal(err)
	}
	wantBig(t, "paid", red.Paid, 997_500)
	wantBig(t, "requester fee", red.RequesterFee, 2_500)
	wantBig(t, "provider fee", red.ProviderFee, 2_500)
	wantBig(t, "provider", r.balance(r.token, prov), 997_500)
	wantBig(t, "treasury", r.balance(r.token, r.treasury), 5_000)
	wantBig(t, "escrow", r.escrow(req, r.token), 10_000_000-1_002_500)

	// Nonce 3 after 1 (a lost voucher in between does not matter: only the
	// cumulative amount does); fees round down: 2,000,001 x 25 / 10,000 =
	// 5,000.0025 -> 5,000 a side. Anyone may submit; the provider is paid.
	v3, sig3 := r.voucher(r.token, 3_000_001, 3)
	red, err = r.as(r.third).Redeem(r.ctx, v3, sig3)
	if err != nil {
		t.Fatal(err)
	}
	wantBig(t, "paid", red.Paid, 1_995_001)
	wantBig(t, "provider", r.balance(r.token, prov), 997_500+1_995_001)
	wantBig(t, "treasury", r.balance(r.token, r.treasury), 5_000+10_000)
	wantBig(t, "escrow", r.escrow(req, r.token), 10_000_000-1_002_500-2_005_001)
	wantBig(t, "third party", r.balance(r.token, addr(r.third)), 0)
	got, err := r.owner.Redeemed(r.ctx, req, prov, r.token)
	if err != nil {
		t.Fatal(err)
	}
	wantBig(t, "redeemed", got, 3_000_001)
	// Nothing was created or lost: every unit is somewhere.
	total := new(big.Int).Add(r.balance(r.token, prov), r.balance(r.token, r.treasury))
	total.Add(total, r.escrow(req, r.token))
	wantBig(t, "provider + treasury + escrow", total, 10_000_000)
	wantBig(t, "contract holds the escrow", r.balance(r.token, r.owner.Address()), r.escrow(req, r.token).Int64())

	// Nothing is paid twice: a replay, an equal and a lower cumulative
	// amount are refused, whatever their nonce.
	equal, sigEqual := r.voucher(r.token, 3_000_001, 4)
	lower, sigLower := r.voucher(r.token, 2_000_000, 5)
	for _, c := range []struct {
		name string
		v    contracts.Voucher
		sig  []byte
	}{{"replay", v3, sig3}, {"older", v1, sig1}, {"equal", equal, sigEqual}, {"lower", lower, sigLower}} {
		_, err := r.as(r.provider).Redeem(r.ctx, c.v, c.sig)
		wantErr(t, err, contracts.ErrNotNewer)
		t.Logf("%s: %v", c.name, err)
	}
	wantBig(t, "provider after refusals", r.balance(r.token, prov), 997_500+1_995_001)
	wantBig(t, "escrow after refusals", r.escrow(req, r.token), 10_000_000-1_002_500-2_005_001)
}

// TestRedeemRefusesBadSignatures: vouchers signed for another chain or
// contract, by the wrong key, altered after signing, malleable, or with a
// bad v or length are refused, and nothing moves.
func TestRedeemRefusesBadSignatures(t *testing.T) { onChains(t, testRedeemRefusesBadSignatures) }

func testRedeemRefusesBadSignatures(t *testing.T, ch *testChain) {
	r := newRig(t, ch, nil)
	req := addr(r.requester)
	r.mint(r.token, req, 5_000_000)
	if _, err := r.as(r.requester).Deposit(r.ctx, r.token, big.NewInt(5_000_000)); err != nil {
		t.Fatal(err)
	}
	v, good := r.voucher(r.token, 1_000_000, 1)

	otherChain := domain(new(big.Int).Add(r.owner.ChainID(), big.NewInt(1)), r.owner.Address())
	otherContract := domain(r.owner.ChainID(), common.HexToAddress("0x00000000000000000000000000000000000000aa"))
	altered := v
	altered.Cumulative = big.NewInt(2_000_000)
	toThird := v
	toThird.Provider = addr(r.third)
	badV := append([]byte(nil), good...)
	badV[64] -= 27

	cases := []struct {
		name string
		v    contracts.Voucher
		sig  []byte
		want error
	}{
		{"another chain", v, sign(t, r.requester, voucherHash(t, otherChain, v)), contracts.ErrWrongSigner},
		{"another contract", v, sign(t, r.requester, voucherHash(t, otherContract, v)), contracts.ErrWrongSigner},
		{"wrong key", v, sign(t, r.provider, voucherHash(t, r.domain(), v)), contracts.ErrWrongSigner},
		{"amount altered", altered, good, contracts.ErrWrongSigner},
		{"provider altered", toThird, good, contracts.ErrWrongSigner},
		{"malleable s", v, malleate(good), contracts.ErrBadSignature},
		{"v of 0 or 1", v, badV, contracts.ErrBadSignature},
		{"64 bytes", v, good[:64], contracts.ErrBadSignature},
		{"empty", v, nil, contracts.ErrBadSignature},
	}
	for _, c := range cases {
		_, err := r.as(r.third).Redeem(r.ctx, c.v, c.sig)
		wantErr(t, err, c.want)
		t.Logf("%s: %v", c.name, err)
	}
	wantBig(t, "escrow", r.escrow(req, r.token), 5_000_000)
	wantBig(t, "provider", r.balance(r.token, addr(r.provider)), 0)
	wantBig(t, "third", r.balance(r.token, addr(r.third)), 0)

	// The good one still pays, once.
	if _, err := r.as(r.third).Redeem(r.ctx, v, good); err != nil {
		t.Fatal(err)
	}
	wantBig(t, "provider", r.balance(r.token, addr(r.provider)), 997_500)
}

// TestRedeemOverEscrowRefusedWhole: a voucher whose charge (amount plus the
// requester's fee) is over the escrow pays nothing at all; after a top-up
// the same voucher pays in full.
func TestRedeemOverEscrowRefusedWhole(t *testing.T) { onChains(t, testRedeemOverEscrowRefusedWhole) }

func testRedeemOverEscrowRefusedWhole(t *testing.T, ch *testChain) {
	r := newRig(t, ch, nil)
	req := addr(r.requester)
	r.mint(r.token, req, 1_002_500)
	if _, err := r.as(r.requester).Deposit(r.ctx, r.token, big.NewInt(1_000_000)); err != nil {
		t.Fatal(err)
	}
	v, sig := r.voucher(r.token, 1_000_000, 1) // charge 1,002,500
	_, err := r.as(r.provider).Redeem(r.ctx, v, sig)
	wantErr(t, err, contracts.ErrOverEscrow)
	wantBig(t, "escrow", r.escrow(req, r.token), 1_000_000)
	wantBig(t, "provider", r.balance(r.token, addr(r.provider)), 0)
	wantBig(t, "treasury", r.balance(r.token, r.treasury), 0)

	if _, err := r.as(r.requester).Deposit(r.ctx, r.token, big.NewInt(2_500)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.as(r.provider).Redeem(r.ctx, v, sig); err != nil {
		t.Fatal(err)
	}
	wantBig(t, "escrow", r.escrow(req, r.token), 0)
	wantBig(t, "provider", r.balance(r.token, addr(r.provider)), 997_500)
	wantBig(t, "treasury", r.balance(r.token, r.treasury), 5_000)
}

// TestWithdrawAfterNotice: a withdrawal waits out the notice; meanwhile
// redemptions still draw on the escrow, and the withdrawal pays only what
// is left of it.
func TestWithdrawAfterNotice(t *testing.T) { onChains(t, testWithdrawAfterNotice) }

func testWithdrawAfterNotice(t *testing.T, ch *testChain) {
	r := newRig(t, ch, nil)
	req := addr(r.requester)
	c := r.as(r.requester)
	r.mint(r.token, req, 3_000_000)
	if _, err := c.Deposit(r.ctx, r.token, big.NewInt(3_000_000)); err != nil {
		t.Fatal(err)
	}
	_, err := c.Withdraw(r.ctx, r.token)
	wantErr(t, err, contracts.ErrNothingPending)
	_, err = c.RequestWithdraw(r.ctx, r.token, big.NewInt(3_000_001))
	wantErr(t, err, contracts.ErrOverBalance)
	if _, err := c.RequestWithdraw(r.ctx, r.token, big.NewInt(3_000_000)); err != nil {
		t.Fatal(err)
	}
	p, err := c.PendingWithdrawal(r.ctx, req, r.token)
	if err != nil {
		t.Fatal(err)
	}
	wantBig(t, "pending", p.Amount, 3_000_000)
	_, err = c.Withdraw(r.ctx, r.token)
	wantErr(t, err, contracts.ErrNoticeNotOver)

	// The provider redeems during the notice: it is paid in full.
	v, sig := r.voucher(r.token, 2_000_000, 1)
	if _, err := r.as(r.provider).Redeem(r.ctx, v, sig); err != nil {
		t.Fatal(err)
	}
	r.increaseTime(59 * time.Minute)
	_, err = c.Withdraw(r.ctx, r.token)
	wantErr(t, err, contracts.ErrNoticeNotOver)
	r.increaseTime(time.Minute)
	if _, err := c.Withdraw(r.ctx, r.token); err != nil {
		t.Fatal(err)
	}
	wantBig(t, "requester got the unspent part", r.balance(r.token, req), 3_000_000-2_005_000)
	wantBig(t, "escrow", r.escrow(req, r.token), 0)
	wantBig(t, "provider", r.balance(r.token, addr(r.provider)), 1_995_000)
	wantBig(t, "contract", r.balance(r.token, r.owner.Address()), 0)
	_, err = c.Withdraw(r.ctx, r.token)
	wantErr(t, err, contracts.ErrNothingPending)
}

// TestNativeCoinEscrow: the same flow with the chain's coin (token 0),
// submitted by a third party so the provider's and requester's balances are
// exact despite gas.
func TestNativeCoinEscrow(t *testing.T) { onChains(t, testNativeCoinEscrow) }

func testNativeCoinEscrow(t *testing.T, ch *testChain) {
	r := newRig(t, ch, nil)
	req, prov := addr(r.requester), addr(r.provider)
	native := contracts.NativeToken
	before := r.balance(native, prov)
	if _, err := r.as(r.requester).Deposit(r.ctx, native, big.NewInt(1e18)); err != nil {
		t.Fatal(err)
	}
	wantBig(t, "escrow", r.escrow(req, native), 1e18)
	v, sig := r.voucher(native, 4e17, 1)
	if _, err := r.as(r.third).Redeem(r.ctx, v, sig); err != nil {
		t.Fatal(err)
	}
	got := new(big.Int).Sub(r.balance(native, prov), before)
	wantBig(t, "provider's gain", got, 4e17-1e15)
	wantBig(t, "treasury", r.balance(native, r.treasury), 2e15)
	wantBig(t, "escrow", r.escrow(req, native), 1e18-4e17-1e15)
	wantBig(t, "contract", r.balance(native, r.owner.Address()), 1e18-4e17-1e15)
	// A deposit of nothing is refused.
	_, err := r.as(r.requester).Deposit(r.ctx, native, big.NewInt(0))
	wantErr(t, err, contracts.ErrZeroAmount)
}

// TestRedeemGasSameForAnyNumberOfReceipts: a voucher is cumulative, so
// redeeming one that covers 1,000 receipts costs what redeeming one that
// covers a single receipt does (each the first redemption of its pair, after
// the treasury's first fee); only the calldata of a bigger number differs.
func TestRedeemGasSameForAnyNumberOfReceipts(t *testing.T) {
	onChains(t, testRedeemGasSameForAnyNumberOfReceipts)
}

func testRedeemGasSameForAnyNumberOfReceipts(t *testing.T, ch *testChain) {
	r := newRig(t, ch, nil)
	req := addr(r.requester)
	r.mint(r.token, req, 10_000_000_000)
	if _, err := r.as(r.requester).Deposit(r.ctx, r.token, big.NewInt(10_000_000_000)); err != nil {
		t.Fatal(err)
	}
	gas := map[int64]uint64{}
	for _, n := range []int64{0, 1, 1000} {
		v, sig := r.voucher(r.token, 1_234_567*max(n, 1), uint64(n))
		v.Provider = addr(r.ch.fundedKey(t))
		sig = sign(t, r.requester, voucherHash(t, r.domain(), v))
		red, err := r.as(r.third).Redeem(r.ctx, v, sig)
		if err != nil {
			t.Fatal(err)
		}
		gas[n] = red.Receipt.GasUsed
	}
	diff := int64(gas[1000]) - int64(gas[1])
	if diff < -100 || diff > 100 {
		t.Fatalf("redeem gas: 1 receipt %d, 1,000 receipts %d: want the same within calldata (100)", gas[1], gas[1000])
	}
	t.Logf("redeem gas: first ever %d, 1 receipt %d, 1,000 receipts %d", gas[0], gas[1], gas[1000])
}

// TestClientErrors: a client for an address without code, a deposit over
// the requester's token balance, and a deployment with a notice over the
// cap are refused with their sentinels.
func TestClientErrors(t *testing.T) { onChains(t, testClientErrors) }

func testClientErrors(t *testing.T, ch *testChain) {
	r := newRig(t, ch, nil)
	_, err := contracts.New(r.ctx, r.ec, r.requester, addr(r.provider))
	wantErr(t, err, contracts.ErrNoContract)

	r.mint(r.token, addr(r.requester), 10)
	_, err = r.as(r.requester).Deposit(r.ctx, r.token, big.NewInt(11))
	wantErr(t, err, contracts.ErrTokenTransfer)
	t.Logf("deposit over the balance: %v", err)
	wantBig(t, "escrow", r.escrow(addr(r.requester), r.token), 0)

	p := contracts.DefaultParams(r.treasury, addr(r.requester))
	p.Notice = contracts.MaxNotice + time.Second
	_, _, err = contracts.Deploy(r.ctx, r.ec, r.requester, p)
	wantErr(t, err, contracts.ErrBadNotice)
}

// TestDial reaches the rig's contract by URL.
func TestDial(t *testing.T) { onChains(t, testDial) }

func testDial(t *testing.T, ch *testChain) {
	if ch.url == "" {
		t.Skip("Dial takes a JSON-RPC URL; the in-process dev chain has none")
	}
	r := newRig(t, ch, nil)
	c, err := contracts.Dial(r.ctx, r.ch.url, r.requester, r.owner.Address())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if rb, pb, err := c.Fee(r.ctx, r.token); err != nil || rb != contracts.DefaultFeeBP || pb != contracts.DefaultFeeBP {
		t.Fatalf("fee through Dial: %d/%d %v", rb, pb, err)
	}
}
