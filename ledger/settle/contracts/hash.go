package contracts

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
)

// The EIP-712 type hashes of the spec's types (docs/settlement.md).
var (
	domainTypeHash  = ethcrypto.Keccak256Hash([]byte("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"))
	voucherTypeHash = ethcrypto.Keccak256Hash([]byte("Voucher(address requester,address provider,address token,uint256 cumulative,uint64 nonce)"))
	workTypeHash    = ethcrypto.Keccak256Hash([]byte("Work(bytes32 job,uint32 rank,bytes32 result,uint256 amount,address token,address requester)"))
	auditTypeHash   = ethcrypto.Keccak256Hash([]byte("Audit(bytes32 job,uint32 rank,bytes32 result)"))
	nameHash        = ethcrypto.Keccak256Hash([]byte("gpumesh"))
	versionHash     = ethcrypto.Keccak256Hash([]byte("1"))
)

// JobHash is the Work's job field: keccak256 of the job ID's bytes.
func JobHash(jobID string) [32]byte { return ethcrypto.Keccak256Hash([]byte(jobID)) }

// VoucherDigest returns the EIP-712 digest the requester signs for v under
// the Settlement contract at contract on chain chainID, computed here
// (no call to the chain); the contract's voucherDigest gives the same.
func VoucherDigest(chainID *big.Int, contract common.Address, v Voucher) [32]byte {
	s := ethcrypto.Keccak256(voucherTypeHash[:], word(v.Requester), word(v.Provider), word(v.Token),
		uword(v.Cumulative), uword(new(big.Int).SetUint64(v.Nonce)))
	return typedDigest(chainID, contract, s)
}

// WorkDigest returns the EIP-712 digest the provider signs for w, computed
// here; the contract's workDigest gives the same.
func WorkDigest(chainID *big.Int, contract common.Address, w Work) [32]byte {
	s := ethcrypto.Keccak256(workTypeHash[:], w.Job[:], uword(new(big.Int).SetUint64(uint64(w.Rank))), w.Result[:],
		uword(w.Amount), word(w.Token), word(w.Requester))
	return typedDigest(chainID, contract, s)
}

// AuditDigest returns the EIP-712 digest an auditor signs for a, computed
// here; the contract's auditDigest gives the same.
func AuditDigest(chainID *big.Int, contract common.Address, a Audit) [32]byte {
	s := ethcrypto.Keccak256(auditTypeHash[:], a.Job[:], uword(new(big.Int).SetUint64(uint64(a.Rank))), a.Result[:])
	return typedDigest(chainID, contract, s)
}

// Sign signs a digest as the contract wants it: 65 bytes r||s||v with v 27
// or 28 (go-ethereum's signer already gives a low s).
func Sign(key *ecdsa.PrivateKey, digest [32]byte) ([]byte, error) {
	sig, err := ethcrypto.Sign(digest[:], key)
	if err != nil {
		return nil, fmt.Errorf("sign digest: %w", err)
	}
	sig[64] += 27
	return sig, nil
}

// typedDigest is keccak256(0x1901 || domainSeparator || structHash).
func typedDigest(chainID *big.Int, contract common.Address, structHash []byte) [32]byte {
	domain := ethcrypto.Keccak256(domainTypeHash[:], nameHash[:], versionHash[:], uword(chainID), word(contract))
	return ethcrypto.Keccak256Hash([]byte{0x19, 0x01}, domain, structHash)
}

// word is an address left-padded to 32 bytes.
func word(a common.Address) []byte { return common.LeftPadBytes(a[:], 32) }

// uword is a uint256 as 32 big-endian bytes. Nil, a negative value or one
// over 256 bits (none of which the ABI can carry either) hashes as zero,
// and a voucher for zero is never redeemable: validate amounts first.
func uword(x *big.Int) []byte {
	out := make([]byte, 32)
	if x != nil && x.Sign() > 0 && x.BitLen() <= 256 {
		x.FillBytes(out)
	}
	return out
}
