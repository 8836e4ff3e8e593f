package capacity

import (
	"errors"
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

// FuzzParseHours: a window parses only as a whole input. What parses
// writes back with FormatHours and reads again as the same window, and the
// same input with anything after it (a letter, the tail of a JSON list)
// or a letter before it is refused.
func FuzzParseHours(f *testing.F) {
	for _, s := range []string{
		"18:00-08:00", "00:00-24:00", " 9:30 - 17:00 ", "18:00-08:00\"]...", "18:00-08:00x",
		"x18:00-08:00", "+1:00-2:00", "1:0-2:00", "24:01-1:00", "18:00-08:00-09:00", "", "-",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		from, to, err := ParseHours(s)
		if err != nil {
			if !errors.Is(err, ErrBadHours) {
				t.Fatalf("ParseHours(%q) error %v does not wrap ErrBadHours", s, err)
			}
			return
		}
		if from < 0 || from > 24*60 || to < 0 || to > 24*60 {
			t.Fatalf("ParseHours(%q) = %d, %d: out of the day", s, from, to)
		}
		canon := FormatHours(from, to)
		if f2, t2, err := ParseHours(canon); err != nil || f2 != from || t2 != to {
			t.Fatalf("ParseHours(%q) = %d, %d; its form %q reads back as %d, %d, %v", s, from, to, canon, f2, t2, err)
		}
		for _, bad := range []string{s + "x", s + `"]`, s + ":00", "x" + s} {
			if _, _, err := ParseHours(bad); err == nil {
				t.Fatalf("ParseHours(%q) accepted the garbage around %q", bad, s)
			}
		}
	})
}
