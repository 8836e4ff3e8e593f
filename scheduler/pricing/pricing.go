// Package pricing decides what a provider asks for its devices and what a
// job costs each side. The ask rises with the provider's load and the
// request's urgency, never falls below the provider's floor, and is capped
// by the requester's maximum; the protocol fee (0.25 % on each side) is
// computed here so the CLI and the dashboard show the same numbers the
// scheduler charges.
//
// Money is a whole number of micro-USD (Micros), so sums and fees are exact
// integers; prices that config files and capacity records hold as float64
// USD per device-hour convert with FromFloat and Micros.Float64. The package
// is pure: no I/O, no clock, no randomness.
package pricing

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/gpumesh/gpumesh/ledger"
)

// Micros is an amount of money in micro-USD: 1_000_000 Micros is one dollar.
// An int64 holds up to about $9.2 trillion, enough for 10,000 devices for a
// year at $1000 per device-hour ($87.6 billion) with two orders of magnitude
// to spare. Intermediate products (price x devices x seconds) are computed
// with math/big, and a result that does not fit is ErrOverflow.
type Micros int64

const (
	// Micro is the smallest amount: one millionth of a dollar.
	Micro Micros = 1
	// Cent is one hundredth of a dollar.
	Cent Micros = 10_000
	// Dollar is one US dollar.
	Dollar Micros = 1_000_000
	// MaxMicros is the largest amount, about $9.2 trillion.
	MaxMicros Micros = math.MaxInt64
)

// microDigits is the number of decimal places a Micros carries.
const microDigits = 6

var (
	// ErrSyntax means a string is not a plain decimal amount of dollars
	// such as "1", "1.2" or "$0.000001".
	ErrSyntax = errors.New("not a decimal amount of dollars")
	// ErrPrecision means a decimal string has more than six decimal places,
	// finer than a micro-dollar; ParseMicros does not round.
	ErrPrecision = errors.New("finer than a micro-dollar")
	// ErrNegative means an amount, count or duration is below zero.
	ErrNegative = errors.New("negative")
	// ErrNotFinite means a float is NaN or infinite.
	ErrNotFinite = errors.New("not a finite number")
	// ErrOverflow means an amount does not fit in Micros (about $9.2 trillion).
	ErrOverflow = errors.New("too large for micro-dollars")
)

// String formats m as dollars with at least two and at most six decimals,
// trailing zeros beyond the cents dropped: "$1.00", "$1.50", "$1.234567",
// "$0.000001", "$1234.50"; a negative amount reads "-$1.50". There is no
// thousands separator, so ParseMicros reads every non-negative String back
// exactly.
func (m Micros) String() string {
	sign := ""
	u := uint64(m)
	if m < 0 {
		sign = "-"
		u = -u // two's complement: exact even for math.MinInt64
	}
	whole, frac := u/uint64(Dollar), u%uint64(Dollar)
	fs := fmt.Sprintf("%06d", frac)
	fs = strings.TrimRight(fs, "0")
	for len(fs) < 2 {
		fs += "0"
	}
	return sign + "$" + strconv.FormatUint(whole, 10) + "." + fs
}

// Float64 returns m in dollars, the unit config files and capacity records
// use: the float nearest to m for amounts up to 2^53 micros (about $9
// billion). Below $1 billion FromFloat(m.Float64()) is m again.
func (m Micros) Float64() float64 {
	return float64(m) / float64(Dollar)
}

// ParseMicros reads a non-negative decimal amount of dollars exactly: "1",
// "1.2", "0.000001", "$1.50" (an optional leading "$"). It rejects signs,
// exponents, spaces, separators, a missing integer part (".5") or fraction
// after a point ("1."), with ErrSyntax; more than six decimals with
// ErrPrecision (it never rounds); and amounts past MaxMicros with
// ErrOverflow. Each error is wrapped with the input.
func ParseMicros(s string) (Micros, error) {
	m, err := parseDecimal(strings.TrimPrefix(s, "$"), false)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	return m, nil
}

// FromFloat converts a dollar amount from a config value or a capacity
// record, rounding to the nearest micro-dollar, a half up. It rounds the
// shortest decimal that reads back as f (so 1.2 is exactly $1.20 and
// 0.0000005 is one micro), not the binary fraction. It rejects NaN and
// infinities (ErrNotFinite), negative amounts (ErrNegative) and amounts
// past MaxMicros (ErrOverflow). Negative zero is zero.
func FromFloat(f float64) (Micros, error) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, fmt.Errorf("amount %v: %w", f, ErrNotFinite)
	case f == 0:
		return 0, nil
	case f < 0:
		return 0, fmt.Errorf("amount %v: %w", f, ErrNegative)
	case f >= 1e13: // MaxMicros is about 9.22e12 dollars; keeps the string short
		return 0, fmt.Errorf("amount %v: %w", f, ErrOverflow)
	}
	m, err := parseDecimal(strconv.FormatFloat(f, 'f', -1, 64), true)
	if err != nil {
		return 0, fmt.Errorf("amount %v: %w", f, err)
	}
	return m, nil
}

// parseDecimal reads digits[.digits]. With round, decimals past the sixth
// round the micro half up; without, they are ErrPrecision.
func parseDecimal(s string, round bool) (Micros, error) {
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || (hasPoint && frac == "") || !allDigits(whole) || !allDigits(frac) {
		return 0, ErrSyntax
	}
	roundUp := false
	if len(frac) > microDigits {
		if !round {
			if strings.TrimRight(frac[microDigits:], "0") != "" {
				return 0, ErrPrecision
			}
		} else {
			roundUp = frac[microDigits] >= '5'
		}
		frac = frac[:microDigits]
	}
	frac += strings.Repeat("0", microDigits-len(frac))

	var m uint64
	for _, c := range whole + frac {
		d := uint64(c - '0')
		if m > (math.MaxInt64-d)/10 {
			return 0, ErrOverflow
		}
		m = m*10 + d
	}
	if roundUp {
		if m == math.MaxInt64 {
			return 0, ErrOverflow
		}
		m++
	}
	return Micros(m), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Urgency is how soon a requester needs its job to start. The zero value
// is UrgencyNormal, so a request that says nothing is Normal. Levels are
// ordered: UrgencyLow < UrgencyNormal < UrgencyHigh.
type Urgency int8

const (
	// UrgencyLow is patient work (batch, sweeps) that can wait for an idle
	// provider; it adds nothing to the ask.
	UrgencyLow Urgency = -1
	// UrgencyNormal is the default; it adds nothing either: a normal request
	// to an idle provider pays the price its offer lists.
	UrgencyNormal Urgency = 0
	// UrgencyHigh is work that must start now; it adds 25 % to the ask.
	UrgencyHigh Urgency = 1
)

// String returns "low", "normal" or "high", or "urgency(N)" for a value
// outside the three levels.
func (u Urgency) String() string {
	switch u {
	case UrgencyLow:
		return "low"
	case UrgencyNormal:
		return "normal"
	case UrgencyHigh:
		return "high"
	}
	return fmt.Sprintf("urgency(%d)", int8(u))
}

// ParseUrgency reads "low", "normal" or "high" (any case); the empty
// string is UrgencyNormal. Case folds as strings.EqualFold does, never as
// strings.ToLower, which reads the Turkish dotted "İ" as "i".
func ParseUrgency(s string) (Urgency, error) {
	if s == "" {
		return UrgencyNormal, nil
	}
	for _, u := range []Urgency{UrgencyLow, UrgencyNormal, UrgencyHigh} {
		if strings.EqualFold(s, u.String()) {
			return u, nil
		}
	}
	return 0, fmt.Errorf("urgency %q: want low, normal or high", s)
}

// weightBP is the urgency's position on the curve's 0..1 urgency axis, in
// basis points; ok is false for an unknown level.
func (u Urgency) weightBP() (w int64, ok bool) {
	switch u {
	case UrgencyLow:
		return 0, true
	case UrgencyNormal:
		return 0, true // the listed ask: what offers show is what a normal request pays at idle
	case UrgencyHigh:
		return 10_000, true // 1.0 x UrgencyPremiumBP = +25 %
	}
	return 0, false
}

// The ask curve is
//
//	ask = floor x (1 + a·load²) x (1 + b·w(urgency))
//
// with load in [0, 1], w(Low) = 0, w(Normal) = 0, w(High) = 1, and the
// constants a and b below, computed exactly in integers and rounded to the
// nearest micro, a half up. Both factors are at least 1, so the ask is
// never below the floor. The load term is squared so that a lightly loaded
// provider stays near its floor (competing for work: +1 % at 10 % load,
// +25 % at half load) while the last free devices get expensive (+81 % at
// 90 %), which spreads work toward idle providers.
const (
	// LoadPremiumBP is a, in basis points: at full load the ask is twice
	// the floor (+100 %), the same order as spot-versus-on-demand gaps in
	// the cloud, enough to steer work elsewhere without pricing it out.
	LoadPremiumBP = 10_000
	// UrgencyPremiumBP is b, in basis points: high urgency adds 25 %, a
	// premium for jumping the queue that stays below the load premium, so
	// scarcity moves the price more than impatience does.
	UrgencyPremiumBP = 2_500
)

// loadPPMScale is the resolution of load on the curve: parts per million.
const loadPPMScale = 1_000_000

// Ask computes the provider's price per device-hour for one request.
// floor is the provider's configured price for the device class (its
// lowest ask); load is the share of its devices busy or reserved, in
// [0, 1] (values outside are clamped, so an over-committed provider asks
// the full-load price); maxPrice is the requester's highest acceptable
// price per device-hour, 0 for none.
//
// When maxPrice is set and the curve's ask exceeds it, the ask is capped
// at maxPrice if maxPrice >= floor (the provider still earns at least its
// floor) and declined if maxPrice < floor. The ask is also declined, never
// guessed, for a floor that is not positive, a negative maxPrice, a NaN
// load, an unknown urgency, or an ask past MaxMicros with no maximum to
// cap it.
//
// reason is always set: on success it explains the price, on decline it
// names the numbers that made it fail.
func Ask(floor Micros, load float64, urgency Urgency, maxPrice Micros) (price Micros, ok bool, reason string) {
	w, known := urgency.weightBP()
	switch {
	case floor <= 0:
		return 0, false, fmt.Sprintf("floor %s is not positive", floor)
	case maxPrice < 0:
		return 0, false, fmt.Sprintf("requester's max %s is negative", maxPrice)
	case math.IsNaN(load):
		return 0, false, "load is NaN"
	case !known:
		return 0, false, fmt.Sprintf("unknown %s", urgency)
	case maxPrice > 0 && maxPrice < floor:
		return 0, false, fmt.Sprintf("requester's max %s is below the provider's floor %s", maxPrice, floor)
	}
	load = min(max(load, 0), 1)
	l := int64(math.Round(load * loadPPMScale))

	// num/den = (1 + a·l²) x (1 + b·w), each factor scaled to integers.
	const lDen = loadPPMScale * loadPPMScale // l² scale
	num := new(big.Int).SetInt64(int64(floor))
	lf := new(big.Int).Mul(big.NewInt(l), big.NewInt(l))
	lf.Mul(lf, big.NewInt(LoadPremiumBP))
	lf.Add(lf, new(big.Int).Mul(big.NewInt(lDen), big.NewInt(10_000)))
	num.Mul(num, lf)
	num.Mul(num, big.NewInt(10_000*10_000+UrgencyPremiumBP*w))
	den := new(big.Int).Mul(big.NewInt(lDen), big.NewInt(10_000))
	den.Mul(den, big.NewInt(10_000*10_000))
	ask := divRoundHalfUp(num, den)

	why := fmt.Sprintf("floor %s at %s load (+%s) and %s urgency (+%s)",
		floor, percent(load), percentBP(LoadPremiumBP*l/loadPPMScale*l/loadPPMScale), urgency, percentBP(UrgencyPremiumBP*w/10_000))
	if maxPrice > 0 && ask.Cmp(big.NewInt(int64(maxPrice))) > 0 {
		return maxPrice, true, fmt.Sprintf("%s: capped at requester's max %s", why, maxPrice)
	}
	if !ask.IsInt64() {
		return 0, false, fmt.Sprintf("%s: ask overflows micro-dollars", why)
	}
	price = Micros(ask.Int64())
	return price, true, fmt.Sprintf("%s = %s", why, price)
}

// percent formats a share in [0, 1] as a percentage with up to two decimals.
func percent(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(f*100, 'f', 2, 64), "0"), ".") + "%"
}

// percentBP formats basis points as a percentage with up to two decimals.
func percentBP(bp int64) string {
	s := fmt.Sprintf("%d.%02d", bp/100, bp%100)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".") + "%"
}

// divRoundHalfUp returns num/den rounded to the nearest integer, a half up;
// num >= 0 and den > 0.
func divRoundHalfUp(num, den *big.Int) *big.Int {
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Lsh(r, 1).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

// FeeBP is the protocol fee in basis points, charged on each side of a
// job: 25 bp is 0.25 % of the gross, added to what the requester pays and
// taken from what the provider gets. It is the receipts' fee (ledger.FeeBP).
const FeeBP = ledger.FeeBP

// Fee returns FeeBP of amount, rounded to the nearest micro-dollar, a half
// up (so $0.000199 pays no fee and $0.0002, a fee of exactly half a
// micro, pays one). It is exact for every amount up to MaxMicros. Fees are never
// negative: the fee of a zero or negative amount is zero. It is ledger.Fee,
// so a quote and a receipt always agree.
func Fee(amount Micros) Micros { return Micros(ledger.Fee(ledger.Micros(amount))) }

// Quote is what a job costs each side: Gross is price x devices x hours;
// the requester pays Gross plus its fee, the provider gets Gross less its
// fee, and the protocol takes both fees. RequesterPays - ProviderGets ==
// ProtocolTakes always holds.
type Quote struct {
	// PricePerHour is the price per device-hour.
	PricePerHour Micros `json:"price_per_hour"`
	// Devices is the number of devices rented.
	Devices int `json:"devices"`
	// Seconds is the billed duration in whole seconds.
	Seconds int64 `json:"seconds"`
	// Hours is Seconds in hours, for display.
	Hours float64 `json:"hours"`
	// Gross is PricePerHour x Devices x Seconds / 3600, rounded to the
	// nearest micro, a half up.
	Gross Micros `json:"gross"`
	// RequesterFee is Fee(Gross), charged to the requester.
	RequesterFee Micros `json:"requester_fee"`
	// ProviderFee is Fee(Gross), withheld from the provider.
	ProviderFee Micros `json:"provider_fee"`
	// RequesterPays is Gross + RequesterFee.
	RequesterPays Micros `json:"requester_pays"`
	// ProviderGets is Gross - ProviderFee.
	ProviderGets Micros `json:"provider_gets"`
	// ProtocolTakes is RequesterFee + ProviderFee.
	ProtocolTakes Micros `json:"protocol_takes"`
}

// NewQuote prices devices at pricePerHour each for d. Time is billed by the
// whole second, a part second counting as a whole one; the gross is
// computed exactly (math/big) and rounded once, to the nearest micro, a
// half up. It returns every problem joined: a negative price, device count
// or duration (ErrNegative), or a total past MaxMicros (ErrOverflow; about
// $9.2 trillion, far above 10,000 devices x one year x $1000/h).
func NewQuote(pricePerHour Micros, devices int, d time.Duration) (Quote, error) {
	var errs []error
	if pricePerHour < 0 {
		errs = append(errs, fmt.Errorf("price per hour %s: %w", pricePerHour, ErrNegative))
	}
	if devices < 0 {
		errs = append(errs, fmt.Errorf("devices %d: %w", devices, ErrNegative))
	}
	if d < 0 {
		errs = append(errs, fmt.Errorf("duration %s: %w", d, ErrNegative))
	}
	if len(errs) > 0 {
		return Quote{}, errors.Join(errs...)
	}
	secs := int64(d / time.Second)
	if d%time.Second != 0 {
		secs++
	}
	num := new(big.Int).Mul(big.NewInt(int64(pricePerHour)), big.NewInt(int64(devices)))
	num.Mul(num, big.NewInt(secs))
	gross := divRoundHalfUp(num, big.NewInt(3600))
	q := Quote{PricePerHour: pricePerHour, Devices: devices, Seconds: secs, Hours: float64(secs) / 3600}
	// RequesterPays = Gross + fee must fit in Micros too.
	if !gross.IsInt64() || gross.Int64() > int64(MaxMicros)-int64(Fee(Micros(gross.Int64()))) {
		return Quote{}, fmt.Errorf("%s x %d devices x %ds: %w", pricePerHour, devices, secs, ErrOverflow)
	}
	q.Gross = Micros(gross.Int64())
	q.RequesterFee = Fee(q.Gross)
	q.ProviderFee = Fee(q.Gross)
	q.RequesterPays = q.Gross + q.RequesterFee
	q.ProviderGets = q.Gross - q.ProviderFee
	q.ProtocolTakes = q.RequesterFee + q.ProviderFee
	return q, nil
}

// String is the quote on one line: "4 x $1.50/h x 2.5 h = $15.00; requester
// pays $15.0375, provider gets $14.9625, protocol takes $0.075".
func (q Quote) String() string {
	return fmt.Sprintf("%d x %s/h x %s h = %s; requester pays %s, provider gets %s, protocol takes %s",
		q.Devices, q.PricePerHour, hours(q.Seconds), q.Gross, q.RequesterPays, q.ProviderGets, q.ProtocolTakes)
}

// Rows is the quote as label-value pairs, in reading order, for a table
// (text/tabwriter in the CLI, a definition list in the dashboard).
func (q Quote) Rows() [][2]string {
	fee := "(" + percentBP(FeeBP) + ")"
	return [][2]string{
		{"price per device-hour", q.PricePerHour.String()},
		{"devices", strconv.Itoa(q.Devices)},
		{"hours", hours(q.Seconds)},
		{"gross", q.Gross.String()},
		{"requester fee " + fee, q.RequesterFee.String()},
		{"requester pays", q.RequesterPays.String()},
		{"provider fee " + fee, q.ProviderFee.String()},
		{"provider gets", q.ProviderGets.String()},
		{"protocol takes", q.ProtocolTakes.String()},
	}
}

// hours formats seconds as hours with up to four decimals: "2.5", "0.0003".
func hours(secs int64) string {
	s := strconv.FormatFloat(float64(secs)/3600, 'f', 4, 64)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}
