package proof

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// WireVersion2 is the wire version of the version 2 messages: the same
// kinds and header as version 1 with 2 in the version byte, so a version 1
// decoder refuses them by name and a node reads the first byte pair of a
// challenge to choose (ChallengeWireVersion). Verdicts stay version 1.
//
// Changelog:
//   - 2: challenge, commitment, open request and openings of Challenge2.
const WireVersion2 = 2

// Version 2 message sizes, in bytes.
const (
	// Challenge2Size is the size of every encoded Challenge2.
	Challenge2Size = headerSize + challenge2BodySize
	// Commitment2Size is the size of every encoded Commitment2.
	Commitment2Size = headerSize + 32 + 4 + 32 + 8
	// MaxOpenRequest2Size is the largest encoded OpenRequest2.
	MaxOpenRequest2Size = headerSize + 32 + 4 + 4*MaxSamples2
)

// MaxOpenings2Size is the largest encoded Openings2 for ch: per opened
// product its index, digest count, n fp32 digests, proof length and at
// most ceil(log2 K) hashes. At n = 4096, K = 4096 and s = 32: 525 KiB.
func MaxOpenings2Size(ch Challenge2) int {
	per := 4 + 4 + 4*max(ch.N, 0) + 1 + tlog.HashSize*proofLen(ch.Products)
	return headerSize + 32 + 4 + max(ch.Samples, 0)*per
}

// ChallengeWireVersion returns the wire version of an encoded challenge
// (1 or 2), so that a node can pick its decoder; 0 if data is not a
// challenge.
func ChallengeWireVersion(data []byte) int {
	if len(data) < headerSize || data[0] != kindChallenge {
		return 0
	}
	return int(data[1])
}

// header2 appends a version 2 message header.
func header2(kind byte, size int) []byte { return headerOf(kind, WireVersion2, size) }

// header2 checks a version 2 message's kind and version.
func (d *decoder) header2(kind byte, name string) { d.headerOf(kind, WireVersion2, name) }

// Marshal encodes the challenge; it refuses one that does not pass
// Validate with the widest limits.
func (c Challenge2) Marshal() ([]byte, error) {
	if err := c.Validate(widest2); err != nil {
		return nil, fmt.Errorf("marshal challenge: %w", err)
	}
	return c.appendBody(header2(kindChallenge, Challenge2Size)), nil
}

// UnmarshalChallenge2 decodes a version 2 challenge and validates it under
// l: errors wrap ErrTooLarge, ErrMalformed or ErrInvalid.
func UnmarshalChallenge2(data []byte, l Limits2) (Challenge2, error) {
	if err := tooLarge("challenge", len(data), Challenge2Size); err != nil {
		return Challenge2{}, err
	}
	d := decoder{b: data}
	d.header2(kindChallenge, "challenge")
	var c Challenge2
	c.Version = d.u8("challenge version")
	c.Seed = d.hash("seed")
	copy(c.Nonce[:], d.take(len(c.Nonce), "nonce"))
	c.N = int(d.u32("n"))
	code := d.u8("number type")
	c.Pool = int(d.u32("pool"))
	c.Products = int(d.u32("products"))
	c.Samples = int(d.u32("samples"))
	c.Deadline = time.Duration(d.u64("deadline"))
	t, err := d.typed("challenge", code)
	if err != nil {
		return Challenge2{}, err
	}
	c.Type = t
	if err := c.Validate(l); err != nil {
		return Challenge2{}, err
	}
	return c, nil
}

// Marshal encodes the commitment.
func (c Commitment2) Marshal() ([]byte, error) {
	if c.Products < 0 || c.Products > math.MaxUint32 || c.Elapsed < 0 {
		return nil, fmt.Errorf("marshal commitment: %w: products %d, elapsed %s", ErrInvalid, c.Products, c.Elapsed)
	}
	return appendCommitment(header2(kindCommitment, Commitment2Size), c.Challenge, c.Products, c.Root, c.Elapsed), nil
}

// UnmarshalCommitment2 decodes a commitment to ch and validates it.
func UnmarshalCommitment2(data []byte, ch Challenge2) (Commitment2, error) {
	if err := tooLarge("commitment", len(data), Commitment2Size); err != nil {
		return Commitment2{}, err
	}
	d := decoder{b: data}
	d.header2(kindCommitment, "commitment")
	var c Commitment2
	c.Challenge, c.Products, c.Root, c.Elapsed = d.commitment("products")
	if err := d.finish("commitment"); err != nil {
		return Commitment2{}, err
	}
	if err := c.Validate(ch); err != nil {
		return Commitment2{}, err
	}
	return c, nil
}

// Marshal encodes the request.
func (r OpenRequest2) Marshal() ([]byte, error) {
	if len(r.Products) > MaxSamples2 {
		return nil, fmt.Errorf("marshal open request: %w: %d products", ErrInvalid, len(r.Products))
	}
	b := header2(kindOpenRequest, MaxOpenRequest2Size)
	return appendPicks(b, r.Challenge, r.Products, "product")
}

// UnmarshalOpenRequest2 decodes a request for ch's products and validates it.
func UnmarshalOpenRequest2(data []byte, ch Challenge2) (OpenRequest2, error) {
	if err := tooLarge("open request", len(data), MaxOpenRequest2Size); err != nil {
		return OpenRequest2{}, err
	}
	d := decoder{b: data}
	d.header2(kindOpenRequest, "open request")
	var r OpenRequest2
	r.Challenge = d.hash("challenge id")
	products, err := d.picks("product", "%d products announced, %d bytes of them")
	if err != nil {
		return OpenRequest2{}, err
	}
	r.Products = products
	if err := d.finish("open request"); err != nil {
		return OpenRequest2{}, err
	}
	if err := r.Validate(ch); err != nil {
		return OpenRequest2{}, err
	}
	return r, nil
}

// Marshal encodes the openings as they are, wrong sizes included; it
// refuses only what does not fit the encoding.
func (o Openings2) Marshal() ([]byte, error) {
	return appendOpenings(WireVersion2, o.Challenge, productLeavesOf(o.Products), productWords)
}

// UnmarshalOpenings2 decodes openings of ch's products and validates them:
// errors wrap ErrTooLarge (over MaxOpenings2Size), ErrMalformed or
// ErrWrongChallenge. It allocates only after checking the bytes are there.
func UnmarshalOpenings2(data []byte, ch Challenge2) (Openings2, error) {
	if err := tooLarge("openings", len(data), MaxOpenings2Size(ch)); err != nil {
		return Openings2{}, err
	}
	d := decoder{b: data}
	d.header2(kindOpenings, "openings")
	var o Openings2
	o.Challenge = d.hash("challenge id")
	leaves, err := d.openings(ch.Samples, ch.N, proofLen(ch.Products), productWords)
	if err != nil {
		return Openings2{}, err
	}
	for _, l := range leaves {
		o.Products = append(o.Products, Opening2{Index: l.index, Digests: l.values, Proof: l.proof})
	}
	if err := d.finish("openings"); err != nil {
		return Openings2{}, err
	}
	if err := o.Validate(ch); err != nil {
		return Openings2{}, err
	}
	return o, nil
}
