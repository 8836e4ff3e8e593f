package settle

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// SignatureSize is the length of a signature: r || s || v.
const SignatureSize = 65

// halfN is half the secp256k1 group order: a signature's s must not exceed it.
var halfN = new(big.Int).Rsh(crypto.S256().Params().N, 1)

// Sign signs an EIP-712 digest with key and returns r || s || v with v in
// {27, 28} and s in the lower half of the order, as the contract's ecrecover wants.
func Sign(key *ecdsa.PrivateKey, digest common.Hash) ([]byte, error) {
	sig, err := crypto.Sign(digest[:], key) // go-ethereum signs with low s and v in {0, 1}
	if err != nil {
		return nil, fmt.Errorf("sign digest: %w", err)
	}
	sig[64] += 27
	return sig, nil
}

// Recover returns the address that signed digest, refusing a signature of
// the wrong length, with v outside {27, 28}, with r or s out of range or with
// s in the upper half of the order (ErrMalleable).
func Recover(digest common.Hash, sig []byte) (common.Address, error) {
	if len(sig) != SignatureSize {
		return common.Address{}, fmt.Errorf("%w: %d bytes, want %d", ErrSignature, len(sig), SignatureSize)
	}
	v := sig[64]
	if v != 27 && v != 28 {
		return common.Address{}, fmt.Errorf("%w: v is %d, want 27 or 28", ErrSignature, v)
	}
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:64])
	if s.Cmp(halfN) > 0 {
		return common.Address{}, fmt.Errorf("%w: s in the upper half of the curve order", ErrMalleable)
	}
	if !crypto.ValidateSignatureValues(v-27, r, s, true) {
		return common.Address{}, fmt.Errorf("%w: r or s out of range", ErrSignature)
	}
	norm := make([]byte, SignatureSize)
	copy(norm, sig)
	norm[64] = v - 27
	pub, err := crypto.SigToPub(digest[:], norm)
	if err != nil {
		return common.Address{}, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return crypto.PubkeyToAddress(*pub), nil
}

// Verify checks that sig over digest is by want.
func Verify(digest common.Hash, sig []byte, want common.Address) error {
	got, err := Recover(digest, sig)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%w: signed by %s, want %s", ErrSignature, got.Hex(), want.Hex())
	}
	return nil
}
