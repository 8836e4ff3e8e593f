package proof

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// Errors returned by the decoders, validators and provers. Each error wraps
// at most one of them; test with errors.Is.
var (
	// ErrTooLarge: a message is over the maximum size for its type, before
	// anything was allocated for it.
	ErrTooLarge = errors.New("message too large")
	// ErrMalformed: a message is truncated, has trailing bytes, the wrong
	// type or version, or a field of the wrong size.
	ErrMalformed = errors.New("malformed message")
	// ErrInvalid: a message decoded but its contents are out of bounds (an
	// absurd n, r > n, a deadline <= 0...).
	ErrInvalid = errors.New("invalid message")
	// ErrWrongChallenge: a message is bound to another challenge (its
	// challenge ID or its n differ): a replay.
	ErrWrongChallenge = errors.New("message bound to another challenge")
	// ErrUnsupported: a prover does not support the challenge's number type.
	ErrUnsupported = errors.New("number type not supported by this prover")
)

// NumberType names the input and accumulation formats of a challenge's
// multiplication: "inputs-accumulator".
type NumberType string

// Number types.
const (
	// Int8FP32 has integer inputs in [-8, 7] and fp32 accumulation; results
	// are exact. For CPU provers and tests.
	Int8FP32 NumberType = "int8-fp32"
	// BF16FP32 has bfloat16 inputs and fp32 accumulation, as GPU tensor cores do.
	BF16FP32 NumberType = "bf16-fp32"
	// FP16FP32 has IEEE half-precision inputs and fp32 accumulation.
	FP16FP32 NumberType = "fp16-fp32"
)

// NumberTypes lists every number type.
var NumberTypes = []NumberType{Int8FP32, BF16FP32, FP16FP32}

// code is the number type's byte on the wire; 0 for an unknown type.
func (t NumberType) code() byte {
	switch t {
	case Int8FP32:
		return 1
	case BF16FP32:
		return 2
	case FP16FP32:
		return 3
	}
	return 0
}

// numberTypeOf is the inverse of code.
func numberTypeOf(c byte) (NumberType, bool) {
	for _, t := range []NumberType{Int8FP32, BF16FP32, FP16FP32} {
		if c != 0 && t.code() == c {
			return t, true
		}
	}
	return "", false
}

// Valid reports whether t is one of NumberTypes.
func (t NumberType) Valid() bool { return t.code() != 0 }

// Exact reports whether results of t are checked bit for bit, rather than
// within Tolerance.
func (t NumberType) Exact() bool { return t == Int8FP32 }

// Tolerance is the largest error Verify accepts in an element of C, relative
// to the row's magnitude sum_k |a_ik| * max_j |b_kj|: 0 for Int8FP32, which
// is exact, and 2^-16 for the 16-bit types. Measured at n = 64 to 1024,
// honest fp32 accumulation in k order errs by at most 2^-23.8 of that
// magnitude, leaving 2^7 for other summation orders and tensor units; a
// prover that accumulates in fp16, rounds C to bf16 or quantizes the inputs
// to int8 errs by 2^-9 to 2^-12.6.
func (t NumberType) Tolerance() float64 {
	if t.Exact() {
		return 0
	}
	return 1.0 / (1 << 16)
}

// Challenge and limit constants.
const (
	// ChallengeVersion is the version of Challenge this package makes and
	// accepts; it is hashed into the challenge's ID.
	ChallengeVersion = 1
	// DefaultMaxN is the default largest matrix size a node accepts.
	DefaultMaxN = 4096
	// MaxExactN is the largest n for which Int8FP32 stays exact:
	// |sum| <= n * 64 <= 2^24. Limits.MaxN may not exceed it.
	MaxExactN = 1 << 18
	// DefaultMaxRows is the default largest number of rows a challenge may
	// ask to open.
	DefaultMaxRows = 64
	// DefaultMaxDeadline is the default longest deadline a node accepts.
	DefaultMaxDeadline = 10 * time.Minute
	// DefaultRows is the default number of rows a verifier opens, r. At
	// n = 1024 the verifier's work is 1.27 % of the prover's in counted
	// multiply-adds (Cost), and under 2 % in time, where generating B costs
	// it more than a multiply-add per element. One wrong row is caught with
	// probability 1-(1-1/n)^12 (CatchProbability): 1.17 % at n = 1024, 4.59 %
	// at n = 256. A prover that skips a tenth of the work is caught with
	// probability 1-0.9^12 = 72 %, one that skips half with 1-2^-12.
	DefaultRows = 12
	// DefaultTolerance is the fraction of a class's expected throughput a
	// prover must reach unless the caller says otherwise.
	DefaultTolerance = 0.5
)

// Limits bound what a node accepts in a challenge, so that an absurd one is
// refused before anything is allocated for it. A zero field means its default.
type Limits struct {
	// MaxN is the largest matrix size (default DefaultMaxN; at most MaxExactN).
	MaxN int
	// MaxRows is the largest number of rows to open (default DefaultMaxRows).
	MaxRows int
	// MaxDeadline is the longest deadline (default DefaultMaxDeadline).
	MaxDeadline time.Duration
}

// widest are the widest limits the encoding and the arithmetic allow; a
// node checks its own challenges against them, and those it accepts from
// others against its Limits.
var widest = Limits{MaxN: MaxExactN, MaxRows: MaxExactN, MaxDeadline: math.MaxInt64}

// orDefaults returns l with its zero fields set to their defaults.
func (l Limits) orDefaults() Limits {
	if l.MaxN <= 0 {
		l.MaxN = DefaultMaxN
	}
	if l.MaxN > MaxExactN {
		l.MaxN = MaxExactN
	}
	if l.MaxRows <= 0 {
		l.MaxRows = DefaultMaxRows
	}
	if l.MaxDeadline <= 0 {
		l.MaxDeadline = DefaultMaxDeadline
	}
	return l
}

// ID identifies a challenge: the SHA-256 of all its fields. Every message
// after the challenge carries it, so an answer to one challenge is refused
// as an answer to another.
type ID [32]byte

// String returns the ID in hex.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Challenge is what a verifier sends a prover: multiply two n x n matrices
// generated from Seed, in number type Type, within Deadline, and be ready to
// open Rows rows of the product.
type Challenge struct {
	// Version is ChallengeVersion.
	Version uint8
	// Seed generates A and B. It must be random and never reused: two
	// provers given the same seed could share one answer.
	Seed [32]byte
	// Nonce is the verifier's random nonce; with the seed it makes the ID unique.
	Nonce [16]byte
	// N is the matrix size.
	N int
	// Type is the number type.
	Type NumberType
	// Rows is r, the most rows the verifier will ask to open (1 <= r <= N).
	Rows int
	// Deadline is how long the prover has, from receiving the challenge to
	// sending its commitment.
	Deadline time.Duration
}

// NewChallenge returns a challenge with a seed and a nonce read from rnd
// (crypto/rand.Reader in production, a seeded generator in tests). It
// returns an error wrapping ErrInvalid if the challenge would not pass
// Validate with the default limits.
func NewChallenge(rnd io.Reader, n int, t NumberType, rows int, deadline time.Duration) (Challenge, error) {
	ch := Challenge{Version: ChallengeVersion, N: n, Type: t, Rows: rows, Deadline: deadline}
	if err := readSecrets(rnd, ch.Seed[:], ch.Nonce[:]); err != nil {
		return Challenge{}, err
	}
	if err := ch.Validate(Limits{}); err != nil {
		return Challenge{}, err
	}
	return ch, nil
}

// Validate returns every problem with the challenge under limits l, joined;
// each wraps ErrInvalid.
func (c Challenge) Validate(l Limits) error {
	l = l.orDefaults()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	if c.Version != ChallengeVersion {
		bad("challenge version %d, want %d", c.Version, ChallengeVersion)
	}
	if c.N < 1 || c.N > l.MaxN {
		bad("n = %d not in [1, %d]", c.N, l.MaxN)
	}
	if !c.Type.Valid() {
		bad("unknown number type %q", c.Type)
	}
	if c.Rows < 1 || c.Rows > l.MaxRows {
		bad("rows to open r = %d not in [1, %d]", c.Rows, l.MaxRows)
	}
	if c.Rows > c.N {
		bad("rows to open r = %d > n = %d", c.Rows, c.N)
	}
	if c.Deadline <= 0 || c.Deadline > l.MaxDeadline {
		bad("deadline %s not in (0, %s]", c.Deadline, l.MaxDeadline)
	}
	return errors.Join(errs...)
}

// idDomain separates challenge IDs from every other SHA-256 in gpumesh.
const idDomain = "gpumesh-proof-challenge-id\x00"

// ID returns the challenge's ID: SHA-256 over a domain string and every
// field, the seed and the nonce included.
func (c Challenge) ID() ID {
	buf := make([]byte, 0, len(idDomain)+challengeBodySize)
	buf = append(buf, idDomain...)
	buf = c.appendBody(buf)
	return sha256.Sum256(buf)
}

// challengeBodySize is the size of a challenge's fields on the wire.
const challengeBodySize = 1 + 32 + 16 + 4 + 1 + 4 + 8

// appendBody appends the challenge's fields in wire order. Out-of-range
// sizes are clamped so that the encoding stays fixed-size; Validate refuses
// them anyway.
func (c Challenge) appendBody(b []byte) []byte {
	b = append(b, c.Version)
	b = append(b, c.Seed[:]...)
	b = append(b, c.Nonce[:]...)
	b = binary.LittleEndian.AppendUint32(b, clampU32(c.N))
	b = append(b, c.Type.code())
	b = binary.LittleEndian.AppendUint32(b, clampU32(c.Rows))
	return binary.LittleEndian.AppendUint64(b, uint64(c.Deadline))
}

// readSecrets fills a challenge's seed, then its nonce, from rnd.
func readSecrets(rnd io.Reader, seed, nonce []byte) error {
	if _, err := io.ReadFull(rnd, seed); err != nil {
		return fmt.Errorf("read challenge seed: %w", err)
	}
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return fmt.Errorf("read challenge nonce: %w", err)
	}
	return nil
}

// clampU32 maps v into the range of a uint32.
func clampU32(v int) uint32 {
	switch {
	case v < 0:
		return 0
	case uint64(v) > 1<<32-1:
		return 1<<32 - 1
	}
	return uint32(v)
}

// Flops returns the floating-point operations of the challenge's
// multiplication, 2 n^3 (one multiply and one add per term).
func (c Challenge) Flops() float64 {
	n := float64(c.N)
	return 2 * n * n * n
}

// proofLen is the longest RFC 6962 inclusion proof in a tree of n leaves:
// ceil(log2 n) hashes.
func proofLen(n int) int {
	l := 0
	for 1<<l < n {
		l++
	}
	return l
}
