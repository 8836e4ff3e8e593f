package contracts_test

import (
	"bytes"
	"crypto/ecdsa"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	"github.com/gpumesh/gpumesh/ledger/settle/contracts"
)

// auditType is the spec's Audit type, as docs/settlement.md writes it.
var auditType = []apitypes.Type{{Name: "job", Type: "bytes32"}, {Name: "rank", Type: "uint32"}, {Name: "result", Type: "bytes32"}}

// auditHash hashes a under d with go-ethereum's EIP-712 code.
func auditHash(t testing.TB, d apitypes.TypedDataDomain, a contracts.Audit) []byte {
	t.Helper()
	td := apitypes.TypedData{
		Types:       apitypes.Types{"EIP712Domain": domainType, "Audit": auditType},
		PrimaryType: "Audit",
		Domain:      d,
		Message: apitypes.TypedDataMessage{
			"job": hexutil.Encode(a.Job[:]), "rank": new(big.Int).SetUint64(uint64(a.Rank)).String(), "result": hexutil.Encode(a.Result[:]),
		},
	}
	h, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// audit builds an Audit of job and rank stating result, signed by key.
func (r *rig) audit(key *ecdsa.PrivateKey, job string, rank uint32, result byte) (contracts.Audit, []byte) {
	a := contracts.Audit{Job: ethcrypto.Keccak256Hash([]byte(job)), Rank: rank, Result: [32]byte{result}}
	return a, sign(r.t, key, auditHash(r.t, r.domain(), a))
}

// staker returns a fresh funded key that staked amount of the stake token.
func (r *rig) staker(amount int64) *ecdsa.PrivateKey {
	r.t.Helper()
	k := r.ch.fundedKey(r.t)
	r.mint(r.token, addr(k), amount)
	if _, err := r.as(k).Stake(r.ctx, big.NewInt(amount)); err != nil {
		r.t.Fatal(err)
	}
	return k
}

// TestSlashAuditFailure: a Work contradicted by two distinct eligible
// auditors' Audits slashes its signer once; equal digests, audits that
// disagree or name another rank, the same auditor twice, the accused as
// auditor, an unstaked or under-staked or leaving auditor and a malleable
// signature are refused and move nothing; the evidence replayed, or a
// conflict for the same job and rank afterwards, is refused.
func TestSlashAuditFailure(t *testing.T) { onChains(t, testSlashAuditFailure) }

func testSlashAuditFailure(t *testing.T, ch *testChain) {
	r := stakeRig(t, ch, 0) // the provider: 150 staked, minimum 100
	prov, third := addr(r.provider), addr(r.third)
	aud1, aud2 := r.staker(100_000_000), r.staker(120_000_000)
	under := r.staker(50_000_000)
	leaving := r.staker(100_000_000)
	if _, err := r.as(leaving).RequestUnstake(r.ctx, big.NewInt(1)); err != nil {
		t.Fatal(err)
	}
	unstaked := r.ch.fundedKey(t)

	w, sigW := r.work(r.provider, "job-1", 0, 0xaa, 1_000_000)
	a1, sig1 := r.audit(aud1, "job-1", 0, 0xbb)
	a2, sig2 := r.audit(aud2, "job-1", 0, 0xbb)
	onChain, err := r.owner.AuditDigest(r.ctx, a1)
	if err != nil {
		t.Fatal(err)
	}
	if want := auditHash(t, r.domain(), a1); !bytes.Equal(onChain[:], want) {
		t.Fatalf("contract audit digest %x, EIP-712 digest %x", onChain, want)
	}
	if local := contracts.AuditDigest(r.owner.ChainID(), r.owner.Address(), a1); local != onChain {
		t.Fatalf("contracts.AuditDigest %x, contract %x", local, onChain)
	}

	agree1, sigAgree1 := r.audit(aud1, "job-1", 0, 0xaa)
	agree2, sigAgree2 := r.audit(aud2, "job-1", 0, 0xaa)
	other2, sigOther2 := r.audit(aud2, "job-1", 0, 0xcc)
	rank2, sigRank2 := r.audit(aud2, "job-1", 1, 0xbb)
	again1, sigAgain1 := r.audit(aud1, "job-1", 0, 0xbb)
	byAccused, sigByAccused := r.audit(r.provider, "job-1", 0, 0xbb)
	byUnstaked, sigByUnstaked := r.audit(unstaked, "job-1", 0, 0xbb)
	byUnder, sigByUnder := r.audit(under, "job-1", 0, 0xbb)
	byLeaving, sigByLeaving := r.audit(leaving, "job-1", 0, 0xbb)
	refused := []struct {
		name string
		a1   contracts.Audit
		sig1 []byte
		a2   contracts.Audit
		sig2 []byte
		want error
	}{
		{"equal digests", agree1, sigAgree1, agree2, sigAgree2, contracts.ErrNotConflicting},
		{"audits disagree", a1, sig1, other2, sigOther2, contracts.ErrAuditsDisagree},
		{"another rank", a1, sig1, rank2, sigRank2, contracts.ErrAuditsDisagree},
		{"same auditor twice", a1, sig1, again1, sigAgain1, contracts.ErrSameAuditor},
		{"the accused as auditor", a1, sig1, byAccused, sigByAccused, contracts.ErrAuditorIsAccused},
		{"unstaked auditor", a1, sig1, byUnstaked, sigByUnstaked, contracts.ErrAuditorNotEligible},
		{"auditor under the minimum stake", byUnder, sigByUnder, a2, sig2, contracts.ErrAuditorNotEligible},
		{"auditor leaving", a1, sig1, byLeaving, sigByLeaving, contracts.ErrAuditorNotEligible},
		{"malleable audit signature", a1, malleate(sig1), a2, sig2, contracts.ErrBadSignature},
	}
	for _, c := range refused {
		_, err := r.as(r.third).SlashAuditFailure(r.ctx, w, sigW, c.a1, c.sig1, c.a2, c.sig2)
		wantErr(t, err, c.want)
		t.Logf("%s: %v", c.name, err)
	}
	_, err = r.as(r.third).SlashAuditFailure(r.ctx, w, malleate(sigW), a1, sig1, a2, sig2)
	wantErr(t, err, contracts.ErrBadSignature)
	s, _ := r.owner.StakeOf(r.ctx, prov)
	wantBig(t, "stake after refusals", s, 150_000_000)

	sl, err := r.as(r.third).SlashAuditFailure(r.ctx, w, sigW, a1, sig1, a2, sig2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("slash on a failed audit: %d gas", sl.Receipt.GasUsed)
	if sl.Provider != prov {
		t.Fatalf("slashed %s, want %s", sl.Provider, prov)
	}
	wantBig(t, "slashed", sl.Amount, 150_000_000)
	wantBig(t, "reward", sl.Reward, 75_000_000)
	wantBig(t, "submitter", r.balance(r.token, third), 75_000_000)
	wantBig(t, "treasury", r.balance(r.token, r.treasury), 75_000_000)
	for _, k := range []*ecdsa.PrivateKey{aud1, aud2} {
		if s, _ := r.owner.StakeOf(r.ctx, addr(k)); s.Sign() == 0 {
			t.Fatal("an auditor lost its stake")
		}
	}

	// The offence (provider, job, rank) is spent, by either kind of evidence.
	_, err = r.as(r.third).SlashAuditFailure(r.ctx, w, sigW, a2, sig2, a1, sig1)
	wantErr(t, err, contracts.ErrAlreadySlashed)
	b, sigB := r.work(r.provider, "job-1", 0, 0xbb, 1_000_000)
	_, err = r.as(r.third).SlashConflict(r.ctx, w, sigW, b, sigB)
	wantErr(t, err, contracts.ErrAlreadySlashed)
	wantBig(t, "submitter after replays", r.balance(r.token, third), 75_000_000)
}
