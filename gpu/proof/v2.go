package proof

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// Version 2 of the challenge, for GPUs: many seeded products committed in
// one Merkle tree. See the package doc for the design and its odds.

// Version 2 constants.
const (
	// ChallengeVersion2 is the version of Challenge2; it is hashed into the
	// challenge's ID and written in its wire header.
	ChallengeVersion2 = 2
	// MaxN2 is the largest matrix size of a version 2 challenge: a leaf is
	// n fp32 digests (16 KiB at 4096).
	MaxN2 = 4096
	// MaxPool2 is the largest pool: 2 x 256 fp16 matrices of 4096^2 are 16 GiB.
	MaxPool2 = 256
	// MaxSamples2 is the most products a verifier may open.
	MaxSamples2 = 64
	// DefaultSamples2 is s, the products a verifier opens: skipping a
	// fraction f of the products escapes with (1-f)^s, 0.9^32 = 3.4 %,
	// 0.5^32 = 2.3e-10.
	DefaultSamples2 = 32
	// DefaultCheckRows2 is r, the rows of each opened product the verifier
	// recomputes. The prover does not learn which.
	DefaultCheckRows2 = 2
	// DefaultTolerance2 is the fraction of a GPU class's expected throughput
	// a version 2 prover must reach: tighter than version 1's, so that the
	// next class down (A100 for H100, 200 against 450 TFLOP/s) fails.
	DefaultTolerance2 = 0.75
	// DefaultTarget2 is the honest prover's work a verifier asks for, at
	// the claimed class's expected throughput.
	DefaultTarget2 = time.Second
)

// Limits2 bound what a node accepts in a version 2 challenge. A zero field
// means its default.
type Limits2 struct {
	// MaxN is the largest matrix size (default and at most MaxN2).
	MaxN int
	// MaxPool is the largest pool (default and at most MaxPool2).
	MaxPool int
	// MaxDeadline is the longest deadline (default DefaultMaxDeadline).
	MaxDeadline time.Duration
}

// orDefaults returns l with its zero or out-of-range fields set.
func (l Limits2) orDefaults() Limits2 {
	if l.MaxN <= 0 || l.MaxN > MaxN2 {
		l.MaxN = MaxN2
	}
	if l.MaxPool <= 0 || l.MaxPool > MaxPool2 {
		l.MaxPool = MaxPool2
	}
	if l.MaxDeadline <= 0 {
		l.MaxDeadline = DefaultMaxDeadline
	}
	return l
}

// widest2 are the widest limits of the encoding.
var widest2 = Limits2{MaxN: MaxN2, MaxPool: MaxPool2, MaxDeadline: math.MaxInt64}

// Challenge2 is a version 2 challenge: generate pools A_0..A_{P-1} and
// B_0..B_{P-1} of n x n matrices from Seed (Element2), compute the Products
// products C_j = A_x B_y with (x, y) = Pair(j), and commit to the row
// digests of every product (Digest) in one Merkle tree, within Deadline.
type Challenge2 struct {
	// Version is ChallengeVersion2.
	Version uint8
	// Seed generates the pools; random and never reused.
	Seed [32]byte
	// Nonce makes the ID unique.
	Nonce [16]byte
	// N is the matrix size.
	N int
	// Type is FP16FP32 or BF16FP32.
	Type NumberType
	// Pool is P, the matrices in each of the A and B pools.
	Pool int
	// Products is K, the products to compute: 1 <= K <= P^2.
	Products int
	// Samples is s, the most products the verifier will open: 1 <= s <= min(K, MaxSamples2).
	Samples int
	// Deadline is how long the prover has, from receiving the challenge to
	// sending its commitment.
	Deadline time.Duration
}

// Params2 are what a verifier chooses for a version 2 challenge.
type Params2 struct {
	N, Pool, Products, Samples int
	Type                       NumberType
	Deadline                   time.Duration
}

// Plan2 returns the parameters of a challenge whose honest work takes
// target at expected FLOP/s, with matrices of size n: K = ceil(target x
// expected / 2 n^3) products (at least 1), the smallest pool that holds
// them, DefaultSamples2 samples (at most K) and a deadline of target /
// tolerance plus slack for generating the pools, hashing and the network.
func Plan2(expected float64, n int, t NumberType, target time.Duration, tolerance float64, slack time.Duration) (Params2, error) {
	if !(expected > 0) || math.IsInf(expected, 0) || n < 1 || n > MaxN2 || target <= 0 || !(tolerance > 0 && tolerance <= 1) || slack < 0 {
		return Params2{}, fmt.Errorf("%w: plan: expected %v, n %d, target %s, tolerance %v, slack %s", ErrInvalid, expected, n, target, tolerance, slack)
	}
	k := math.Ceil(target.Seconds() * expected / (2 * math.Pow(float64(n), 3)))
	k = max(k, 1)
	if k > MaxPool2*MaxPool2 {
		return Params2{}, fmt.Errorf("%w: plan: %g products of n = %d, at most %d: use a larger n", ErrInvalid, k, n, MaxPool2*MaxPool2)
	}
	p := int(math.Ceil(math.Sqrt(k)))
	for p*p < int(k) {
		p++
	}
	deadline := time.Duration(float64(target)/tolerance) + slack
	return Params2{N: n, Type: t, Pool: p, Products: int(k), Samples: min(DefaultSamples2, int(k)), Deadline: deadline}, nil
}

// NewChallenge2 returns a challenge with parameters p and a seed and nonce
// read from rnd. It returns an error wrapping ErrInvalid if the challenge
// would not pass Validate with the default limits.
func NewChallenge2(rnd io.Reader, p Params2) (Challenge2, error) {
	ch := Challenge2{Version: ChallengeVersion2, N: p.N, Type: p.Type, Pool: p.Pool, Products: p.Products, Samples: p.Samples, Deadline: p.Deadline}
	if err := readSecrets(rnd, ch.Seed[:], ch.Nonce[:]); err != nil {
		return Challenge2{}, err
	}
	if err := ch.Validate(Limits2{}); err != nil {
		return Challenge2{}, err
	}
	return ch, nil
}

// Validate returns every problem with the challenge under limits l,
// joined; each wraps ErrInvalid.
func (c Challenge2) Validate(l Limits2) error {
	l = l.orDefaults()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	if c.Version != ChallengeVersion2 {
		bad("challenge version %d, want %d", c.Version, ChallengeVersion2)
	}
	if c.N < 1 || c.N > l.MaxN {
		bad("n = %d not in [1, %d]", c.N, l.MaxN)
	}
	if c.Type != FP16FP32 && c.Type != BF16FP32 {
		bad("number type %q, want %s or %s", c.Type, FP16FP32, BF16FP32)
	}
	if c.Pool < 1 || c.Pool > l.MaxPool {
		bad("pool P = %d not in [1, %d]", c.Pool, l.MaxPool)
	}
	if c.Products < 1 || c.Products > c.Pool*c.Pool {
		bad("products K = %d not in [1, P^2 = %d]", c.Products, c.Pool*c.Pool)
	}
	if c.Samples < 1 || c.Samples > MaxSamples2 || c.Samples > c.Products {
		bad("samples s = %d not in [1, min(K, %d)]", c.Samples, MaxSamples2)
	}
	if c.Deadline <= 0 || c.Deadline > l.MaxDeadline {
		bad("deadline %s not in (0, %s]", c.Deadline, l.MaxDeadline)
	}
	return errors.Join(errs...)
}

// challenge2BodySize is the size of a version 2 challenge's fields on the wire.
const challenge2BodySize = 1 + 32 + 16 + 4 + 1 + 4 + 4 + 4 + 8

// appendBody appends the challenge's fields in wire order, clamped to fit.
func (c Challenge2) appendBody(b []byte) []byte {
	b = append(b, c.Version)
	b = append(b, c.Seed[:]...)
	b = append(b, c.Nonce[:]...)
	b = binary.LittleEndian.AppendUint32(b, clampU32(c.N))
	b = append(b, c.Type.code())
	b = binary.LittleEndian.AppendUint32(b, clampU32(c.Pool))
	b = binary.LittleEndian.AppendUint32(b, clampU32(c.Products))
	b = binary.LittleEndian.AppendUint32(b, clampU32(c.Samples))
	return binary.LittleEndian.AppendUint64(b, uint64(c.Deadline))
}

// ID returns the challenge's ID: SHA-256 over the domain and every field.
// The version byte keeps it apart from every version 1 ID.
func (c Challenge2) ID() ID {
	buf := make([]byte, 0, len(idDomain)+challenge2BodySize)
	buf = append(buf, idDomain...)
	return sha256.Sum256(c.appendBody(buf))
}

// Flops returns the floating-point operations of the honest work, 2 K n^3.
func (c Challenge2) Flops() float64 {
	n := float64(c.N)
	return 2 * float64(c.Products) * n * n * n
}

// Pair returns the pool indexes (x, y) of product j: x = j mod P,
// y = (x + j div P) mod P. Distinct j < P^2 give distinct pairs.
func Pair(j, pool int) (x, y int) {
	x = j % pool
	return x, (x + j/pool) % pool
}

// CatchProbability2 is the probability that a verifier opening s of K
// products, drawn independently and uniformly, and recomputing r rows of
// each, catches a prover whose digests are wrong in a fraction f of all
// rows, spread evenly: 1 - (1-f)^(s r). For whole products skipped (every
// row of a skipped product wrong), the odds are 1 - (1-f)^s, f the fraction
// of products skipped.
func CatchProbability2(f float64, samples, rows int) float64 {
	if !(f > 0) || samples <= 0 || rows <= 0 {
		return 0
	}
	if f >= 1 {
		return 1
	}
	return 1 - math.Pow(1-f, float64(samples*rows))
}

// Cost2 returns the multiply-adds of a version 2 challenge: the prover's
// K n^3, and the verifier's, for s opened products with r rows each, s (n^2
// + r n + r n^2): each product's B regenerated, its r rows of A, and r rows
// of C recomputed. At K = 3277, n = 4096 (an H100's second), s = 32, r = 2:
// 7e-6 of the prover's.
func Cost2(n, products, samples, rows int) (prover, verifier int64) {
	nn, k, s, r := int64(n), int64(products), int64(samples), int64(rows)
	return k * nn * nn * nn, s * (nn*nn + r*nn + r*nn*nn)
}
