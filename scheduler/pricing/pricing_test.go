package pricing

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// usd parses a test amount, failing the test on error.
func usd(t testing.TB, s string) Micros {
	t.Helper()
	m, err := ParseMicros(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMicrosString(t *testing.T) {
	tests := []struct {
		m    Micros
		want string
	}{
		{0, "$0.00"},
		{Micro, "$0.000001"},
		{Cent, "$0.01"},
		{Dollar, "$1.00"},
		{1_500_000, "$1.50"},
		{1_234_567, "$1.234567"},
		{1_230_000, "$1.23"},
		{1_234_500, "$1.2345"},
		{1_234_500_000, "$1234.50"},
		{-1_500_000, "-$1.50"},
		{-Micro, "-$0.000001"},
		{MaxMicros, "$9223372036854.775807"},
		{math.MinInt64, "-$9223372036854.775808"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("Micros(%d).String() = %q, want %q", int64(tt.m), got, tt.want)
		}
	}
}

func TestParseMicros(t *testing.T) {
	tests := []struct {
		in      string
		want    Micros
		wantErr error
	}{
		{"0", 0, nil},
		{"1", Dollar, nil},
		{"1.2", 1_200_000, nil},
		{"1.20", 1_200_000, nil},
		{"$1.50", 1_500_000, nil},
		{"0.000001", Micro, nil},
		{"0.0000010", Micro, nil}, // a trailing zero past the micro is still exact
		{"007.5", 7_500_000, nil}, // leading zeros are digits
		{"1000", 1_000_000_000, nil},
		{"9223372036854.775807", MaxMicros, nil},
		{"9223372036854.775808", 0, ErrOverflow},
		{"99999999999999999999", 0, ErrOverflow},
		{"0.0000001", 0, ErrPrecision},
		{"1.2345675", 0, ErrPrecision},
		{"", 0, ErrSyntax},
		{"$", 0, ErrSyntax},
		{"-1", 0, ErrSyntax},
		{"+1", 0, ErrSyntax},
		{".5", 0, ErrSyntax},
		{"1.", 0, ErrSyntax},
		{"1e3", 0, ErrSyntax},
		{" 1", 0, ErrSyntax},
		{"1,000", 0, ErrSyntax},
		{"1_000", 0, ErrSyntax},
		{"1.2.3", 0, ErrSyntax},
		{"$$1", 0, ErrSyntax},
		{"NaN", 0, ErrSyntax},
		{"Inf", 0, ErrSyntax},
		{"１", 0, ErrSyntax}, // a full-width digit is not a digit here
	}
	for _, tt := range tests {
		got, err := ParseMicros(tt.in)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("ParseMicros(%q) = %v, %v; want error %v", tt.in, got, err, tt.wantErr)
			} else if !strings.Contains(err.Error(), tt.in) {
				t.Errorf("ParseMicros(%q) error %q does not name the input", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseMicros(%q) = %d, %v; want %d", tt.in, int64(got), err, int64(tt.want))
		}
	}
}

func TestMicrosRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 10_000 {
		var m Micros
		switch i % 3 {
		case 0:
			m = Micros(r.Int64N(100 * int64(Dollar)))
		case 1:
			m = Micros(r.Int64())
		default:
			m = Micros(r.Int64N(1_000_000_000)) * Cent // whole cents
		}
		s := m.String()
		got, err := ParseMicros(s)
		if err != nil || got != m {
			t.Fatalf("ParseMicros(%q) = %d, %v; want %d", s, int64(got), err, int64(m))
		}
	}
}

func TestFromFloat(t *testing.T) {
	tests := []struct {
		f       float64
		want    Micros
		wantErr error
	}{
		{0, 0, nil},
		{math.Copysign(0, -1), 0, nil},
		{1.2, 1_200_000, nil},
		{0.1 + 0.2, 300_000, nil}, // 0.30000000000000004
		{1.1, 1_100_000, nil},
		{9.99, 9_990_000, nil},
		{1000, 1_000_000_000, nil},
		{0.0000005, 1, nil}, // a half rounds up
		{0.00000049, 0, nil},
		{1.0000015, 1_000_002, nil},
		{1.0000014999, 1_000_001, nil},
		{0.9999995, Dollar, nil}, // the carry crosses the point
		{1e-300, 0, nil},
		{5e-324, 0, nil},
		{87_600_000_000, 87_600_000_000 * Dollar, nil},
		{9e12, 9_000_000_000_000 * Dollar, nil},
		{9.3e12, 0, ErrOverflow},
		{1e13, 0, ErrOverflow},
		{math.MaxFloat64, 0, ErrOverflow},
		{-0.01, 0, ErrNegative},
		{-5e-324, 0, ErrNegative},
		{math.NaN(), 0, ErrNotFinite},
		{math.Inf(1), 0, ErrNotFinite},
		{math.Inf(-1), 0, ErrNotFinite},
	}
	for _, tt := range tests {
		got, err := FromFloat(tt.f)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("FromFloat(%v) = %v, %v; want error %v", tt.f, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("FromFloat(%v) = %d, %v; want %d", tt.f, int64(got), err, int64(tt.want))
		}
	}
}

func TestFloatRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 10_000 {
		m := Micros(r.Int64N(1_000_000_000 * int64(Dollar)))
		f := m.Float64()
		got, err := FromFloat(f)
		if err != nil || got != m {
			t.Fatalf("FromFloat(%v) = %d, %v; want %d", f, int64(got), err, int64(m))
		}
	}
	if got := usd(t, "1.2").Float64(); got != 1.2 {
		t.Errorf("$1.20 Float64() = %v, want 1.2", got)
	}
}

func TestUrgency(t *testing.T) {
	for _, u := range []Urgency{UrgencyLow, UrgencyNormal, UrgencyHigh} {
		got, err := ParseUrgency(strings.ToUpper(u.String()))
		if err != nil || got != u {
			t.Errorf("ParseUrgency(%q) = %v, %v; want %v", strings.ToUpper(u.String()), got, err, u)
		}
	}
	if got, err := ParseUrgency(""); err != nil || got != UrgencyNormal {
		t.Errorf(`ParseUrgency("") = %v, %v; want normal`, got, err)
	}
	if _, err := ParseUrgency("asap"); err == nil {
		t.Error(`ParseUrgency("asap") succeeded, want error`)
	}
	var zero Urgency
	if zero != UrgencyNormal {
		t.Errorf("zero Urgency is %v, want normal", zero)
	}
	if got := Urgency(7).String(); got != "urgency(7)" {
		t.Errorf("Urgency(7).String() = %q", got)
	}
}

func TestAskCurve(t *testing.T) {
	tests := []struct {
		floor   string
		load    float64
		urgency Urgency
		max     string
		want    string
		capped  bool
	}{
		// The curve: floor x (1 + load²) x (1 + 0.25·w), w = 0, 0, 1.
		{"1", 0, UrgencyLow, "0", "1", false},
		{"1", 0, UrgencyNormal, "0", "1", false},
		{"1", 0, UrgencyHigh, "0", "1.25", false},
		{"1", 0.1, UrgencyLow, "0", "1.01", false},
		{"1", 0.5, UrgencyLow, "0", "1.25", false},
		{"1", 0.5, UrgencyNormal, "0", "1.25", false},
		{"1", 0.5, UrgencyHigh, "0", "1.5625", false},
		{"1", 0.9, UrgencyLow, "0", "1.81", false},
		{"1", 1, UrgencyLow, "0", "2", false}, // full load doubles the floor
		{"1", 1, UrgencyNormal, "0", "2", false},
		{"1", 1, UrgencyHigh, "0", "2.5", false},
		{"2.4", 0.25, UrgencyHigh, "0", "3.1875", false}, // 2.4 x 1.0625 x 1.25
		// Load outside [0, 1] is clamped.
		{"1", -0.5, UrgencyLow, "0", "1", false},
		{"1", 3, UrgencyLow, "0", "2", false},
		{"1", math.Inf(1), UrgencyLow, "0", "2", false},
		// Rounding to the micro, a half up.
		{"0.000001", 0.5, UrgencyLow, "0", "0.000001", false},  // 1.25 micros
		{"0.000002", 0.5, UrgencyLow, "0", "0.000003", false},  // 2.5 micros
		{"0.000001", 0.5, UrgencyHigh, "0", "0.000002", false}, // 1.5625 micros
		{"0.000001", 1, UrgencyHigh, "0", "0.000003", false},   // 2.5 micros
		// The requester's max caps the ask, never below the floor.
		{"1", 1, UrgencyHigh, "2", "2", true},
		{"1", 1, UrgencyHigh, "2.5", "2.5", false}, // exactly the ask: no cap needed
		{"1", 1, UrgencyHigh, "3", "2.5", false},   // a max above the ask changes nothing
		{"1", 1, UrgencyHigh, "1", "1", true},      // max == floor: the provider gets its floor
		{"1", 0, UrgencyLow, "1", "1", false},
		// Large floors: exact, and capped where the curve leaves int64.
		{"9223372036854.775807", 0, UrgencyLow, "0", "9223372036854.775807", false},
		{"9223372036854.775807", 1, UrgencyHigh, "9223372036854.775807", "9223372036854.775807", true},
		{"1000", 1, UrgencyHigh, "0", "2500", false},
	}
	for _, tt := range tests {
		floor, max := usd(t, tt.floor), usd(t, tt.max)
		got, ok, reason := Ask(floor, tt.load, tt.urgency, max)
		if want := usd(t, tt.want); !ok || got != want {
			t.Errorf("Ask(%s, %v, %v, %s) = %s, %v, %q; want %s", floor, tt.load, tt.urgency, max, got, ok, reason, want)
			continue
		}
		if reason == "" {
			t.Errorf("Ask(%s, %v, %v, %s): empty reason", floor, tt.load, tt.urgency, max)
		}
		if capped := strings.Contains(reason, "capped at"); capped != tt.capped {
			t.Errorf("Ask(%s, %v, %v, %s): reason %q, want capped %v", floor, tt.load, tt.urgency, max, reason, tt.capped)
		}
	}
}

func TestAskReasons(t *testing.T) {
	got, ok, reason := Ask(usd(t, "1"), 0.5, UrgencyHigh, 0)
	if want := "floor $1.00 at 50% load (+25%) and high urgency (+25%) = $1.5625"; !ok || got != usd(t, "1.5625") || reason != want {
		t.Errorf("Ask = %s, %v, %q; want $1.5625, true, %q", got, ok, reason, want)
	}
	_, ok, reason = Ask(usd(t, "1"), 1, UrgencyHigh, usd(t, "2"))
	if want := "floor $1.00 at 100% load (+100%) and high urgency (+25%): capped at requester's max $2.00"; !ok || reason != want {
		t.Errorf("capped Ask reason %q, %v; want %q", reason, ok, want)
	}
}

func TestAskDeclines(t *testing.T) {
	tests := []struct {
		name    string
		floor   Micros
		load    float64
		urgency Urgency
		max     Micros
		want    []string // substrings of the reason
	}{
		{"max below floor", 1_500_000, 0, UrgencyLow, 1_200_000, []string{"$1.20", "$1.50", "below"}},
		{"max one micro below floor", Dollar, 1, UrgencyHigh, Dollar - 1, []string{"$0.999999", "$1.00"}},
		{"zero floor", 0, 0, UrgencyLow, 0, []string{"floor $0.00"}},
		{"negative floor", -Dollar, 0, UrgencyLow, 0, []string{"-$1.00"}},
		{"negative max", Dollar, 0, UrgencyLow, -1, []string{"max -$0.000001"}},
		{"NaN load", Dollar, math.NaN(), UrgencyLow, 0, []string{"NaN"}},
		{"unknown urgency", Dollar, 0, Urgency(3), 0, []string{"urgency(3)"}},
		{"overflow without a max", MaxMicros, 1, UrgencyLow, 0, []string{"overflow"}},
	}
	for _, tt := range tests {
		got, ok, reason := Ask(tt.floor, tt.load, tt.urgency, tt.max)
		if ok || got != 0 {
			t.Errorf("%s: Ask = %s, %v, %q; want a decline", tt.name, got, ok, reason)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(reason, w) {
				t.Errorf("%s: reason %q does not contain %q", tt.name, reason, w)
			}
		}
	}
}

// TestAskProperties checks, over seeded random floors and loads, that the
// ask is never below the floor, never above a max at or over the floor,
// non-decreasing in load and non-decreasing in urgency and strictly higher for high urgency.
func TestAskProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	urgencies := []Urgency{UrgencyLow, UrgencyNormal, UrgencyHigh}
	for range 2_000 {
		floor := Micros(1 + r.Int64N(1000*int64(Dollar)))
		l1, l2 := r.Float64(), r.Float64()
		if l1 > l2 {
			l1, l2 = l2, l1
		}
		var prev Micros
		for _, u := range urgencies {
			a1, ok1, why1 := Ask(floor, l1, u, 0)
			a2, ok2, why2 := Ask(floor, l2, u, 0)
			if !ok1 || !ok2 {
				t.Fatalf("Ask(%s, %v/%v, %v) declined: %q, %q", floor, l1, l2, u, why1, why2)
			}
			if a1 < floor {
				t.Fatalf("Ask(%s, %v, %v) = %s, below the floor", floor, l1, u, a1)
			}
			if a2 < a1 {
				t.Fatalf("Ask(%s, %v, %v) = %s > Ask at load %v = %s", floor, l1, u, a1, l2, a2)
			}
			if u == UrgencyHigh && a1 <= prev && floor >= 10 {
				t.Fatalf("Ask(%s, %v, %v) = %s, not above the lower urgency's %s", floor, l1, u, a1, prev)
			}
			prev = a1

			max := floor + Micros(r.Int64N(int64(2*floor)))
			c, ok, why := Ask(floor, l2, u, max)
			if !ok || c < floor || c > max || c != min(a2, max) {
				t.Fatalf("Ask(%s, %v, %v, max %s) = %s, %v, %q; want min(%s, max)", floor, l2, u, max, c, ok, why, a2)
			}
			if below := floor - 1 - Micros(r.Int64N(int64(floor))); below > 0 {
				if p, ok, why := Ask(floor, l2, u, below); ok || p != 0 || !strings.Contains(why, below.String()) || !strings.Contains(why, floor.String()) {
					t.Fatalf("Ask(%s, %v, %v, max %s) = %s, %v, %q; want a decline naming both", floor, l2, u, below, p, ok, why)
				}
			}
		}
	}
}

// feeBig is FeeBP of a, a half up, in math/big: the reference for Fee.
func feeBig(a Micros) Micros {
	num := new(big.Int).Mul(big.NewInt(int64(a)), big.NewInt(FeeBP))
	return Micros(divRoundHalfUp(num, big.NewInt(10_000)).Int64())
}

func TestFee(t *testing.T) {
	tests := []struct {
		amount, want Micros
	}{
		{0, 0},
		{-1, 0},
		{-Dollar, 0},
		{math.MinInt64, 0},
		{1, 0},
		{199, 0}, // 0.4975 micro rounds down
		{200, 1}, // exactly half a micro rounds up
		{399, 1},
		{400, 1}, // exactly one micro
		{599, 1},
		{600, 2}, // 1.5 rounds up
		{Dollar, 2_500},
		{100 * Dollar, 250_000},
		{87_600_000_000 * Dollar, 219_000_000 * Dollar}, // 10,000 GPUs x 1 year x $1000/h
		{MaxMicros, 23_058_430_092_136_940},             // 23058430092136939.5175 rounds up
		{MaxMicros - 207, 23_058_430_092_136_939},       // remainder 0: exact
	}
	for _, tt := range tests {
		if got := Fee(tt.amount); got != tt.want {
			t.Errorf("Fee(%s) = %s, want %s", tt.amount, got, tt.want)
		}
	}
	r := rand.New(rand.NewPCG(7, 8))
	for range 10_000 {
		a := Micros(r.Int64())
		if r.IntN(2) == 0 {
			a = Micros(r.Int64N(10_000))
		}
		if got, want := Fee(a), feeBig(a); got != want {
			t.Fatalf("Fee(%d) = %d, want %d", int64(a), int64(got), int64(want))
		}
	}
}

func TestQuote(t *testing.T) {
	const year = 365 * 24 * time.Hour
	tests := []struct {
		name    string
		price   string
		devices int
		d       time.Duration
		want    Quote
	}{
		{"4 GPUs for 2.5 h", "1.5", 4, 150 * time.Minute, Quote{
			PricePerHour: 1_500_000, Devices: 4, Seconds: 9000, Hours: 2.5,
			Gross: 15 * Dollar, RequesterFee: 37_500, ProviderFee: 37_500,
			RequesterPays: 15_037_500, ProviderGets: 14_962_500, ProtocolTakes: 75_000,
		}},
		{"one second at $1/h", "1", 1, time.Second, Quote{
			PricePerHour: Dollar, Devices: 1, Seconds: 1, Hours: 1.0 / 3600,
			Gross: 278, RequesterFee: 1, ProviderFee: 1, RequesterPays: 279, ProviderGets: 277, ProtocolTakes: 2,
		}}, // 277.7 micros round up; its fee 0.69 rounds up
		{"a part second bills a whole one", "1", 1, 1500 * time.Millisecond, Quote{
			PricePerHour: Dollar, Devices: 1, Seconds: 2, Hours: 2.0 / 3600,
			Gross: 556, RequesterFee: 1, ProviderFee: 1, RequesterPays: 557, ProviderGets: 555, ProtocolTakes: 2,
		}},
		{"half a micro rounds up", "0.000001", 1, 30 * time.Minute, Quote{
			PricePerHour: 1, Devices: 1, Seconds: 1800, Hours: 0.5,
			Gross: 1, RequesterPays: 1, ProviderGets: 1,
		}},
		{"under half a micro rounds down", "0.000001", 1, 1799 * time.Second, Quote{
			PricePerHour: 1, Devices: 1, Seconds: 1799, Hours: 1799.0 / 3600,
		}},
		{"zero devices", "1", 0, time.Hour, Quote{PricePerHour: Dollar, Seconds: 3600, Hours: 1}},
		{"zero duration", "1", 8, 0, Quote{PricePerHour: Dollar, Devices: 8}},
		{"free", "0", 8, time.Hour, Quote{Devices: 8, Seconds: 3600, Hours: 1}},
		// 1e9 x 1e4 x 31,536,000 s = 3.15e20 overflows int64 before the
		// division by 3600; math/big keeps it exact.
		{"10,000 GPUs x 1 year x $1000/h", "1000", 10_000, year, Quote{
			PricePerHour: 1000 * Dollar, Devices: 10_000, Seconds: 31_536_000, Hours: 8760,
			Gross: 87_600_000_000 * Dollar, RequesterFee: 219_000_000 * Dollar, ProviderFee: 219_000_000 * Dollar,
			RequesterPays: 87_819_000_000 * Dollar, ProviderGets: 87_381_000_000 * Dollar, ProtocolTakes: 438_000_000 * Dollar,
		}},
	}
	for _, tt := range tests {
		got, err := NewQuote(usd(t, tt.price), tt.devices, tt.d)
		if err != nil || got != tt.want {
			t.Errorf("%s: NewQuote = %+v, %v\nwant %+v", tt.name, got, err, tt.want)
		}
	}
}

func TestQuoteErrors(t *testing.T) {
	_, err := NewQuote(-1, -2, -time.Second)
	if !errors.Is(err, ErrNegative) {
		t.Fatalf("NewQuote(-1, -2, -1s) error %v, want ErrNegative", err)
	}
	for _, w := range []string{"price per hour", "devices -2", "duration -1s"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %q", err, w)
		}
	}
	tests := []struct {
		name    string
		price   Micros
		devices int
		d       time.Duration
	}{
		{"a million GPUs x 100 years x $1000/h", 1000 * Dollar, 1_000_000, 100 * 365 * 24 * time.Hour},
		{"max price x 2 hours", MaxMicros, 1, 2 * time.Hour},
		{"gross fits, gross plus fee does not", MaxMicros, 1, time.Hour},
		{"huge device count", Dollar, math.MaxInt, math.MaxInt64},
	}
	for _, tt := range tests {
		if q, err := NewQuote(tt.price, tt.devices, tt.d); !errors.Is(err, ErrOverflow) {
			t.Errorf("%s: NewQuote = %+v, %v; want ErrOverflow", tt.name, q, err)
		}
	}
	// The largest gross whose requester side still fits.
	g := MaxMicros - Fee(MaxMicros)
	if q, err := NewQuote(g, 1, time.Hour); err != nil || q.RequesterPays > MaxMicros || q.RequesterPays < q.Gross {
		t.Errorf("NewQuote(%s, 1, 1h) = %+v, %v", g, q, err)
	}
}

// TestQuoteInvariants checks, over seeded random inputs, that the sides
// balance, fees are never negative and match Fee, and the gross is the
// exact product rounded half up.
func TestQuoteInvariants(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for i := range 20_000 {
		price := Micros(r.Int64N(1000*int64(Dollar) + 1))
		devices := r.IntN(10_001)
		d := time.Duration(r.Int64N(int64(366 * 24 * time.Hour)))
		switch i % 4 {
		case 0: // small amounts, where rounding shows
			price, devices, d = Micros(r.Int64N(100)), r.IntN(4), time.Duration(r.Int64N(int64(2*time.Hour)))
		case 1:
			d = d.Truncate(time.Second)
		}
		q, err := NewQuote(price, devices, d)
		if err != nil {
			t.Fatalf("NewQuote(%s, %d, %s): %v", price, devices, d, err)
		}
		secs := int64((d + time.Second - 1) / time.Second)
		num := new(big.Int).Mul(big.NewInt(int64(price)), big.NewInt(int64(devices)))
		num.Mul(num, big.NewInt(secs))
		gross := Micros(divRoundHalfUp(num, big.NewInt(3600)).Int64())
		switch {
		case q.Seconds != secs || q.Hours != float64(secs)/3600:
			t.Fatalf("%v: billed %ds (%v h), want %ds", q, q.Seconds, q.Hours, secs)
		case q.Gross != gross:
			t.Fatalf("%v: gross %s, want %s", q, q.Gross, gross)
		case q.RequesterPays-q.ProviderGets != q.ProtocolTakes:
			t.Fatalf("%v: pays - gets = %s, protocol takes %s", q, q.RequesterPays-q.ProviderGets, q.ProtocolTakes)
		case q.RequesterFee < 0 || q.ProviderFee < 0 || q.ProviderGets < 0:
			t.Fatalf("%v: a negative side", q)
		case q.RequesterFee != feeBig(q.Gross) || q.ProviderFee != feeBig(q.Gross):
			t.Fatalf("%v: fees %s/%s, want %s", q, q.RequesterFee, q.ProviderFee, feeBig(q.Gross))
		case q.Gross == 0 && q.ProtocolTakes != 0:
			t.Fatalf("%v: fees on nothing", q)
		case q.RequesterPays != q.Gross+q.RequesterFee || q.ProviderGets != q.Gross-q.ProviderFee:
			t.Fatalf("%v: sides do not add up", q)
		}
	}
}

func TestQuoteFormat(t *testing.T) {
	q, err := NewQuote(usd(t, "1.5"), 4, 150*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := "4 x $1.50/h x 2.5 h = $15.00; requester pays $15.0375, provider gets $14.9625, protocol takes $0.075"
	if got := q.String(); got != want {
		t.Errorf("String() = %q\nwant %q", got, want)
	}
	rows := q.Rows()
	wantRows := [][2]string{
		{"price per device-hour", "$1.50"},
		{"devices", "4"},
		{"hours", "2.5"},
		{"gross", "$15.00"},
		{"requester fee (0.25%)", "$0.0375"},
		{"requester pays", "$15.0375"},
		{"provider fee (0.25%)", "$0.0375"},
		{"provider gets", "$14.9625"},
		{"protocol takes", "$0.075"},
	}
	if len(rows) != len(wantRows) {
		t.Fatalf("Rows() = %q, want %q", rows, wantRows)
	}
	for i := range rows {
		if rows[i] != wantRows[i] {
			t.Errorf("Rows()[%d] = %q, want %q", i, rows[i], wantRows[i])
		}
	}
	if got := hours(1); got != "0.0003" {
		t.Errorf("hours(1) = %q, want 0.0003", got)
	}
	if got := hours(31_536_000); got != "8760" {
		t.Errorf("hours(1 year) = %q, want 8760", got)
	}
}
