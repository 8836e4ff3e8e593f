package settle

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
)

// WireVersion is the version of the SignedVoucher and SignedWork wire formats.
const WireVersion = 1

// MaxWireSize bounds an encoded SignedVoucher or SignedWork.
const MaxWireSize = 2048

// SignedVoucher is a Voucher with its domain and the requester's signature,
// as it travels on the receipt stream and lies in the ledger.
type SignedVoucher struct {
	// V is WireVersion.
	V int `json:"v"`
	// Domain is the chain and contract the voucher is for.
	Domain Domain `json:"domain"`
	// Voucher is what is promised.
	Voucher Voucher `json:"voucher"`
	// Sig is the requester's signature over Voucher.Digest(Domain).
	Sig hexutil.Bytes `json:"sig"`
}

// SignVoucher signs v in domain d with the requester's key, which must be v.Requester's.
func SignVoucher(key *ecdsa.PrivateKey, d Domain, v Voucher) (*SignedVoucher, error) {
	if got := crypto.PubkeyToAddress(key.PublicKey); got != v.Requester {
		return nil, fmt.Errorf("%w: key is %s's, voucher's requester is %s", ErrParties, got.Hex(), v.Requester.Hex())
	}
	sv := &SignedVoucher{V: WireVersion, Domain: d, Voucher: v}
	if err := sv.validateForm(); err != nil {
		return nil, err
	}
	sig, err := Sign(key, v.Digest(d))
	if err != nil {
		return nil, err
	}
	sv.Sig = sig
	return sv, nil
}

// Verify checks the voucher's form, that it is for domain want, and that its
// requester signed it.
func (sv *SignedVoucher) Verify(want Domain) error {
	if err := sv.validateForm(); err != nil {
		return err
	}
	if sv.Domain != want {
		return fmt.Errorf("%w: voucher is for chain %d contract %s, want chain %d contract %s",
			ErrDomain, sv.Domain.ChainID, sv.Domain.Contract.Hex(), want.ChainID, want.Contract.Hex())
	}
	if err := Verify(sv.Voucher.Digest(sv.Domain), sv.Sig, sv.Voucher.Requester); err != nil {
		return fmt.Errorf("voucher: %w", err)
	}
	return nil
}

// validateForm checks version, domain and voucher, not the signature.
func (sv *SignedVoucher) validateForm() error {
	if sv.V != WireVersion {
		return fmt.Errorf("%w: v: version %d, want %d", ErrInvalid, sv.V, WireVersion)
	}
	if err := sv.Domain.Validate(); err != nil {
		return fmt.Errorf("voucher domain: %w", err)
	}
	if err := sv.Voucher.Validate(); err != nil {
		return fmt.Errorf("voucher: %w", err)
	}
	return nil
}

// Encode returns the voucher's JSON wire form.
func (sv *SignedVoucher) Encode() ([]byte, error) {
	return json.Marshal(sv)
}

// DecodeSignedVoucher parses a SignedVoucher from untrusted bytes: at most
// MaxWireSize, no unknown fields, no trailing data, valid form. It does not
// check the signature; call Verify.
func DecodeSignedVoucher(b []byte) (*SignedVoucher, error) {
	var sv SignedVoucher
	if err := decodeStrict(b, &sv); err != nil {
		return nil, fmt.Errorf("decode voucher: %w", err)
	}
	if err := sv.validateForm(); err != nil {
		return nil, err
	}
	return &sv, nil
}

// SignedWork is a Work with its domain and the provider's signature.
type SignedWork struct {
	// V is WireVersion.
	V int `json:"v"`
	// Domain is the chain and contract the work is signed for.
	Domain Domain `json:"domain"`
	// Work is what the provider states.
	Work Work `json:"work"`
	// Sig is the provider's signature over Work.Digest(Domain).
	Sig hexutil.Bytes `json:"sig"`
}

// SignWork signs w in domain d with the provider's key.
func SignWork(key *ecdsa.PrivateKey, d Domain, w Work) (*SignedWork, error) {
	sw := &SignedWork{V: WireVersion, Domain: d, Work: w}
	if err := sw.validateForm(); err != nil {
		return nil, err
	}
	sig, err := Sign(key, w.Digest(d))
	if err != nil {
		return nil, err
	}
	sw.Sig = sig
	return sw, nil
}

// Verify checks the work's form, that it is for domain want, and that provider signed it.
func (sw *SignedWork) Verify(want Domain, provider common.Address) error {
	if err := sw.validateForm(); err != nil {
		return err
	}
	if sw.Domain != want {
		return fmt.Errorf("%w: work is for chain %d contract %s, want chain %d contract %s",
			ErrDomain, sw.Domain.ChainID, sw.Domain.Contract.Hex(), want.ChainID, want.Contract.Hex())
	}
	if err := Verify(sw.Work.Digest(sw.Domain), sw.Sig, provider); err != nil {
		return fmt.Errorf("work: %w", err)
	}
	return nil
}

// validateForm checks version, domain and work, not the signature.
func (sw *SignedWork) validateForm() error {
	if sw.V != WireVersion {
		return fmt.Errorf("%w: v: version %d, want %d", ErrInvalid, sw.V, WireVersion)
	}
	if err := sw.Domain.Validate(); err != nil {
		return fmt.Errorf("work domain: %w", err)
	}
	if err := sw.Work.Validate(); err != nil {
		return fmt.Errorf("work: %w", err)
	}
	return nil
}

// Encode returns the work's JSON wire form.
func (sw *SignedWork) Encode() ([]byte, error) {
	return json.Marshal(sw)
}

// DecodeSignedWork parses a SignedWork from untrusted bytes, as
// DecodeSignedVoucher does. It does not check the signature; call Verify.
func DecodeSignedWork(b []byte) (*SignedWork, error) {
	var sw SignedWork
	if err := decodeStrict(b, &sw); err != nil {
		return nil, fmt.Errorf("decode work: %w", err)
	}
	if err := sw.validateForm(); err != nil {
		return nil, err
	}
	return &sw, nil
}

// decodeStrict decodes one JSON value of at most MaxWireSize bytes into v,
// refusing unknown fields and trailing data.
func decodeStrict(b []byte, v any) error {
	if len(b) > MaxWireSize {
		return fmt.Errorf("%w: %d bytes, max %d", ErrInvalid, len(b), MaxWireSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data", ErrInvalid)
	}
	return nil
}

// Conflicts reports whether a and b are slashable evidence: the same signer,
// domain, job and rank, but a different result or amount. Both must verify
// against signer.
func Conflicts(a, b *SignedWork, signer common.Address) bool {
	if a.Domain != b.Domain || a.Verify(a.Domain, signer) != nil || b.Verify(b.Domain, signer) != nil {
		return false
	}
	return a.Work.Job == b.Work.Job && a.Work.Rank == b.Work.Rank &&
		(a.Work.Result != b.Work.Result || a.Work.Amount.Cmp(b.Work.Amount) != 0)
}
