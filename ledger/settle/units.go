package settle

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/gpumesh/gpumesh/ledger"
)

// MicrosDecimals is the number of decimals ledger.Micros has: a token with
// exactly this many maps one micro to one base unit.
const MicrosDecimals = 6

// NativeDecimals is the native coin's number of decimals.
const NativeDecimals = 18

// MaxDecimals bounds a token's decimals: 10^(60-6) x ledger.MaxAmount still fits 256 bits.
const MaxDecimals = 60

// NativeToken is the address that stands for the chain's native coin.
var NativeToken = common.Address{}

// maxUint256 is 2^256 - 1.
var maxUint256 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

// ToUnits converts micros to base units of a token with the given decimals:
// micros x 10^(decimals-6). It refuses negative amounts and tokens with
// fewer than 6 or more than MaxDecimals decimals.
func ToUnits(m ledger.Micros, decimals uint8) (*big.Int, error) {
	if err := checkDecimals(decimals); err != nil {
		return nil, err
	}
	if m < 0 {
		return nil, fmt.Errorf("%w: negative amount %d", ErrInvalid, m)
	}
	return new(big.Int).Mul(big.NewInt(int64(m)), scale(decimals)), nil
}

// FromUnits converts base units back to micros, rounding down, and reports
// whether the conversion was exact. It refuses negative amounts, amounts
// that do not fit ledger.Micros, and unsupported decimals.
func FromUnits(units *big.Int, decimals uint8) (m ledger.Micros, exact bool, err error) {
	if err := checkDecimals(decimals); err != nil {
		return 0, false, err
	}
	if units == nil || units.Sign() < 0 {
		return 0, false, fmt.Errorf("%w: negative or missing amount", ErrInvalid)
	}
	q, r := new(big.Int).QuoRem(units, scale(decimals), new(big.Int))
	if !q.IsInt64() {
		return 0, false, fmt.Errorf("%w: %s units do not fit in micros", ErrInvalid, units)
	}
	return ledger.Micros(q.Int64()), r.Sign() == 0, nil
}

// checkDecimals refuses decimals outside [MicrosDecimals, MaxDecimals].
func checkDecimals(d uint8) error {
	if d < MicrosDecimals || d > MaxDecimals {
		return fmt.Errorf("%w: %d, want %d to %d", ErrDecimals, d, MicrosDecimals, MaxDecimals)
	}
	return nil
}

// scale is 10^(d-6).
func scale(d uint8) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d-MicrosDecimals)), nil)
}

// checkUint256 refuses a nil, negative or wider than 256-bit value.
func checkUint256(field string, v *big.Int) error {
	switch {
	case v == nil:
		return fmt.Errorf("%w: %s: missing", ErrInvalid, field)
	case v.Sign() < 0:
		return fmt.Errorf("%w: %s: negative", ErrInvalid, field)
	case v.Cmp(maxUint256) > 0:
		return fmt.Errorf("%w: %s: wider than 256 bits", ErrInvalid, field)
	}
	return nil
}

// FormatUnits writes base units as a decimal amount of whole tokens, such
// as "12.5" for 12,500,000 units of a 6-decimals token.
func FormatUnits(units *big.Int, decimals uint8) string {
	if units == nil {
		return "0"
	}
	s := new(big.Int).Abs(units).String()
	d := int(decimals)
	if len(s) <= d {
		s = strings.Repeat("0", d-len(s)+1) + s
	}
	whole, frac := s[:len(s)-d], strings.TrimRight(s[len(s)-d:], "0")
	if units.Sign() < 0 {
		whole = "-" + whole
	}
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}
