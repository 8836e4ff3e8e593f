package contracts_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	"github.com/gpumesh/gpumesh/ledger/settle/contracts"
)

// The Voucher and Work types exactly as docs/settlement.md and the shared
// spec write them: the tests hash with go-ethereum's EIP-712 code from this
// text, so the contract's hashing is checked independently.
var (
	domainType = []apitypes.Type{
		{Name: "name", Type: "string"}, {Name: "version", Type: "string"},
		{Name: "chainId", Type: "uint256"}, {Name: "verifyingContract", Type: "address"},
	}
	voucherType = []apitypes.Type{
		{Name: "requester", Type: "address"}, {Name: "provider", Type: "address"},
		{Name: "token", Type: "address"}, {Name: "cumulative", Type: "uint256"}, {Name: "nonce", Type: "uint64"},
	}
	workType = []apitypes.Type{
		{Name: "job", Type: "bytes32"}, {Name: "rank", Type: "uint32"}, {Name: "result", Type: "bytes32"},
		{Name: "amount", Type: "uint256"}, {Name: "token", Type: "address"}, {Name: "requester", Type: "address"},
	}
)

// domain is the spec's EIP-712 domain for a chain and contract.
func domain(chainID *big.Int, contract common.Address) apitypes.TypedDataDomain {
	return apitypes.TypedDataDomain{
		Name: "gpumesh", Version: "1",
		ChainId: (*math.HexOrDecimal256)(new(big.Int).Set(chainID)), VerifyingContract: contract.Hex(),
	}
}

// voucherHash hashes v under d with go-ethereum's EIP-712 code.
func voucherHash(t testing.TB, d apitypes.TypedDataDomain, v contracts.Voucher) []byte {
	t.Helper()
	td := apitypes.TypedData{
		Types:       apitypes.Types{"EIP712Domain": domainType, "Voucher": voucherType},
		PrimaryType: "Voucher",
		Domain:      d,
		Message: apitypes.TypedDataMessage{
			"requester": v.Requester.Hex(), "provider": v.Provider.Hex(), "token": v.Token.Hex(),
			"cumulative": v.Cumulative.String(), "nonce": new(big.Int).SetUint64(v.Nonce).String(),
		},
	}
	h, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// workHash hashes w under d with go-ethereum's EIP-712 code.
func workHash(t testing.TB, d apitypes.TypedDataDomain, w contracts.Work) []byte {
	t.Helper()
	td := apitypes.TypedData{
		Types:       apitypes.Types{"EIP712Domain": domainType, "Work": workType},
		PrimaryType: "Work",
		Domain:      d,
		Message: apitypes.TypedDataMessage{
			"job": hexutil.Encode(w.Job[:]), "rank": new(big.Int).SetUint64(uint64(w.Rank)).String(), "result": hexutil.Encode(w.Result[:]),
			"amount": w.Amount.String(), "token": w.Token.Hex(), "requester": w.Requester.Hex(),
		},
	}
	h, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// sign signs a 32-byte digest as r||s||v with v in {27, 28}.
func sign(t testing.TB, key *ecdsa.PrivateKey, digest []byte) []byte {
	t.Helper()
	sig, err := ethcrypto.Sign(digest, key)
	if err != nil {
		t.Fatal(err)
	}
	sig[64] += 27
	return sig
}

// malleate returns the other valid-looking signature of the same digest:
// s -> n - s, v flipped (what the contract must refuse).
func malleate(sig []byte) []byte {
	out := append([]byte(nil), sig...)
	s := new(big.Int).SetBytes(sig[32:64])
	s.Sub(ethcrypto.S256().Params().N, s)
	s.FillBytes(out[32:64])
	out[64] = 27 + 28 - sig[64]
	return out
}

// rig is one freshly deployed Settlement on a test chain, with a test
// stablecoin, an owner (who deployed), a treasury, a requester holding
// tokens and escrow, a provider and a third party who submits.
type rig struct {
	t         *testing.T
	ctx       context.Context
	ch        *testChain
	ec        contracts.Backend
	owner     *contracts.Client
	token     common.Address
	treasury  common.Address
	requester *ecdsa.PrivateKey
	provider  *ecdsa.PrivateKey
	third     *ecdsa.PrivateKey
}

// newRig deploys a token and a Settlement on ch with p (treasury and owner
// filled in when zero).
func newRig(t *testing.T, ch *testChain, edit func(*contracts.Params, common.Address)) *rig {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	r := &rig{
		t: t, ctx: ctx, ch: ch, ec: ch.backend,
		requester: ch.fundedKey(t), provider: ch.fundedKey(t), third: ch.fundedKey(t),
	}
	tk, err := ethcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	r.treasury = addr(tk) // holds nothing but fees
	ownerKey := ch.fundedKey(t)
	r.token = r.deployToken(ownerKey, contracts.TestTokenMetaData.Bin)
	p := contracts.DefaultParams(r.treasury, ethcrypto.PubkeyToAddress(ownerKey.PublicKey))
	p.Notice = time.Hour
	if edit != nil {
		edit(&p, r.token)
	}
	r.owner, _, err = contracts.Deploy(ctx, r.ec, ownerKey, p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// deployToken deploys a test token's bytecode and returns its address.
func (r *rig) deployToken(key *ecdsa.PrivateKey, bin string) common.Address {
	r.t.Helper()
	chainID, err := r.ec.ChainID(r.ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	_, addr, err := contracts.DeployCode(r.ctx, r.ec, key, chainID, common.FromHex(bin), nil)
	if err != nil {
		r.t.Fatal(err)
	}
	return addr
}

// as returns a client for the rig's contract sending with key.
func (r *rig) as(key *ecdsa.PrivateKey) *contracts.Client { return r.owner.With(key) }

// send sends raw calldata to to from key (for the test tokens' own
// functions) and fails the test if it does not succeed.
func (r *rig) send(key *ecdsa.PrivateKey, to common.Address, data []byte) {
	r.t.Helper()
	if _, err := r.as(key).Send(r.ctx, to, data); err != nil {
		r.t.Fatal(err)
	}
}

// mint gives who amount of token (a test token).
func (r *rig) mint(token, who common.Address, amount int64) {
	r.t.Helper()
	r.send(r.third, token, contracts.NewTestToken().PackMint(who, big.NewInt(amount)))
}

// balance returns who's balance of token.
func (r *rig) balance(token, who common.Address) *big.Int {
	r.t.Helper()
	b, err := r.owner.BalanceOf(r.ctx, token, who)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// escrow returns requester's escrow in token.
func (r *rig) escrow(requester, token common.Address) *big.Int {
	r.t.Helper()
	b, err := r.owner.Escrow(r.ctx, requester, token)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// domain returns the rig's contract's EIP-712 domain.
func (r *rig) domain() apitypes.TypedDataDomain {
	return domain(r.owner.ChainID(), r.owner.Address())
}

// voucher builds and signs (with the requester's key, over the rig's domain)
// a voucher from the requester to the provider.
func (r *rig) voucher(token common.Address, cumulative int64, nonce uint64) (contracts.Voucher, []byte) {
	v := contracts.Voucher{
		Requester: addr(r.requester), Provider: addr(r.provider), Token: token,
		Cumulative: big.NewInt(cumulative), Nonce: nonce,
	}
	return v, sign(r.t, r.requester, voucherHash(r.t, r.domain(), v))
}

// increaseTime moves the chain's clock on by d and mines a block.
func (r *rig) increaseTime(d time.Duration) {
	r.t.Helper()
	r.ch.increaseTime(r.ctx, r.t, d)
}

// wantErr fails unless err is target.
func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

// wantBig fails unless got equals want.
func wantBig(t testing.TB, what string, got *big.Int, want int64) {
	t.Helper()
	if got.Cmp(big.NewInt(want)) != 0 {
		t.Fatalf("%s: got %s, want %d", what, got, want)
	}
}

func addr(k *ecdsa.PrivateKey) common.Address { return ethcrypto.PubkeyToAddress(k.PublicKey) }
