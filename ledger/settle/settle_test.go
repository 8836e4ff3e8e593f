package settle

import (
	"crypto/ecdsa"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	"github.com/gpumesh/gpumesh/ledger"
)

// Fixed keys and values for test vectors.
var (
	requesterKey = mustKey("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	providerKey  = mustKey("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
	testDomain   = Domain{ChainID: 31337, Contract: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")}
	testToken    = common.HexToAddress("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")
)

func mustKey(h string) *ecdsa.PrivateKey {
	k, err := crypto.HexToECDSA(h)
	if err != nil {
		panic(err)
	}
	return k
}

func addr(k *ecdsa.PrivateKey) common.Address { return crypto.PubkeyToAddress(k.PublicKey) }

func testVoucher() Voucher {
	return Voucher{Requester: addr(requesterKey), Provider: addr(providerKey), Token: testToken, Cumulative: big.NewInt(1_234_567), Nonce: 3}
}

func testWork() Work {
	return Work{
		Job: JobHash("job-7f3a"), Rank: 2,
		Result: common.HexToHash("0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
		Amount: big.NewInt(1_000_000), Token: testToken, Requester: addr(requesterKey),
	}
}

// typedData builds the same message for go-ethereum's EIP-712 encoder.
func typedData(primary string, msg apitypes.TypedDataMessage) apitypes.TypedData {
	return apitypes.TypedData{
		Types: apitypes.Types{
			"EIP712Domain": {{Name: "name", Type: "string"}, {Name: "version", Type: "string"}, {Name: "chainId", Type: "uint256"}, {Name: "verifyingContract", Type: "address"}},
			"Voucher":      {{Name: "requester", Type: "address"}, {Name: "provider", Type: "address"}, {Name: "token", Type: "address"}, {Name: "cumulative", Type: "uint256"}, {Name: "nonce", Type: "uint64"}},
			"Work":         {{Name: "job", Type: "bytes32"}, {Name: "rank", Type: "uint32"}, {Name: "result", Type: "bytes32"}, {Name: "amount", Type: "uint256"}, {Name: "token", Type: "address"}, {Name: "requester", Type: "address"}},
		},
		PrimaryType: primary,
		Domain: apitypes.TypedDataDomain{
			Name: DomainName, Version: DomainVersion,
			ChainId:           math.NewHexOrDecimal256(int64(testDomain.ChainID)),
			VerifyingContract: testDomain.Contract.Hex(),
		},
		Message: msg,
	}
}

func TestDigestMatchesTypedData(t *testing.T) {
	v := testVoucher()
	td := typedData("Voucher", apitypes.TypedDataMessage{
		"requester": v.Requester.Hex(), "provider": v.Provider.Hex(), "token": v.Token.Hex(),
		"cumulative": v.Cumulative.String(), "nonce": "3",
	})
	want, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Digest(testDomain); got != common.BytesToHash(want) {
		t.Errorf("voucher digest %s, apitypes says %x", got, want)
	}
	w := testWork()
	td = typedData("Work", apitypes.TypedDataMessage{
		"job": w.Job.Hex(), "rank": "2", "result": w.Result.Hex(), "amount": w.Amount.String(),
		"token": w.Token.Hex(), "requester": w.Requester.Hex(),
	})
	want, _, err = apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Digest(testDomain); got != common.BytesToHash(want) {
		t.Errorf("work digest %s, apitypes says %x", got, want)
	}
}

// TestVector pins the digests and signatures so the contract's tests can use
// the same. All four values were also computed, independently of
// go-ethereum, with ethers 6.17.0 (TypedDataEncoder.hashDomain, .hash and
// Wallet.signTypedData over the same keys and messages), by hand, not in CI.
func TestVector(t *testing.T) {
	v, w := testVoucher(), testWork()
	for _, c := range []struct {
		name, got, want string
	}{
		{"separator", testDomain.Separator().Hex(), vectorSeparator},
		{"voucher digest", v.Digest(testDomain).Hex(), vectorVoucherDigest},
		{"work digest", w.Digest(testDomain).Hex(), vectorWorkDigest},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, c.got, c.want)
		}
	}
	sig, err := Sign(requesterKey, v.Digest(testDomain))
	if err != nil {
		t.Fatal(err)
	}
	if got := common.Bytes2Hex(sig); got != vectorVoucherSig {
		t.Errorf("voucher signature: got %s, want %s", got, vectorVoucherSig)
	}
}

const (
	vectorSeparator     = "0x1b06620b9acd474285c223c278e61330d85e52d743f71c469cc1043be3877ad2"
	vectorVoucherDigest = "0x7b8c1a563074ae693d7d15f890d3cc311eee9d0362ad0c87cf21ac331f1bc0ca"
	vectorWorkDigest    = "0x4a3b014e266fa4bdd7411b51112dd0db04d59369e2b8c81e761be578fb68a9e3"
	vectorVoucherSig    = "a30187d91e7651a214654429d783248a2664d6b64f2fa8a795022f8595acb06c1181f297ca3832a3d49abae98150a4e8589b8b40d712ec051eeca6189a0b7efa1c"
)

func TestSignedVoucherRoundTrip(t *testing.T) {
	sv, err := SignVoucher(requesterKey, testDomain, testVoucher())
	if err != nil {
		t.Fatal(err)
	}
	if sv.Sig[64] != 27 && sv.Sig[64] != 28 {
		t.Errorf("v = %d, want 27 or 28", sv.Sig[64])
	}
	b, err := sv.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeSignedVoucher(b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if err := got.Verify(testDomain); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if got.Voucher.Cumulative.Cmp(sv.Voucher.Cumulative) != 0 || got.Voucher.Nonce != 3 {
		t.Errorf("round trip changed the voucher: %+v", got.Voucher)
	}
}

func TestSignVoucherRefusesOtherKey(t *testing.T) {
	if _, err := SignVoucher(providerKey, testDomain, testVoucher()); !errors.Is(err, ErrParties) {
		t.Errorf("got %v, want ErrParties", err)
	}
}

func TestVoucherRefusals(t *testing.T) {
	good, err := SignVoucher(requesterKey, testDomain, testVoucher())
	if err != nil {
		t.Fatal(err)
	}
	otherChain := testDomain
	otherChain.ChainID = 1
	otherContract := testDomain
	otherContract.Contract = common.HexToAddress("0x0000000000000000000000000000000000000bad")
	tests := []struct {
		name   string
		mutate func(sv *SignedVoucher)
		domain Domain
		want   error
	}{
		{"another chain", func(*SignedVoucher) {}, otherChain, ErrDomain},
		{"another contract", func(*SignedVoucher) {}, otherContract, ErrDomain},
		{"signed for another chain", func(sv *SignedVoucher) { sv.Domain = otherChain }, otherChain, ErrSignature},
		{"raised cumulative", func(sv *SignedVoucher) { sv.Voucher.Cumulative = big.NewInt(9_999_999) }, testDomain, ErrSignature},
		{"wrong signer", func(sv *SignedVoucher) {
			sig, _ := Sign(providerKey, sv.Voucher.Digest(testDomain))
			sv.Sig = sig
		}, testDomain, ErrSignature},
		{"malleable s", func(sv *SignedVoucher) { sv.Sig = malleate(sv.Sig) }, testDomain, ErrMalleable},
		{"v of 0", func(sv *SignedVoucher) { sv.Sig[64] -= 27 }, testDomain, ErrSignature},
		{"short signature", func(sv *SignedVoucher) { sv.Sig = sv.Sig[:64] }, testDomain, ErrSignature},
		{"zero nonce", func(sv *SignedVoucher) { sv.Voucher.Nonce = 0 }, testDomain, ErrInvalid},
		{"negative cumulative", func(sv *SignedVoucher) { sv.Voucher.Cumulative = big.NewInt(-1) }, testDomain, ErrInvalid},
		{"wide cumulative", func(sv *SignedVoucher) { sv.Voucher.Cumulative = new(big.Int).Lsh(big.NewInt(1), 256) }, testDomain, ErrInvalid},
		{"self payment", func(sv *SignedVoucher) { sv.Voucher.Provider = sv.Voucher.Requester }, testDomain, ErrInvalid},
		{"version", func(sv *SignedVoucher) { sv.V = 2 }, testDomain, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sv := *good
			sv.Voucher.Cumulative = new(big.Int).Set(good.Voucher.Cumulative)
			sv.Sig = append([]byte(nil), good.Sig...)
			tt.mutate(&sv)
			if err := sv.Verify(tt.domain); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// malleate returns the other valid signature for the same digest: s' = N - s, v flipped.
func malleate(sig []byte) []byte {
	out := append([]byte(nil), sig...)
	s := new(big.Int).SetBytes(sig[32:64])
	new(big.Int).Sub(crypto.S256().Params().N, s).FillBytes(out[32:64])
	out[64] = 55 - out[64] // 27 <-> 28
	return out
}

func TestMalleatedSignatureRecoversSameSigner(t *testing.T) {
	// The refusal matters because the high-s twin is otherwise a valid signature by the same key.
	d := testVoucher().Digest(testDomain)
	sig, _ := Sign(requesterKey, d)
	twin := malleate(sig)
	twin[64] -= 27
	pub, err := crypto.SigToPub(d[:], twin)
	if err != nil || crypto.PubkeyToAddress(*pub) != addr(requesterKey) {
		t.Fatalf("high-s twin does not recover the signer (%v); the malleability test proves nothing", err)
	}
}

func TestCheckNext(t *testing.T) {
	r, p := addr(requesterKey), addr(providerKey)
	prev := NextVoucher(nil, r, p, testToken, big.NewInt(500))
	if prev.Nonce != 1 || prev.Cumulative.Int64() != 500 {
		t.Fatalf("first voucher %+v, want nonce 1 cumulative 500", prev)
	}
	add := big.NewInt(300)
	good := NextVoucher(&prev, r, p, testToken, add)
	if err := CheckNext(&prev, &good, r, p, testToken, add); err != nil {
		t.Fatalf("good voucher refused: %v", err)
	}
	if good.Cumulative.Int64() != 800 || good.Nonce != 2 {
		t.Errorf("next voucher %+v, want cumulative 800 nonce 2", good)
	}
	tests := []struct {
		name   string
		mutate func(v *Voucher)
		want   error
	}{
		{"lower cumulative", func(v *Voucher) { v.Cumulative = big.NewInt(400) }, ErrCumulative},
		{"too high cumulative", func(v *Voucher) { v.Cumulative = big.NewInt(801) }, ErrCumulative},
		{"nonce repeated", func(v *Voucher) { v.Nonce = 1 }, ErrNonce},
		{"nonce skipped", func(v *Voucher) { v.Nonce = 3 }, ErrNonce},
		{"other provider", func(v *Voucher) { v.Provider = testToken }, ErrParties},
		{"other token", func(v *Voucher) { v.Token = NativeToken }, ErrParties},
		{"other requester", func(v *Voucher) { v.Requester = testToken }, ErrParties},
		{"missing cumulative", func(v *Voucher) { v.Cumulative = nil }, ErrCumulative},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := good
			v.Cumulative = new(big.Int).Set(good.Cumulative)
			tt.mutate(&v)
			if err := CheckNext(&prev, &v, r, p, testToken, add); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestUnits(t *testing.T) {
	tests := []struct {
		m        ledger.Micros
		decimals uint8
		want     string
		err      error
	}{
		{1_500_000, 6, "1500000", nil},
		{1_500_000, 18, "1500000000000000000", nil},
		{ledger.MaxAmount, MaxDecimals, "100000000000000" + zeros(MaxDecimals-6), nil},
		{1, 5, "", ErrDecimals},
		{1, MaxDecimals + 1, "", ErrDecimals},
		{-1, 6, "", ErrInvalid},
	}
	for _, tt := range tests {
		got, err := ToUnits(tt.m, tt.decimals)
		if !errors.Is(err, tt.err) || (err == nil && got.String() != tt.want) {
			t.Errorf("ToUnits(%d, %d) = %v, %v; want %s, %v", tt.m, tt.decimals, got, err, tt.want, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		if back, exact, err := FromUnits(got, tt.decimals); err != nil || !exact || back != tt.m {
			t.Errorf("FromUnits(%s, %d) = %d, %v, %v; want %d exact", got, tt.decimals, back, exact, err, tt.m)
		}
	}
	if m, exact, err := FromUnits(big.NewInt(1_999_999_999_999), 18); err != nil || exact || m != 1 {
		t.Errorf("FromUnits of a fraction = %d, %v, %v; want 1, inexact", m, exact, err)
	}
	if _, _, err := FromUnits(new(big.Int).Lsh(big.NewInt(1), 200), 6); !errors.Is(err, ErrInvalid) {
		t.Errorf("FromUnits of 2^200 micros: %v, want ErrInvalid", err)
	}
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

func testReceipt(t *testing.T) *ledger.Receipt {
	t.Helper()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := &ledger.Receipt{
		Job: "job-7f3a", Requester: "12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK",
		Provider: "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq", Rank: 2, Devices: 1,
		Start: start, End: start.Add(time.Hour), Issued: start.Add(time.Hour), UnitPrice: 1_000_000,
		ResultDigest: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Status:       ledger.StatusSucceeded, Seq: 1,
	}
	r.Finalize()
	if err := r.Check(); err != nil {
		t.Fatalf("test receipt: %v", err)
	}
	return r
}

func TestWorkFor(t *testing.T) {
	w, err := WorkFor(testReceipt(t), testToken, 6, addr(requesterKey))
	if err != nil {
		t.Fatal(err)
	}
	want := testWork()
	if w.Job != want.Job || w.Rank != want.Rank || w.Result != want.Result || w.Amount.Cmp(want.Amount) != 0 || w.Token != want.Token || w.Requester != want.Requester {
		t.Errorf("WorkFor = %+v, want %+v", w, want)
	}
}

func TestSignedWorkAndConflicts(t *testing.T) {
	p := addr(providerKey)
	a, err := SignWork(providerKey, testDomain, testWork())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := a.Encode()
	back, err := DecodeSignedWork(b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if err := back.Verify(testDomain, p); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if err := back.Verify(testDomain, addr(requesterKey)); !errors.Is(err, ErrSignature) {
		t.Errorf("verify against the requester: %v, want ErrSignature", err)
	}
	same, _ := SignWork(providerKey, testDomain, testWork())
	if Conflicts(a, same, p) {
		t.Error("identical works conflict")
	}
	lied := testWork()
	lied.Amount = big.NewInt(2_000_000)
	c, _ := SignWork(providerKey, testDomain, lied)
	if !Conflicts(a, c, p) {
		t.Error("works with different amounts for the same job and rank do not conflict")
	}
	other := testWork()
	other.Rank = 3
	other.Amount = big.NewInt(2_000_000)
	d, _ := SignWork(providerKey, testDomain, other)
	if Conflicts(a, d, p) {
		t.Error("works for different ranks conflict")
	}
	forged, _ := SignWork(requesterKey, testDomain, lied)
	if Conflicts(a, forged, p) {
		t.Error("a work signed by another key counts as the provider's evidence")
	}
}

func TestDecodeRefusals(t *testing.T) {
	sv, _ := SignVoucher(requesterKey, testDomain, testVoucher())
	good, _ := sv.Encode()
	for name, b := range map[string][]byte{
		"too big":           append(append([]byte(nil), good...), make([]byte, MaxWireSize)...),
		"unknown field":     []byte(`{"v":1,"extra":1}`),
		"trailing data":     append(append([]byte(nil), good...), []byte(`{}`)...),
		"not json":          []byte("\x00\x01"),
		"empty object":      []byte(`{}`),
		"short address":     []byte(`{"v":1,"domain":{"chain_id":1,"contract":"0x01"}}`),
		"float nonce":       []byte(`{"v":1,"voucher":{"nonce":1.5}}`),
		"string cumulative": []byte(`{"v":1,"voucher":{"cumulative":"12"}}`),
	} {
		if _, err := DecodeSignedVoucher(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func TestFormatUnits(t *testing.T) {
	for _, tt := range []struct {
		units    int64
		decimals uint8
		want     string
	}{{12_500_000, 6, "12.5"}, {1, 6, "0.000001"}, {0, 18, "0"}, {3_000_000, 6, "3"}, {-1_500_000, 6, "-1.5"}} {
		if got := FormatUnits(big.NewInt(tt.units), tt.decimals); got != tt.want {
			t.Errorf("FormatUnits(%d, %d) = %q, want %q", tt.units, tt.decimals, got, tt.want)
		}
	}
}
