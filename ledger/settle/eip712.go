package settle

import (
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// The EIP-712 domain every gpumesh signature is made in.
const (
	// DomainName is the domain's name.
	DomainName = "gpumesh"
	// DomainVersion is the domain's version.
	DomainVersion = "1"
)

// The EIP-712 type strings, exactly as the Settlement contract hashes them.
const (
	domainType  = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
	voucherType = "Voucher(address requester,address provider,address token,uint256 cumulative,uint64 nonce)"
	workType    = "Work(bytes32 job,uint32 rank,bytes32 result,uint256 amount,address token,address requester)"
)

var (
	domainTypeHash  = crypto.Keccak256([]byte(domainType))
	voucherTypeHash = crypto.Keccak256([]byte(voucherType))
	workTypeHash    = crypto.Keccak256([]byte(workType))
	nameHash        = crypto.Keccak256([]byte(DomainName))
	versionHash     = crypto.Keccak256([]byte(DomainVersion))
)

// Domain names the chain and the Settlement contract a signature is for: a
// voucher signed for one is worthless on another.
type Domain struct {
	// ChainID is the chain's EIP-155 ID.
	ChainID uint64 `json:"chain_id"`
	// Contract is the Settlement contract's address.
	Contract common.Address `json:"contract"`
}

// Separator is the EIP-712 domain separator.
func (d Domain) Separator() common.Hash {
	return common.BytesToHash(crypto.Keccak256(
		domainTypeHash, nameHash, versionHash,
		uint64Word(d.ChainID), addressWord(d.Contract)))
}

// Validate refuses a domain with no chain ID or no contract.
func (d Domain) Validate() error {
	if d.ChainID == 0 {
		return fmt.Errorf("%w: chain_id: zero", ErrInvalid)
	}
	if d.Contract == (common.Address{}) {
		return fmt.Errorf("%w: contract: zero address", ErrInvalid)
	}
	return nil
}

// Voucher is a requester's promise to a provider: everything it owes the
// provider in Token under one contract so far, never decreasing, numbered by
// Nonce (+1 per voucher for the same requester, provider and token, from 1).
// The contract pays Cumulative minus what was already redeemed.
type Voucher struct {
	// Requester is the paying wallet, the voucher's signer.
	Requester common.Address `json:"requester"`
	// Provider is the wallet paid.
	Provider common.Address `json:"provider"`
	// Token is the ERC-20 token paid in, or NativeToken.
	Token common.Address `json:"token"`
	// Cumulative is the total owed so far, in token base units.
	Cumulative *big.Int `json:"cumulative"`
	// Nonce numbers the voucher from 1.
	Nonce uint64 `json:"nonce"`
}

// Validate refuses a voucher with zero parties, the same party twice, a
// cumulative amount outside uint256 or a zero nonce.
func (v Voucher) Validate() error {
	switch {
	case v.Requester == (common.Address{}):
		return fmt.Errorf("%w: requester: zero address", ErrInvalid)
	case v.Provider == (common.Address{}):
		return fmt.Errorf("%w: provider: zero address", ErrInvalid)
	case v.Requester == v.Provider:
		return fmt.Errorf("%w: provider: same as requester", ErrInvalid)
	case v.Nonce == 0:
		return fmt.Errorf("%w: nonce: zero; the first voucher has nonce 1", ErrInvalid)
	}
	return checkUint256("cumulative", v.Cumulative)
}

// StructHash is the EIP-712 hashStruct of the voucher.
func (v Voucher) StructHash() common.Hash {
	return common.BytesToHash(crypto.Keccak256(
		voucherTypeHash, addressWord(v.Requester), addressWord(v.Provider), addressWord(v.Token),
		word(v.Cumulative), uint64Word(v.Nonce)))
}

// Digest is the hash the requester signs: keccak256(0x1901 || separator || hashStruct).
func (v Voucher) Digest(d Domain) common.Hash {
	return digest(d, v.StructHash())
}

// Work is what a provider signs alongside each receipt: the job (keccak256 of
// its ID), the rank, the result digest and the amount. Two Works signed by
// the same key for the same job and rank with a different result or amount
// are slashable evidence.
type Work struct {
	// Job is keccak256 of the job ID's bytes (see JobHash).
	Job common.Hash `json:"job"`
	// Rank is the worker's rank.
	Rank uint32 `json:"rank"`
	// Result is the receipt's 32-byte result digest, zero when it has none.
	Result common.Hash `json:"result"`
	// Amount is the receipt's amount in token base units.
	Amount *big.Int `json:"amount"`
	// Token is the token paid in, or NativeToken.
	Token common.Address `json:"token"`
	// Requester is the paying wallet.
	Requester common.Address `json:"requester"`
}

// Validate refuses a work with no job, no requester or an amount outside uint256.
func (w Work) Validate() error {
	switch {
	case w.Job == (common.Hash{}):
		return fmt.Errorf("%w: job: zero", ErrInvalid)
	case w.Requester == (common.Address{}):
		return fmt.Errorf("%w: requester: zero address", ErrInvalid)
	}
	return checkUint256("amount", w.Amount)
}

// StructHash is the EIP-712 hashStruct of the work.
func (w Work) StructHash() common.Hash {
	return common.BytesToHash(crypto.Keccak256(
		workTypeHash, w.Job[:], uint64Word(uint64(w.Rank)), w.Result[:],
		word(w.Amount), addressWord(w.Token), addressWord(w.Requester)))
}

// Digest is the hash the provider signs.
func (w Work) Digest(d Domain) common.Hash {
	return digest(d, w.StructHash())
}

// JobHash is keccak256 of the job ID's bytes, as Work.Job holds it.
func JobHash(job string) common.Hash {
	return crypto.Keccak256Hash([]byte(job))
}

// digest is keccak256(0x19 0x01 || domain separator || struct hash).
func digest(d Domain, structHash common.Hash) common.Hash {
	sep := d.Separator()
	return crypto.Keccak256Hash([]byte{0x19, 0x01}, sep[:], structHash[:])
}

// word is v as a 32-byte big-endian word. A value outside uint256, which
// Validate refuses, hashes as all ones rather than panicking, so that no
// signature over a valid value can match it.
func word(v *big.Int) []byte {
	var w [32]byte
	if checkUint256("", v) != nil {
		for i := range w {
			w[i] = 0xff
		}
		return w[:]
	}
	v.FillBytes(w[:])
	return w[:]
}

// addressWord is a left-padded to 32 bytes.
func addressWord(a common.Address) []byte {
	var w [32]byte
	copy(w[12:], a[:])
	return w[:]
}

// uint64Word is n as a 32-byte big-endian word.
func uint64Word(n uint64) []byte {
	var w [32]byte
	binary.BigEndian.PutUint64(w[24:], n)
	return w[:]
}
