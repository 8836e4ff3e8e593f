package contracts

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
)

// TestSignRecovers: Sign gives 65 bytes with v 27 or 28 and a low s that
// recover to the signer's address.
func TestSignRecovers(t *testing.T) {
	key, err := ethcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	v := Voucher{Requester: ethcrypto.PubkeyToAddress(key.PublicKey), Provider: common.Address{2},
		Cumulative: big.NewInt(1_000_000), Nonce: 1}
	d := VoucherDigest(big.NewInt(31337), common.Address{9}, v)
	sig, err := Sign(key, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 65 || (sig[64] != 27 && sig[64] != 28) {
		t.Fatalf("signature %x: want 65 bytes ending in 27 or 28", sig)
	}
	halfN := new(big.Int).Rsh(ethcrypto.S256().Params().N, 1)
	if new(big.Int).SetBytes(sig[32:64]).Cmp(halfN) > 0 {
		t.Fatal("high s")
	}
	raw := append([]byte(nil), sig...)
	raw[64] -= 27
	pub, err := ethcrypto.SigToPub(d[:], raw)
	if err != nil || ethcrypto.PubkeyToAddress(*pub) != v.Requester {
		t.Fatalf("recovered %v, %v; want %s", pub, err, v.Requester)
	}
	// Another chain or contract gives another digest.
	if VoucherDigest(big.NewInt(1), common.Address{9}, v) == d || VoucherDigest(big.NewInt(31337), common.Address{8}, v) == d {
		t.Fatal("the digest does not bind the chain and contract")
	}
}
