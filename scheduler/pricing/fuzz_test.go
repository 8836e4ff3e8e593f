package pricing

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
)

// FuzzParseMicros checks that ParseMicros never panics, that its errors
// wrap a sentinel, and that whatever parses is non-negative, equals the
// exact decimal value of the input, and reads back from its String().
func FuzzParseMicros(f *testing.F) {
	for _, seed := range []string{
		"0", "1", "1.2", "$1.50", "0.000001", "0.0000010", "0.0000001", "007.5",
		"9223372036854.775807", "9223372036854.775808", "99999999999999999999",
		"", "$", "-1", "+1", ".5", "1.", "1e3", " 1", "1,000", "1_000", "1.2.3",
		"$$1", "NaN", "Inf", "0x10", "１", "\xff",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMicros(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrPrecision) && !errors.Is(err, ErrOverflow) {
				t.Fatalf("ParseMicros(%q) error %v wraps no sentinel", s, err)
			}
			return
		}
		if m < 0 {
			t.Fatalf("ParseMicros(%q) = %d, negative", s, int64(m))
		}
		// The exact value: big.Rat reads every decimal ParseMicros accepts.
		r, ok := new(big.Rat).SetString(strings.TrimPrefix(s, "$"))
		if !ok {
			t.Fatalf("ParseMicros(%q) = %s, but big.Rat rejects it", s, m)
		}
		if want := new(big.Rat).SetFrac64(int64(m), int64(Dollar)); r.Cmp(want) != 0 {
			t.Fatalf("ParseMicros(%q) = %s, want %s", s, m, r.FloatString(6))
		}
		str := m.String()
		again, err := ParseMicros(str)
		if err != nil || again != m {
			t.Fatalf("ParseMicros(%q) = %d, %v; want %d (String of %q)", str, int64(again), err, int64(m), s)
		}
		if again.String() != str {
			t.Fatalf("String() not stable: %q, then %q", str, again.String())
		}
		for _, bad := range []string{s + "x", s + `"]`, "x" + s, s + " "} {
			if _, err := ParseMicros(bad); err == nil {
				t.Fatalf("ParseMicros(%q) accepted the text around %q", bad, s)
			}
		}
	})
}

// FuzzFromFloat checks that FromFloat never panics, rejects exactly the
// non-finite, negative and too-large inputs, and otherwise lands within
// half a micro-dollar (plus float error) of its input.
func FuzzFromFloat(f *testing.F) {
	for _, seed := range []float64{0, 1.2, 0.0000005, 0.9999995, 1e-300, 9.2e12, 1e13, -1, math.NaN(), math.Inf(1)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		m, err := FromFloat(x)
		switch {
		case math.IsNaN(x) || math.IsInf(x, 0):
			if !errors.Is(err, ErrNotFinite) {
				t.Fatalf("FromFloat(%v) = %v, %v; want ErrNotFinite", x, m, err)
			}
			return
		case x < 0:
			if !errors.Is(err, ErrNegative) {
				t.Fatalf("FromFloat(%v) = %v, %v; want ErrNegative", x, m, err)
			}
			return
		case x >= 9.223372036854777e12:
			if !errors.Is(err, ErrOverflow) {
				t.Fatalf("FromFloat(%v) = %v, %v; want ErrOverflow", x, m, err)
			}
			return
		}
		if errors.Is(err, ErrOverflow) && x > 9.2e12 {
			return // at the edge, the decimal decides
		}
		if err != nil || m < 0 {
			t.Fatalf("FromFloat(%v) = %d, %v", x, int64(m), err)
		}
		if d := math.Abs(m.Float64() - x); d > 0.5e-6+1e-12+x*1e-15 {
			t.Fatalf("FromFloat(%v) = %s, off by %v", x, m, d)
		}
	})
}

// FuzzParseUrgency: an urgency from a job file or a request reads from its
// name in any case (or from nothing, as normal), writes back as that name,
// and an error comes with the zero urgency.
func FuzzParseUrgency(f *testing.F) {
	for _, s := range []string{"", "low", "NORMAL", "High", "urgent", "hıgh", "low "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUrgency(s)
		if err != nil {
			if u != 0 {
				t.Fatalf("ParseUrgency(%q) failed with %v", s, u)
			}
			return
		}
		name := u.String()
		if (s != "" && !strings.EqualFold(name, s)) || (s == "" && u != UrgencyNormal) {
			t.Fatalf("ParseUrgency(%q) = %s", s, name)
		}
		if again, err := ParseUrgency(name); err != nil || again != u {
			t.Fatalf("%q read back as %v, %v", name, again, err)
		}
	})
}
