package contracts_test

import (
	"bytes"
	"crypto/ecdsa"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"

	"github.com/gpumesh/gpumesh/ledger/settle/contracts"
)

// stakeRig deploys with the test token as the stake token and a minimum
// stake of 100 tokens, and gives the provider 150 tokens staked.
func stakeRig(t *testing.T, ch *testChain, slashBP uint16) *rig {
	t.Helper()
	r := newRig(t, ch, func(p *contracts.Params, token common.Address) {
		p.StakeToken = token
		p.MinStake = big.NewInt(100_000_000)
		if slashBP != 0 {
			p.SlashBP = slashBP
		}
	})
	r.mint(r.token, addr(r.provider), 150_000_000)
	if _, err := r.as(r.provider).Stake(r.ctx, big.NewInt(150_000_000)); err != nil {
		t.Fatal(err)
	}
	return r
}

// work builds a Work for the rig's provider and signs it with key.
func (r *rig) work(key *ecdsa.PrivateKey, job string, rank uint32, result byte, amount int64) (contracts.Work, []byte) {
	w := contracts.Work{
		Job: ethcrypto.Keccak256Hash([]byte(job)), Rank: rank, Result: [32]byte{result},
		Amount: big.NewInt(amount), Token: r.token, Requester: addr(r.requester),
	}
	return w, sign(r.t, key, workHash(r.t, r.domain(), w))
}

// TestStakeUnstakeEligibility: eligibility follows the minimum stake; a
// pending unstaking that would leave less than the minimum makes the
// provider ineligible at once; unstaking waits out the notice.
func TestStakeUnstakeEligibility(t *testing.T) { onChains(t, testStakeUnstakeEligibility) }

func testStakeUnstakeEligibility(t *testing.T, ch *testChain) {
	r := newRig(t, ch, func(p *contracts.Params, token common.Address) {
		p.StakeToken = token
		p.MinStake = big.NewInt(100_000_000)
	})
	prov := addr(r.provider)
	c := r.as(r.provider)
	eligible := func(want bool) {
		t.Helper()
		got, err := c.IsEligible(r.ctx, prov)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("eligible: got %v, want %v", got, want)
		}
	}
	r.mint(r.token, prov, 150_000_000)
	eligible(false)
	if _, err := c.Stake(r.ctx, big.NewInt(60_000_000)); err != nil {
		t.Fatal(err)
	}
	eligible(false)
	if _, err := c.Stake(r.ctx, big.NewInt(90_000_000)); err != nil {
		t.Fatal(err)
	}
	eligible(true)
	_, err := c.RequestUnstake(r.ctx, big.NewInt(150_000_001))
	wantErr(t, err, contracts.ErrOverBalance)
	_, err = c.Unstake(r.ctx)
	wantErr(t, err, contracts.ErrNothingPending)
	if _, err := c.RequestUnstake(r.ctx, big.NewInt(50_000_000)); err != nil {
		t.Fatal(err)
	}
	eligible(true) // 100 left: still the minimum
	if _, err := c.RequestUnstake(r.ctx, big.NewInt(50_000_001)); err != nil {
		t.Fatal(err)
	}
	eligible(false) // replaces the request; would leave less than the minimum
	_, err = c.Unstake(r.ctx)
	wantErr(t, err, contracts.ErrNoticeNotOver)
	r.increaseTime(time.Hour)
	if _, err := c.Unstake(r.ctx); err != nil {
		t.Fatal(err)
	}
	wantBig(t, "provider's tokens", r.balance(r.token, prov), 50_000_001)
	s, err := c.StakeOf(r.ctx, prov)
	if err != nil {
		t.Fatal(err)
	}
	wantBig(t, "stake", s, 99_999_999)
	eligible(false)

	_, err = c.RequestUnstake(r.ctx, big.NewInt(0))
	wantErr(t, err, contracts.ErrZeroAmount)
}

// TestSlashConflict: two Works from one key for the same job and rank with
// different results slash the whole stake, half to the submitter; the
// same evidence, in either order, is refused after; evidence that does not
// conflict or is signed by two keys is refused and moves nothing.
func TestSlashConflict(t *testing.T) { onChains(t, testSlashConflict) }

func testSlashConflict(t *testing.T, ch *testChain) {
	r := stakeRig(t, ch, 0)
	prov, third := addr(r.provider), addr(r.third)
	a, sigA := r.work(r.provider, "job-1", 0, 0xaa, 1_000_000)
	sameA, sigSameA := r.work(r.provider, "job-1", 0, 0xaa, 1_000_000)
	otherJob, sigOtherJob := r.work(r.provider, "job-2", 0, 0xbb, 1_000_000)
	otherRank, sigOtherRank := r.work(r.provider, "job-1", 1, 0xbb, 1_000_000)
	byRequester, sigByRequester := r.work(r.requester, "job-1", 0, 0xbb, 1_000_000)
	b, sigB := r.work(r.provider, "job-1", 0, 0xbb, 1_000_000)
	// Differing only in token or requester is no conflict either.
	tokenOnly := a
	tokenOnly.Token = common.HexToAddress("0x00000000000000000000000000000000000000bb")
	sigTokenOnly := sign(t, r.provider, workHash(t, r.domain(), tokenOnly))
	onChain, err := r.owner.WorkDigest(r.ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if want := workHash(t, r.domain(), a); !bytes.Equal(onChain[:], want) {
		t.Fatalf("contract work digest %x, EIP-712 digest %x", onChain, want)
	}
	if local := contracts.WorkDigest(r.owner.ChainID(), r.owner.Address(), a); local != onChain {
		t.Fatalf("contracts.WorkDigest %x, contract %x", local, onChain)
	}
	if a.Job != contracts.JobHash("job-1") {
		t.Fatal("JobHash is not keccak256 of the job ID")
	}

	refused := []struct {
		name string
		b    contracts.Work
		sigB []byte
		want error
	}{
		{"identical", sameA, sigSameA, contracts.ErrNotConflicting},
		{"same work, token differs", tokenOnly, sigTokenOnly, contracts.ErrNotConflicting},
		{"another job", otherJob, sigOtherJob, contracts.ErrNotConflicting},
		{"another rank", otherRank, sigOtherRank, contracts.ErrNotConflicting},
		{"another key", byRequester, sigByRequester, contracts.ErrDifferentSigners},
		{"malleable", b, malleate(sigB), contracts.ErrBadSignature},
	}
	for _, c := range refused {
		_, err := r.as(r.third).SlashConflict(r.ctx, a, sigA, c.b, c.sigB)
		wantErr(t, err, c.want)
		t.Logf("%s: %v", c.name, err)
	}
	s, _ := r.owner.StakeOf(r.ctx, prov)
	wantBig(t, "stake after refusals", s, 150_000_000)

	sl, err := r.as(r.third).SlashConflict(r.ctx, a, sigA, b, sigB)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("slash gas: %d", sl.Receipt.GasUsed)
	if sl.Provider != prov {
		t.Fatalf("slashed %s, want %s", sl.Provider, prov)
	}
	wantBig(t, "slashed", sl.Amount, 150_000_000)
	wantBig(t, "reward", sl.Reward, 75_000_000)
	wantBig(t, "submitter", r.balance(r.token, third), 75_000_000)
	wantBig(t, "treasury", r.balance(r.token, r.treasury), 75_000_000)
	s, _ = r.owner.StakeOf(r.ctx, prov)
	wantBig(t, "stake", s, 0)
	if ok, _ := r.owner.IsEligible(r.ctx, prov); ok {
		t.Fatal("a slashed provider is still eligible")
	}

	// Replayed, in either order, and even after a fresh stake: refused.
	r.mint(r.token, prov, 150_000_000)
	if _, err := r.as(r.provider).Stake(r.ctx, big.NewInt(150_000_000)); err != nil {
		t.Fatal(err)
	}
	_, err = r.as(r.third).SlashConflict(r.ctx, a, sigA, b, sigB)
	wantErr(t, err, contracts.ErrAlreadySlashed)
	_, err = r.as(r.requester).SlashConflict(r.ctx, b, sigB, a, sigA)
	wantErr(t, err, contracts.ErrAlreadySlashed)
	// A different amount for the same job and rank is a conflict too (a
	// new offence: another job).
	c1, sigC1 := r.work(r.provider, "job-3", 2, 0xcc, 1_000_000)
	c2, sigC2 := r.work(r.provider, "job-3", 2, 0xcc, 2_000_000)
	if _, err := r.as(r.third).SlashConflict(r.ctx, c1, sigC1, c2, sigC2); err != nil {
		t.Fatal(err)
	}
	wantBig(t, "submitter", r.balance(r.token, third), 150_000_000)
	wantBig(t, "treasury", r.balance(r.token, r.treasury), 150_000_000)
	wantBig(t, "contract holds nothing", r.balance(r.token, r.owner.Address()), 0)
	// No stake left: a third offence has nothing to take.
	d1, sigD1 := r.work(r.provider, "job-4", 0, 0x01, 1)
	d2, sigD2 := r.work(r.provider, "job-4", 0, 0x02, 1)
	_, err = r.as(r.third).SlashConflict(r.ctx, d1, sigD1, d2, sigD2)
	wantErr(t, err, contracts.ErrNoStake)
}

// TestSlashShareAndPendingUnstake: with a 50 % slash share, a provider who
// asked to unstake is still slashed during its notice and gets only what
// is left.
func TestSlashShareAndPendingUnstake(t *testing.T) { onChains(t, testSlashShareAndPendingUnstake) }

func testSlashShareAndPendingUnstake(t *testing.T, ch *testChain) {
	r := stakeRig(t, ch, 5_000)
	prov := addr(r.provider)
	if _, err := r.as(r.provider).RequestUnstake(r.ctx, big.NewInt(150_000_000)); err != nil {
		t.Fatal(err)
	}
	a, sigA := r.work(r.provider, "job-1", 3, 0x01, 5)
	b, sigB := r.work(r.provider, "job-1", 3, 0x02, 5)
	sl, err := r.as(r.third).SlashConflict(r.ctx, a, sigA, b, sigB)
	if err != nil {
		t.Fatal(err)
	}
	wantBig(t, "slashed", sl.Amount, 75_000_000)
	wantBig(t, "reward", sl.Reward, 37_500_000)
	r.increaseTime(time.Hour)
	if _, err := r.as(r.provider).Unstake(r.ctx); err != nil {
		t.Fatal(err)
	}
	wantBig(t, "provider got what was left", r.balance(r.token, prov), 75_000_000)
	wantBig(t, "treasury", r.balance(r.token, r.treasury), 37_500_000)
	wantBig(t, "contract", r.balance(r.token, r.owner.Address()), 0)
}

// TestFeeScheduleAndCap: only the owner sets fees, each side at most
// 500 bp; a token's schedule applies to its redemptions, others keep the
// default.
func TestFeeScheduleAndCap(t *testing.T) { onChains(t, testFeeScheduleAndCap) }

func testFeeScheduleAndCap(t *testing.T, ch *testChain) {
	r := newRig(t, ch, nil)
	req := addr(r.requester)
	_, err := r.owner.SetFee(r.ctx, r.token, 501, 0)
	wantErr(t, err, contracts.ErrFeeTooHigh)
	_, err = r.owner.SetFee(r.ctx, r.token, 0, 501)
	wantErr(t, err, contracts.ErrFeeTooHigh)
	_, err = r.as(r.requester).SetFee(r.ctx, r.token, 0, 0)
	wantErr(t, err, contracts.ErrNotOwner)
	if _, err := r.owner.SetFee(r.ctx, r.token, 500, 100); err != nil {
		t.Fatal(err)
	}
	rb, pb, err := r.owner.Fee(r.ctx, r.token)
	if err != nil || rb != 500 || pb != 100 {
		t.Fatalf("fee: %d/%d %v, want 500/100", rb, pb, err)
	}
	rb, pb, _ = r.owner.Fee(r.ctx, contracts.NativeToken)
	if rb != 25 || pb != 25 {
		t.Fatalf("native fee: %d/%d, want the default 25/25", rb, pb)
	}

	r.mint(r.token, req, 1_050_000)
	if _, err := r.as(r.requester).Deposit(r.ctx, r.token, big.NewInt(1_050_000)); err != nil {
		t.Fatal(err)
	}
	v, sig := r.voucher(r.token, 1_000_000, 1)
	red, err := r.as(r.provider).Redeem(r.ctx, v, sig)
	if err != nil {
		t.Fatal(err)
	}
	wantBig(t, "paid", red.Paid, 990_000)
	wantBig(t, "treasury", r.balance(r.token, r.treasury), 50_000+10_000)
	wantBig(t, "escrow", r.escrow(req, r.token), 0)

	// A deployment over the cap is refused before it is sent.
	p := contracts.DefaultParams(r.treasury, req)
	p.FeeBP = 501
	_, _, err = contracts.Deploy(r.ctx, r.ec, r.requester, p)
	wantErr(t, err, contracts.ErrFeeTooHigh)
}

// TestNativeStakeWrongTokenAndOwner: with the native coin as the stake
// token, Stake sends coin and a slash pays the treasury in coin; the ERC-20
// entry points refuse the native token and the reverse; ownership moves.
func TestNativeStakeWrongTokenAndOwner(t *testing.T) { onChains(t, testNativeStakeWrongTokenAndOwner) }

func testNativeStakeWrongTokenAndOwner(t *testing.T, ch *testChain) {
	r := newRig(t, ch, func(p *contracts.Params, _ common.Address) { p.MinStake = big.NewInt(1e18) })
	prov := addr(r.provider)
	if _, err := r.as(r.provider).Stake(r.ctx, big.NewInt(2e18)); err != nil {
		t.Fatal(err)
	}
	if ok, _ := r.owner.IsEligible(r.ctx, prov); !ok {
		t.Fatal("a provider staking twice the minimum in coin is not eligible")
	}
	s := contracts.NewSettlement()
	_, err := r.as(r.provider).Send(r.ctx, r.owner.Address(), s.PackStake(big.NewInt(1)))
	wantErr(t, err, contracts.ErrWrongToken)
	_, err = r.as(r.requester).Send(r.ctx, r.owner.Address(), s.PackDeposit(contracts.NativeToken, big.NewInt(1)))
	wantErr(t, err, contracts.ErrWrongToken)

	a, sigA := r.work(r.provider, "job-n", 0, 1, 7)
	b, sigB := r.work(r.provider, "job-n", 0, 2, 7)
	sl, err := r.as(r.third).SlashConflict(r.ctx, a, sigA, b, sigB)
	if err != nil {
		t.Fatal(err)
	}
	wantBig(t, "slashed", sl.Amount, 2e18)
	wantBig(t, "treasury", r.balance(contracts.NativeToken, r.treasury), 1e18)
	wantBig(t, "contract", r.balance(contracts.NativeToken, r.owner.Address()), 0)

	// Fee governance moves to the requester: the old owner is refused.
	newOwner := r.owner.With(r.requester)
	if _, err := r.owner.Send(r.ctx, r.owner.Address(), s.PackSetOwner(addr(r.requester))); err != nil {
		t.Fatal(err)
	}
	_, err = r.owner.SetFee(r.ctx, r.token, 10, 10)
	wantErr(t, err, contracts.ErrNotOwner)
	if _, err := newOwner.SetFee(r.ctx, r.token, 10, 10); err != nil {
		t.Fatal(err)
	}
}
