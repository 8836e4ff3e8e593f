package ledger

import "math/bits"

// Micros is an amount of money in whole millionths of a US dollar.
type Micros int64

// FeeBP is the protocol fee in basis points charged to each side of a
// receipt: 25 bp = 0.25 %.
const FeeBP = 25

// Fee is FeeBP of amount, rounded to the nearest micro with halves rounded
// up; it is zero for amounts <= 0. It gives the same results as
// scheduler/pricing.Fee.
func Fee(amount Micros) Micros {
	if amount <= 0 {
		return 0
	}
	// amount x 25 / 10_000 = amount / 400; split to avoid overflow.
	const per = 10_000 / FeeBP
	q, r := amount/per, amount%per
	if 2*r >= per {
		q++
	}
	return q
}

// millisPerHour is the number of GPU-milliseconds in a GPU-hour.
const millisPerHour = 3_600_000

// Cost is what gpuMillis GPU-milliseconds cost at unitPrice per GPU-hour:
// unitPrice x gpuMillis / 3,600,000 rounded to the nearest micro, halves up,
// computed without overflow. ok is false when an input is negative or the
// result does not fit in Micros.
func Cost(unitPrice Micros, gpuMillis int64) (amount Micros, ok bool) {
	if unitPrice < 0 || gpuMillis < 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(unitPrice), uint64(gpuMillis))
	// Add half the divisor for rounding half up.
	lo2 := lo + millisPerHour/2
	if lo2 < lo {
		hi++
	}
	if hi >= millisPerHour { // quotient would not fit in 64 bits
		return 0, false
	}
	q, _ := bits.Div64(hi, lo2, millisPerHour)
	if q > 1<<63-1 {
		return 0, false
	}
	return Micros(q), true
}
