package proof

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/rand/v2"
)

// Matrices a challenge generates.
const (
	matrixA byte = 'A'
	matrixB byte = 'B'
)

// genDomain separates generator keys from every other SHA-256 in gpumesh.
const genDomain = "gpumesh-proof-gen/1\x00"

// nibbles maps a 4-bit value v to the Int8FP32 element v - 8.
var nibbles = [16]float32{-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7}

// generator regenerates any row of a challenge's matrices: row i of matrix m
// is the output of ChaCha8 keyed by SHA-256(genDomain, seed, m, i). A
// generator reuses its ChaCha8 state and is not safe for concurrent use; give
// each goroutine its own.
type generator struct {
	seed [32]byte
	typ  NumberType
	key  [len(genDomain) + 32 + 1 + 4]byte
	rng  *rand.ChaCha8
}

func newGenerator(seed [32]byte, t NumberType) *generator {
	g := &generator{seed: seed, typ: t, rng: rand.NewChaCha8([32]byte{})}
	copy(g.key[:], genDomain)
	copy(g.key[len(genDomain):], seed[:])
	return g
}

// row fills dst (of length n) with row i of matrix m. Int8FP32 elements are
// integers in [-8, 7], sixteen per 64-bit output; BF16FP32 and FP16FP32
// elements are ±(1 + f) * 2^-e with e in [0, 3] and f a 7- or 10-bit
// fraction, exactly representable in bfloat16 or fp16, four per output.
func (g *generator) row(m byte, i int, dst []float32) {
	g.key[len(genDomain)+32] = m
	binary.LittleEndian.PutUint32(g.key[len(genDomain)+33:], uint32(i))
	g.rng.Seed(sha256.Sum256(g.key[:]))
	switch g.typ {
	case Int8FP32:
		j := 0
		for ; j+16 <= len(dst); j += 16 {
			u := g.rng.Uint64()
			d := dst[j : j+16]
			d[0], d[1], d[2], d[3] = nibbles[u&15], nibbles[u>>4&15], nibbles[u>>8&15], nibbles[u>>12&15]
			d[4], d[5], d[6], d[7] = nibbles[u>>16&15], nibbles[u>>20&15], nibbles[u>>24&15], nibbles[u>>28&15]
			d[8], d[9], d[10], d[11] = nibbles[u>>32&15], nibbles[u>>36&15], nibbles[u>>40&15], nibbles[u>>44&15]
			d[12], d[13], d[14], d[15] = nibbles[u>>48&15], nibbles[u>>52&15], nibbles[u>>56&15], nibbles[u>>60&15]
		}
		if j < len(dst) {
			u := g.rng.Uint64()
			for t := range dst[j:] {
				dst[j+t] = nibbles[u>>(4*t)&15]
			}
		}
	default:
		// fracBits is the fraction width of the 16-bit format.
		fracBits := uint(7)
		if g.typ == FP16FP32 {
			fracBits = 10
		}
		fracMask := uint32(1)<<fracBits - 1
		for j := 0; j < len(dst); j += 4 {
			u := g.rng.Uint64()
			chunk := dst[j:min(j+4, len(dst))]
			for t := range chunk {
				s := uint32(u >> (16 * t) & 0xffff)
				sign := s >> 15
				exp := 127 - (s >> 13 & 3)
				frac := s & fracMask
				chunk[t] = math.Float32frombits(sign<<31 | exp<<23 | frac<<(23-fracBits))
			}
		}
	}
}
