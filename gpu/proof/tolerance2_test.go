package proof

import (
	"math"
	"testing"
)

// roundSig rounds x to bits significant bits, to nearest even: fp16 has
// 11, bf16 8, fp8 e4m3 4 (exponent range ignored: the values here are far
// from it).
func roundSig(x float64, bits int) float64 {
	if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return x
	}
	fr, exp := math.Frexp(x)
	return math.Ldexp(math.RoundToEven(math.Ldexp(fr, bits)), exp-bits)
}

// quantizeInt8 quantizes m symmetrically to int8 with one scale.
func quantizeInt8(m []float64) []float64 {
	s := 0.0
	for _, v := range m {
		s = max(s, math.Abs(v))
	}
	s /= 127
	out := make([]float64, len(m))
	for i, v := range m {
		out[i] = math.Round(v/s) * s
	}
	return out
}

// TestDigestToleranceRates measures Tolerance2 over many rows and seeds:
// how often an honest prover is refused (false reject) and how often a
// cheater is accepted (false accept), per recomputed row, for the ways a
// GPU writes honest results and the cheaper, wrong ways to get them. A
// cheater's row escapes with the rate measured here; a challenge checks
// s r = 64 rows, so a rate of 0.25 escapes a challenge with 0.25^64.
func TestDigestToleranceRates(t *testing.T) {
	const n = 256
	const seeds, rowsPerSeed = 6, 64
	type prover struct {
		name    string
		honest  bool
		maxRate float64 // the most rows it may get wrongly judged
		digest  func(a, b []float64, exact []float64) float64
	}
	sumAbs := func(c []float64) float64 {
		s := float32(0)
		for _, v := range c {
			s += float32(math.Abs(v))
		}
		return float64(s)
	}
	product := func(a, b []float64) []float64 {
		c := make([]float64, n)
		for k := range n {
			for j := range n {
				c[j] += a[k] * b[k*n+j]
			}
		}
		return c
	}
	rounded := func(bits int) func(a, b, exact []float64) float64 {
		return func(_, _, exact []float64) float64 {
			c := make([]float64, n)
			for j, v := range exact {
				c[j] = roundSig(float64(float32(v)), bits)
			}
			return sumAbs(c)
		}
	}
	inputs := func(f func([]float64) []float64) func(a, b, exact []float64) float64 {
		return func(a, b, _ []float64) float64 { return sumAbs(product(f(a), f(b))) }
	}
	each := func(bits int) func([]float64) []float64 {
		return func(m []float64) []float64 {
			out := make([]float64, len(m))
			for i, v := range m {
				out[i] = roundSig(v, bits)
			}
			return out
		}
	}
	for _, typ := range []NumberType{FP16FP32, BF16FP32} {
		provers := []prover{
			{"fp32 result", true, 0, rounded(24)},
			{"fp16 result", true, 0, rounded(11)},
			{"int8 inputs", false, 0.25, inputs(quantizeInt8)},
			{"fp8 e4m3 inputs", false, 0.25, inputs(each(4))},
			{"digest 0.5 % off", false, 0.01, func(_, _, exact []float64) float64 { return 1.005 * sumAbs(exact) }},
		}
		if typ == BF16FP32 {
			provers[1] = prover{"bf16 result", true, 0, rounded(8)}
		}
		for _, p := range provers {
			wrong, total := 0, 0
			worst := 0.0
			for seed := range seeds {
				var s [32]byte
				s[0], s[1] = byte(seed), byte(len(typ))
				g := newGen2(s, n, typ)
				b := make([]float64, n*n)
				row := make([]float32, n)
				for k := range n {
					g.row(1, k, row)
					for j, v := range row {
						b[k*n+j] = float64(v)
					}
				}
				for i := range rowsPerSeed {
					g.row(0, i, row)
					a := make([]float64, n)
					for k, v := range row {
						a[k] = float64(v)
					}
					exact := product(a, b)
					d, norm := 0.0, 0.0
					for _, v := range exact {
						d += math.Abs(v)
						norm += v * v
					}
					got := float64(float32(p.digest(a, b, exact)))
					rel := math.Abs(got-d) / math.Sqrt(norm)
					worst = max(worst, rel)
					total++
					if (rel <= typ.Tolerance2()) != p.honest {
						wrong++
					}
				}
			}
			rate := float64(wrong) / float64(total)
			kind := "false accept"
			if p.honest {
				kind = "false reject"
			}
			t.Logf("%s, %s: %s rate %.3f over %d rows; largest error 2^%.1f of ||C_i||, tolerance 2^%.1f", typ, p.name, kind, rate, total, math.Log2(worst), math.Log2(typ.Tolerance2()))
			if rate > p.maxRate {
				t.Errorf("%s, %s: %s rate %.3f, want <= %.3f", typ, p.name, kind, rate, p.maxRate)
			}
		}
	}
}
