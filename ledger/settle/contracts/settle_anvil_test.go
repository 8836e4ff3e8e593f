package contracts_test

import (
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/ledger/settle/contracts"
)

// TestChainRedeemsSettleVoucher: the two halves hash the same. A voucher
// signed by ledger/settle (the node's code) is accepted by the contract
// through Chain (the node's adapter), pays exactly, is read back through
// the settle interfaces, and is refused when replayed or when it is for
// another contract.
func TestChainRedeemsSettleVoucher(t *testing.T) { onChains(t, chainRedeemsSettleVoucher) }

func chainRedeemsSettleVoucher(t *testing.T, tc *testChain) {
	r := newRig(t, tc, nil)
	r.mint(r.token, addr(r.requester), 10_000_000)
	if _, err := r.as(r.requester).Deposit(r.ctx, r.token, big.NewInt(10_000_000)); err != nil {
		t.Fatal(err)
	}
	ch := contracts.NewChain(r.as(r.third))
	d := ch.Domain()
	if d.ChainID != r.owner.ChainID().Uint64() || d.Contract != r.owner.Address() {
		t.Fatalf("domain %+v, want the rig's chain and contract", d)
	}
	v := settle.Voucher{Requester: addr(r.requester), Provider: addr(r.provider), Token: r.token, Cumulative: big.NewInt(1_000_000), Nonce: 1}
	if got, want := v.Digest(d), voucherHash(t, r.domain(), contracts.VoucherOf(v)); got != [32]byte(want) {
		t.Fatalf("settle's voucher digest %x, go-ethereum's %x", got, want)
	}
	sv, err := settle.SignVoucher(r.requester, d, v)
	if err != nil {
		t.Fatal(err)
	}
	var _ settle.Redeemer = ch
	var _ settle.EscrowReader = ch
	var _ settle.BalanceReader = ch
	tx, err := ch.Redeem(r.ctx, sv)
	if err != nil {
		t.Fatalf("redeem a settle-signed voucher: %v", err)
	}
	got, ok := ch.Redemption(tx)
	if !ok || got.Paid.Int64() != 997_500 || got.RequesterFee.Int64() != 2_500 || got.ProviderFee.Int64() != 2_500 {
		t.Fatalf("redemption %+v (found %v), want 997500 paid, 2500 fee each side", got, ok)
	}
	if _, ok := ch.Redemption(tx); ok {
		t.Error("a redemption's figures are kept after they were read")
	}
	wantBig(t, "provider's balance", r.balance(r.token, addr(r.provider)), 997_500)
	wantBig(t, "treasury's balance", r.balance(r.token, r.treasury), 5_000)
	red, err := ch.Redeemed(r.ctx, v.Requester, v.Provider, v.Token)
	if err != nil {
		t.Fatal(err)
	}
	wantBig(t, "redeemed", red, 1_000_000)
	b, err := ch.Balances(r.ctx, addr(r.requester), r.token)
	if err != nil {
		t.Fatal(err)
	}
	wantBig(t, "escrow", b.Escrow, 10_000_000-1_002_500)
	wantBig(t, "wallet", b.Wallet, 0)
	wantBig(t, "pending withdrawal", b.PendingWithdrawal, 0)
	wantBig(t, "stake", b.Stake, 0)
	_, err = ch.Redeem(r.ctx, sv)
	wantErr(t, err, contracts.ErrNotNewer)
	other := settle.Domain{ChainID: d.ChainID, Contract: r.token}
	sv2, err := settle.SignVoucher(r.requester, other, settle.Voucher{Requester: v.Requester, Provider: v.Provider, Token: v.Token, Cumulative: big.NewInt(2_000_000), Nonce: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Redeem(r.ctx, sv2); !errors.Is(err, contracts.ErrWrongDomain) {
		t.Fatalf("a voucher for another contract: %v, want ErrWrongDomain", err)
	}
}

// TestSettleWorksSlash: two conflicting Works signed by ledger/settle
// (the provider's node code) slash the provider on the contract.
func TestSettleWorksSlash(t *testing.T) { onChains(t, settleWorksSlash) }

func settleWorksSlash(t *testing.T, tc *testChain) {
	r := stakeRig(t, tc, 0)
	d := contracts.NewChain(r.owner).Domain()
	w := func(result byte) *settle.SignedWork {
		sw, err := settle.SignWork(r.provider, d, settle.Work{
			Job: settle.JobHash("job-1"), Rank: 1, Result: [32]byte{result},
			Amount: big.NewInt(500_000), Token: r.token, Requester: addr(r.requester),
		})
		if err != nil {
			t.Fatal(err)
		}
		return sw
	}
	a, b := w(1), w(2)
	if !settle.Conflicts(a, b, addr(r.provider)) {
		t.Fatal("settle does not see the two works as conflicting")
	}
	if got, want := a.Work.Digest(d), workHash(t, r.domain(), contracts.WorkOf(a.Work)); got != [32]byte(want) {
		t.Fatalf("settle's work digest %x, go-ethereum's %x", got, want)
	}
	s, err := r.as(r.third).SlashConflict(r.ctx, contracts.WorkOf(a.Work), a.Sig, contracts.WorkOf(b.Work), b.Sig)
	if err != nil {
		t.Fatalf("slash with settle-signed works: %v", err)
	}
	if s.Provider != addr(r.provider) || s.Amount.Int64() != 150_000_000 || s.Reward.Int64() != 75_000_000 {
		t.Fatalf("slash %+v, want the provider's 150000000, half to the submitter", s)
	}
	_, err = r.as(r.third).SlashConflict(r.ctx, contracts.WorkOf(b.Work), b.Sig, contracts.WorkOf(a.Work), a.Sig)
	wantErr(t, err, contracts.ErrAlreadySlashed)
}

// TestChainBalancesReadAllowance: Balances reports the allowance the wallet
// gave the contract, which a deposit draws down, and none for the coin.
func TestChainBalancesReadAllowance(t *testing.T) { onChains(t, chainBalancesReadAllowance) }

func chainBalancesReadAllowance(t *testing.T, tc *testChain) {
	r := newRig(t, tc, nil)
	req := addr(r.requester)
	r.mint(r.token, req, 5_000_000)
	ch := contracts.NewChain(r.as(r.requester))
	allowance := func(token common.Address) int64 {
		t.Helper()
		b, err := ch.Balances(r.ctx, req, token)
		if err != nil {
			t.Fatal(err)
		}
		return b.Allowance.Int64()
	}
	if got := allowance(r.token); got != 0 {
		t.Fatalf("allowance before any approval %d, want 0", got)
	}
	r.send(r.requester, r.token, contracts.NewTestToken().PackApprove(r.owner.Address(), big.NewInt(3_000_000)))
	if got := allowance(r.token); got != 3_000_000 {
		t.Fatalf("allowance after approving 3,000,000: %d", got)
	}
	if _, err := r.as(r.requester).Deposit(r.ctx, r.token, big.NewInt(1_000_000)); err != nil {
		t.Fatal(err)
	}
	if got := allowance(r.token); got != 2_000_000 {
		t.Fatalf("allowance after depositing 1,000,000 of 3,000,000 approved: %d, want 2,000,000", got)
	}
	if got := allowance(contracts.NativeToken); got != 0 {
		t.Fatalf("native coin allowance %d, want 0", got)
	}
}
