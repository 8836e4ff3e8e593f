package proof

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// ProtocolID is the libp2p stream protocol that carries a challenge: the
// verifier sends a Challenge, the prover a Commitment, the verifier an
// OpenRequest, the prover Openings, and the verifier its Verdict.
const ProtocolID = "/gpumesh/challenge/1"

// WireVersion is the version of the messages' binary encoding, written in
// the second byte of every message; a decoder refuses any other.
//
// Changelog:
//   - 1: challenge, commitment, open request, openings, verdict.
const WireVersion = 1

// Message kinds, the first byte of every message.
const (
	kindChallenge   byte = 'C'
	kindCommitment  byte = 'M'
	kindOpenRequest byte = 'R'
	kindOpenings    byte = 'O'
	kindVerdict     byte = 'V'
)

// Every message starts with its kind and WireVersion; all integers are
// little-endian, as are the fp32 values, whose bytes are the leaves.
const headerSize = 2

// Message sizes, in bytes.
const (
	// ChallengeSize is the size of every encoded Challenge.
	ChallengeSize = headerSize + challengeBodySize
	// CommitmentSize is the size of every encoded Commitment.
	CommitmentSize = headerSize + 32 + 4 + 32 + 8
	// MaxVerdictSize is the largest encoded Verdict.
	MaxVerdictSize = headerSize + 32 + 1 + 8 + 8 + 2 + MaxDetail
)

// MaxOpenRequestSize is the largest encoded OpenRequest for a challenge
// opening r rows: a count and r row indexes.
func MaxOpenRequestSize(r int) int { return headerSize + 32 + 4 + 4*max(r, 0) }

// MaxOpeningsSize is the largest encoded Openings for a challenge of size n
// opening r rows: per row, its index, its value count, n fp32 values, the
// proof length and at most ceil(log2 n) 32-byte hashes.
func MaxOpeningsSize(n, r int) int {
	return headerSize + 32 + 4 + max(r, 0)*openingSize(n, proofLen(n))
}

// openingSize is the encoded size of one opened row of n values with a
// proof of p hashes.
func openingSize(n, p int) int { return 4 + 4 + 4*max(n, 0) + 1 + tlog.HashSize*p }

// header appends a message header.
func header(kind byte, size int) []byte { return headerOf(kind, WireVersion, size) }

// decoder reads a message front to back; the first problem sticks.
type decoder struct {
	b   []byte
	err error
}

// take returns the next k bytes, or nil and a sticky ErrMalformed if fewer remain.
func (d *decoder) take(k int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if k < 0 || k > len(d.b) {
		d.err = fmt.Errorf("%w: truncated %s: need %d bytes, %d left", ErrMalformed, what, k, len(d.b))
		return nil
	}
	out := d.b[:k]
	d.b = d.b[k:]
	return out
}

func (d *decoder) u8(what string) byte {
	if b := d.take(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u32(what string) uint32 {
	if b := d.take(4, what); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64(what string) uint64 {
	if b := d.take(8, what); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) hash(what string) (h [32]byte) {
	copy(h[:], d.take(32, what))
	return h
}

// header checks the message's kind and version.
func (d *decoder) header(kind byte, name string) { d.headerOf(kind, WireVersion, name) }

// finish returns the first problem, or ErrMalformed if bytes are left over.
func (d *decoder) finish(name string) error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes after %s", ErrMalformed, len(d.b), name)
	}
	return d.err
}

// tooLarge returns an ErrTooLarge error if size > limit.
func tooLarge(name string, size, limit int) error {
	if size > limit {
		return fmt.Errorf("%w: %s of %d bytes, at most %d", ErrTooLarge, name, size, limit)
	}
	return nil
}

// Marshal encodes the challenge. It refuses one that does not pass
// Validate with the largest limits (ErrInvalid).
func (c Challenge) Marshal() ([]byte, error) {
	if err := c.Validate(widest); err != nil {
		return nil, fmt.Errorf("marshal challenge: %w", err)
	}
	return c.appendBody(header(kindChallenge, ChallengeSize)), nil
}

// UnmarshalChallenge decodes a challenge and validates it under limits l:
// errors wrap ErrTooLarge, ErrMalformed or ErrInvalid (an absurd n, r > n, a
// deadline out of range).
func UnmarshalChallenge(data []byte, l Limits) (Challenge, error) {
	if err := tooLarge("challenge", len(data), ChallengeSize); err != nil {
		return Challenge{}, err
	}
	d := decoder{b: data}
	d.header(kindChallenge, "challenge")
	var c Challenge
	c.Version = d.u8("challenge version")
	c.Seed = d.hash("seed")
	copy(c.Nonce[:], d.take(len(c.Nonce), "nonce"))
	c.N = int(d.u32("n"))
	code := d.u8("number type")
	c.Rows = int(d.u32("rows"))
	c.Deadline = time.Duration(d.u64("deadline"))
	t, err := d.typed("challenge", code)
	if err != nil {
		return Challenge{}, err
	}
	c.Type = t
	if err := c.Validate(l); err != nil {
		return Challenge{}, err
	}
	return c, nil
}

// Marshal encodes the commitment. It refuses an n or elapsed time that
// does not fit the encoding (ErrInvalid).
func (c Commitment) Marshal() ([]byte, error) {
	if c.N < 0 || c.N > math.MaxUint32 || c.Elapsed < 0 {
		return nil, fmt.Errorf("marshal commitment: %w: n = %d, elapsed %s", ErrInvalid, c.N, c.Elapsed)
	}
	return appendCommitment(header(kindCommitment, CommitmentSize), c.Challenge, c.N, c.Root, c.Elapsed), nil
}

// UnmarshalCommitment decodes a commitment to ch and validates it: errors
// wrap ErrTooLarge, ErrMalformed, ErrWrongChallenge (another challenge's ID
// or n: a replay) or ErrInvalid.
func UnmarshalCommitment(data []byte, ch Challenge) (Commitment, error) {
	if err := tooLarge("commitment", len(data), CommitmentSize); err != nil {
		return Commitment{}, err
	}
	d := decoder{b: data}
	d.header(kindCommitment, "commitment")
	var c Commitment
	c.Challenge, c.N, c.Root, c.Elapsed = d.commitment("n")
	if err := d.finish("commitment"); err != nil {
		return Commitment{}, err
	}
	if err := c.Validate(ch); err != nil {
		return Commitment{}, err
	}
	return c, nil
}

// Marshal encodes the request. It refuses row indexes that do not fit the
// encoding (ErrInvalid).
func (r OpenRequest) Marshal() ([]byte, error) {
	b := header(kindOpenRequest, MaxOpenRequestSize(len(r.Rows)))
	return appendPicks(b, r.Challenge, r.Rows, "row")
}

// UnmarshalOpenRequest decodes a request for ch's rows and validates it:
// errors wrap ErrTooLarge (more than MaxOpenRequestSize(ch.Rows) bytes),
// ErrMalformed, ErrWrongChallenge or ErrInvalid.
func UnmarshalOpenRequest(data []byte, ch Challenge) (OpenRequest, error) {
	if err := tooLarge("open request", len(data), MaxOpenRequestSize(ch.Rows)); err != nil {
		return OpenRequest{}, err
	}
	d := decoder{b: data}
	d.header(kindOpenRequest, "open request")
	var r OpenRequest
	r.Challenge = d.hash("challenge id")
	rows, err := d.picks("row", "%d rows announced, %d bytes of rows")
	if err != nil {
		return OpenRequest{}, err
	}
	r.Rows = rows
	if err := d.finish("open request"); err != nil {
		return OpenRequest{}, err
	}
	if err := r.Validate(ch); err != nil {
		return OpenRequest{}, err
	}
	return r, nil
}

// Marshal encodes the openings as they are, wrong sizes included, so that
// tests can send them; it refuses only what does not fit the encoding: an
// index or count over 32 bits, a proof of more than 255 hashes (ErrInvalid).
func (o Openings) Marshal() ([]byte, error) {
	return appendOpenings(WireVersion, o.Challenge, rowLeavesOf(o.Rows), rowWords)
}

// UnmarshalOpenings decodes openings of ch's rows and validates them:
// errors wrap ErrTooLarge (more than MaxOpeningsSize(ch.N, ch.Rows) bytes),
// ErrMalformed (truncated, a row of other than n values, too many rows or
// proof hashes) or ErrWrongChallenge. It allocates only after checking that
// the bytes for it are there.
func UnmarshalOpenings(data []byte, ch Challenge) (Openings, error) {
	if err := tooLarge("openings", len(data), MaxOpeningsSize(ch.N, ch.Rows)); err != nil {
		return Openings{}, err
	}
	d := decoder{b: data}
	d.header(kindOpenings, "openings")
	var o Openings
	o.Challenge = d.hash("challenge id")
	leaves, err := d.openings(ch.Rows, ch.N, proofLen(ch.N), rowWords)
	if err != nil {
		return Openings{}, err
	}
	for _, l := range leaves {
		o.Rows = append(o.Rows, Opening{Index: l.index, Values: l.values, Proof: l.proof})
	}
	if err := d.finish("openings"); err != nil {
		return Openings{}, err
	}
	if err := o.Validate(ch); err != nil {
		return Openings{}, err
	}
	return o, nil
}

// Marshal encodes the verdict. It refuses one that does not pass Validate.
func (v Verdict) Marshal() ([]byte, error) {
	if err := v.Validate(); err != nil {
		return nil, fmt.Errorf("marshal verdict: %w", err)
	}
	b := header(kindVerdict, MaxVerdictSize)
	b = append(b, v.Challenge[:]...)
	b = append(b, v.Result.code())
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Throughput))
	b = binary.LittleEndian.AppendUint64(b, uint64(v.Elapsed))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v.Detail)))
	return append(b, v.Detail...), nil
}

// UnmarshalVerdict decodes a verdict and validates it: errors wrap
// ErrTooLarge, ErrMalformed or ErrInvalid.
func UnmarshalVerdict(data []byte) (Verdict, error) {
	if err := tooLarge("verdict", len(data), MaxVerdictSize); err != nil {
		return Verdict{}, err
	}
	d := decoder{b: data}
	d.header(kindVerdict, "verdict")
	var v Verdict
	v.Challenge = d.hash("challenge id")
	code := d.u8("result")
	v.Throughput = math.Float64frombits(d.u64("throughput"))
	v.Elapsed = time.Duration(d.u64("elapsed"))
	var detail []byte
	if b := d.take(2, "detail length"); b != nil {
		detail = d.take(int(binary.LittleEndian.Uint16(b)), "detail")
	}
	if err := d.finish("verdict"); err != nil {
		return Verdict{}, err
	}
	r, ok := resultOf(code)
	if !ok {
		return Verdict{}, fmt.Errorf("%w: unknown result code %d", ErrMalformed, code)
	}
	v.Result, v.Detail = r, string(detail)
	if err := v.Validate(); err != nil {
		return Verdict{}, err
	}
	return v, nil
}
