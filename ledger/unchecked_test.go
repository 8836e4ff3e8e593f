package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/libp2p/go-libp2p/core/record"
)

// sealUnchecked signs r with pt's key without any of Sign's checks, as a
// dishonest or buggy provider would.
func sealUnchecked(pt party, r Receipt) (Signed, error) {
	env, err := record.Seal(&r, pt.key)
	if err != nil {
		return Signed{}, err
	}
	b, err := env.Marshal()
	return Signed{Provider: b}, err
}

// countersignUnchecked countersigns s with pt's key without any checks.
func countersignUnchecked(t *testing.T, pt party, s Signed, r Receipt) Signed {
	t.Helper()
	sum := sha256.Sum256(s.Provider)
	env, err := record.Seal(&Countersignature{V: ReceiptVersion, ReceiptID: r.ID, ProviderEnvelope: hex.EncodeToString(sum[:])}, pt.key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return Signed{Provider: s.Provider, Requester: b}
}
