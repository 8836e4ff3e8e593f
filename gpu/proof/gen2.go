package proof

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
)

// gen2Domain separates version 2 generator keys from every other SHA-256.
const gen2Domain = "gpumesh-proof-gen/2\x00"

// gen2 generates version 2 matrices. Unlike version 1's ChaCha8, its
// generator is a counter-based integer hash that a GPU computes with a few
// elementwise tensor operations (the Python helper does exactly this), so
// that generating the pools costs little next to the products. It need not
// be cryptographic: the prover knows the seed anyway; the elements need
// only be unpredictable before the challenge and free of structure that
// would let a product be had cheaper than by multiplying.
type gen2 struct {
	k0, k1, k2 uint32
	n          int
	fracBits   uint
}

// newGen2 derives the generator's keys: the first three little-endian
// 32-bit words of SHA-256(gen2Domain, seed).
func newGen2(seed [32]byte, n int, t NumberType) gen2 {
	h := sha256.Sum256(append([]byte(gen2Domain), seed[:]...))
	g := gen2{k0: binary.LittleEndian.Uint32(h[0:]), k1: binary.LittleEndian.Uint32(h[4:]), k2: binary.LittleEndian.Uint32(h[8:]), n: n, fracBits: 7}
	if t == FP16FP32 {
		g.fracBits = 10
	}
	return g
}

// lowbias32 is Chris Wellons' 32-bit integer hash.
func lowbias32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

// Matrix numbers: A_x is matrix x, B_y is matrix P + y.

// element returns element (i, c) of matrix q:
//
//	e = i n + c (mod 2^32)
//	h = lowbias32(lowbias32(lowbias32(e ^ k0) ^ (q 0x9E3779B9 + k1)) + k2)
//
// and, from h's low 16 bits s, the value (-1)^s[15] (1 + s[0:b] / 2^b)
// 2^-s[13:15], b = 10 for fp16 and 7 for bf16: exact in the 16-bit format.
func (g gen2) element(q, i, c int) float32 {
	e := uint32(i)*uint32(g.n) + uint32(c)
	h := lowbias32(e ^ g.k0)
	h = lowbias32(h ^ (uint32(q)*0x9E3779B9 + g.k1))
	h = lowbias32(h + g.k2)
	sign := h >> 15 & 1
	exp := 127 - (h >> 13 & 3)
	frac := h & (1<<g.fracBits - 1)
	return math.Float32frombits(sign<<31 | exp<<23 | frac<<(23-g.fracBits))
}

// row fills dst (n elements) with row i of matrix q.
func (g gen2) row(q, i int, dst []float32) {
	for c := range dst {
		dst[c] = g.element(q, i, c)
	}
}

// Digest is the digest of a row of a product that a prover commits to:
// sum_k |C[i,k]|, in float32 or better, in any order. It cannot be had
// without the row: |.| is not linear, so no A (B v) shortcut gives it.
func Digest(row []float32) float32 {
	s := float64(0)
	for _, v := range row {
		s += math.Abs(float64(v))
	}
	return float32(s)
}

// Tolerance2 is the largest error Verify2 accepts in a row digest,
// relative to the row's Euclidean norm ||C_i||_2. Measured at n = 256 over
// 384 rows (TestDigestToleranceRates): an fp16 result with fp32
// accumulation (tensor cores writing fp16) errs by at most 2^-10.8 of it,
// an fp32 result by 2^-16.8; for fp16, 2^-9.5 accepts both, and accepts a
// row from int8-quantized inputs 10 % of the time, from fp8 inputs 1.3 %,
// a digest 0.5 % off never. An honest bf16 result errs by up to 2^-7.6;
// its tolerance, 2^-6.5, accepts an int8 or fp8 row 20 % of the time. A
// challenge recomputes s r = 64 rows, so such a cheat escapes with at most
// 0.2^64; verifiers use fp16, which every GPU class in the table has.
func (t NumberType) Tolerance2() float64 {
	if t == BF16FP32 {
		return math.Exp2(-6.5)
	}
	return math.Exp2(-9.5)
}
