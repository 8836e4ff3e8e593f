package contracts_test

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"

	"github.com/gpumesh/gpumesh/ledger/anchor/evm"
	"github.com/gpumesh/gpumesh/ledger/settle/contracts"
)

// anvilChainID is anvil's default chain ID. The gas comparison runs the
// dev chain under it, so that both chains sign, and so send, the same bytes.
const anvilChainID = 31337

// gasKeys are the accounts of one gas run: the same keys on both chains,
// so that addresses, calldata and signatures are byte for byte the same.
type gasKeys struct {
	owner, requester, provider, provider2, third, treasury, auditor1, auditor2 *ecdsa.PrivateKey
}

func newGasKeys(t *testing.T) gasKeys {
	t.Helper()
	gen := func() *ecdsa.PrivateKey {
		k, err := ethcrypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	return gasKeys{owner: gen(), requester: gen(), provider: gen(), provider2: gen(), third: gen(), treasury: gen(), auditor1: gen(), auditor2: gen()}
}

// gasStep is one transaction of a gas run and the gas it used.
type gasStep struct {
	name string
	gas  uint64
}

// gasRun deploys a test token and a Settlement (native stake) on ch from
// k.owner and runs B12's transactions (deposits, redemptions, a stake and a
// slash, and a slash on a failed audit), returning each one's gasUsed in order.
func gasRun(t *testing.T, ch *testChain, k gasKeys) []gasStep {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, key := range []*ecdsa.PrivateKey{k.owner, k.requester, k.provider, k.provider2, k.third, k.auditor1, k.auditor2} {
		ch.fund(t, addr(key))
	}
	var steps []gasStep
	note := func(name string, r *types.Receipt, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		steps = append(steps, gasStep{name, r.GasUsed})
	}
	chainID, err := ch.backend.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, token, err := contracts.DeployCode(ctx, ch.backend, k.owner, chainID, common.FromHex(contracts.TestTokenMetaData.Bin), nil)
	note("deploy test token", r, err)
	p := contracts.DefaultParams(addr(k.treasury), addr(k.owner))
	p.Notice, p.MinStake = time.Hour, big.NewInt(1e17)
	owner, r, err := contracts.Deploy(ctx, ch.backend, k.owner, p)
	note("deploy Settlement", r, err)
	req, prov, third := owner.With(k.requester), owner.With(k.provider), owner.With(k.third)

	if _, err := third.Send(ctx, token, contracts.NewTestToken().PackMint(addr(k.requester), big.NewInt(10_000_000_000))); err != nil {
		t.Fatal(err)
	}
	r, err = req.Deposit(ctx, token, big.NewInt(5_000_000_000))
	note("deposit ERC-20, first", r, err)
	r, err = req.Deposit(ctx, token, big.NewInt(5_000_000_000))
	note("deposit ERC-20, later", r, err)
	r, err = req.Deposit(ctx, contracts.NativeToken, big.NewInt(1e17))
	note("deposit native, first", r, err)

	redeem := func(name string, provider *ecdsa.PrivateKey, cumulative int64, nonce uint64) {
		v := contracts.Voucher{Requester: addr(k.requester), Provider: addr(provider), Token: token, Cumulative: big.NewInt(cumulative), Nonce: nonce}
		d := contracts.VoucherDigest(chainID, owner.Address(), v)
		red, err := third.Redeem(ctx, v, sign(t, k.requester, d[:]))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		steps = append(steps, gasStep{name, red.Receipt.GasUsed})
	}
	redeem("redeem, the contract's first ever", k.provider, 1_234_567, 1)
	redeem("redeem, a provider's first, 1,000 receipts", k.provider2, 1_234_567_000, 1000)
	redeem("redeem, the next voucher", k.provider, 2_469_134, 2)

	r, err = prov.Stake(ctx, big.NewInt(1e17))
	note("stake, native, first", r, err)
	work := func(result byte) (contracts.Work, []byte) {
		w := contracts.Work{Job: ethcrypto.Keccak256Hash([]byte("job-1")), Rank: 0, Result: [32]byte{result}, Amount: big.NewInt(1_234_567), Token: token, Requester: addr(k.requester)}
		d := contracts.WorkDigest(chainID, owner.Address(), w)
		return w, sign(t, k.provider, d[:])
	}
	a, sigA := work(1)
	b, sigB := work(2)
	sl, err := third.SlashConflict(ctx, a, sigA, b, sigB)
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, gasStep{"slash a conflict", sl.Receipt.GasUsed})

	for _, key := range []*ecdsa.PrivateKey{k.provider2, k.auditor1, k.auditor2} {
		if _, err := owner.With(key).Stake(ctx, big.NewInt(1e17)); err != nil {
			t.Fatal(err)
		}
	}
	w := contracts.Work{Job: ethcrypto.Keccak256Hash([]byte("job-2")), Rank: 1, Result: [32]byte{1}, Amount: big.NewInt(1_234_567), Token: token, Requester: addr(k.requester)}
	audit := func(key *ecdsa.PrivateKey) (contracts.Audit, []byte) {
		a := contracts.Audit{Job: w.Job, Rank: w.Rank, Result: [32]byte{2}}
		d := contracts.AuditDigest(chainID, owner.Address(), a)
		return a, sign(t, key, d[:])
	}
	wd := contracts.WorkDigest(chainID, owner.Address(), w)
	a1, sig1 := audit(k.auditor1)
	a2, sig2 := audit(k.auditor2)
	sl, err = third.SlashAuditFailure(ctx, w, sign(t, k.provider2, wd[:]), a1, sig1, a2, sig2)
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, gasStep{"slash on a failed audit", sl.Receipt.GasUsed})
	return steps
}

// TestGasMatchesAnvil runs the same transactions, from the same keys, on
// the in-process dev chain (under anvil's chain ID) and on anvil: every
// one uses exactly the same gas on both (B12's figures hold on the demo's
// chain). It skips without anvil.
func TestGasMatchesAnvil(t *testing.T) {
	onAnvil := anvilChain(t)
	d, err := evm.NewDevChain(anvilChainID, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if id, err := onAnvil.backend.ChainID(context.Background()); err != nil || id.Uint64() != anvilChainID {
		t.Skipf("anvil's chain ID is %v (%v), not %d: the signatures would differ", id, err, anvilChainID)
	}
	k := newGasKeys(t)
	want := gasRun(t, onAnvil, k)
	got := gasRun(t, &testChain{backend: d, dev: d}, k)
	for i, s := range want {
		if got[i] != s {
			t.Errorf("%s: %d gas on the dev chain, %d on anvil", s.name, got[i].gas, s.gas)
			continue
		}
		t.Logf("%s: %d gas on both", s.name, s.gas)
	}
}
