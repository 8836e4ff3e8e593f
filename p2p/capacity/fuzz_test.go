package capacity

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// FuzzSelect: the DHT's choice among any three values stored under one
// peer's key is the first valid record with the highest sequence number,
// and an error only when none is valid.
func FuzzSelect(f *testing.F) {
	key, id := newKey(f)
	other, _ := newKey(f)
	seal := func(seq uint64, signer crypto.PrivKey) []byte {
		r := validRecord()
		r.Seq = seq
		b, err := Seal(r, signer)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(seal(1, key), seal(3, key), seal(2, key))
	f.Add(seal(2, key), seal(2, key), seal(1, key))
	f.Add(seal(5, other), seal(1, key), []byte("{}"))
	f.Add([]byte{}, []byte("x"), seal(9, other))
	v := Validator{Now: func() time.Time { return t0 }}
	k := Key(id)
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		values := [][]byte{a, b, c}
		best, bestSeq := -1, uint64(0)
		for i, val := range values {
			r, _, err := Verify(k, val, t0)
			if (err == nil) != (v.Validate(k, val) == nil) {
				t.Fatalf("Validate and Verify disagree on value %d", i)
			}
			if err == nil && (best < 0 || r.Seq > bestSeq) {
				best, bestSeq = i, r.Seq
			}
		}
		got, err := v.Select(k, values)
		if best < 0 {
			if err == nil {
				t.Fatalf("Select chose %d among no valid records", got)
			}
			return
		}
		if err != nil || got != best {
			t.Fatalf("Select = %d, %v; want %d (seq %d)", got, err, best, bestSeq)
		}
	})
}
