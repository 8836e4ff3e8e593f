package proof

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// This file holds the encoding versions 1 and 2 share: the header, and
// the openings, whose leaves (rows of C, or products' digest rows) are
// encoded alike under their own version byte.

// headerOf appends a message header of kind and wire version.
func headerOf(kind, version byte, size int) []byte {
	b := make([]byte, 0, size)
	return append(b, kind, version)
}

// headerOf checks the message's kind and wire version.
func (d *decoder) headerOf(kind, version byte, name string) {
	k, v := d.u8("kind"), d.u8("version")
	if d.err == nil && k != kind {
		d.err = fmt.Errorf("%w: kind %q, want %q (%s)", ErrMalformed, k, kind, name)
	}
	if d.err == nil && v != version {
		d.err = fmt.Errorf("%w: %s version %d, want %d", ErrMalformed, name, v, version)
	}
}

// appendCommitment appends a commitment's body: the challenge ID, the
// tree's size (leaves under the root), the root and the elapsed time.
func appendCommitment(b []byte, id ID, size int, root tlog.Hash, elapsed time.Duration) []byte {
	b = append(b, id[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(size))
	b = append(b, root[:]...)
	return binary.LittleEndian.AppendUint64(b, uint64(elapsed))
}

// commitment decodes a commitment's body; sizeLabel names the tree's
// size in errors.
func (d *decoder) commitment(sizeLabel string) (id ID, size int, root tlog.Hash, elapsed time.Duration) {
	id = d.hash("challenge id")
	size = int(d.u32(sizeLabel))
	root = d.hash("root")
	return id, size, root, time.Duration(d.u64("elapsed"))
}

// appendPicks appends an open request's body: the challenge ID, a count
// and the indexes of the leaves named noun; it refuses an index that does
// not fit the encoding.
func appendPicks(b []byte, id ID, picks []int, noun string) ([]byte, error) {
	b = append(b, id[:]...)
	b = binary.LittleEndian.AppendUint32(b, clampU32(len(picks)))
	for _, i := range picks {
		if i < 0 || i > math.MaxUint32 {
			return nil, fmt.Errorf("marshal open request: %w: %s %d", ErrInvalid, noun, i)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(i))
	}
	return b, nil
}

// picks decodes an open request's indexes after its challenge ID: a
// count, then that many indexes of leaves named noun. mismatch formats
// the error, from the count and the bytes left, when they disagree.
func (d *decoder) picks(noun, mismatch string) ([]int, error) {
	count := d.u32(noun + " count")
	if d.err == nil && uint64(count)*4 != uint64(len(d.b)) {
		return nil, fmt.Errorf("%w: "+mismatch, ErrMalformed, count, len(d.b))
	}
	if d.err != nil {
		return nil, nil
	}
	picks := make([]int, count)
	for k := range picks {
		picks[k] = int(d.u32(noun))
	}
	return picks, nil
}

// typed finishes a message named name whose number type is code: the
// first problem, or the type.
func (d *decoder) typed(name string, code byte) (NumberType, error) {
	if err := d.finish(name); err != nil {
		return "", err
	}
	t, ok := numberTypeOf(code)
	if !ok {
		return "", fmt.Errorf("%w: unknown number type code %d", ErrMalformed, code)
	}
	return t, nil
}

// appendOpenings encodes openings of leaves for challenge id as they are,
// wrong sizes included; it refuses only what does not fit the encoding.
func appendOpenings(version byte, id ID, leaves []leaf, w leafWords) ([]byte, error) {
	size := headerSize + 32 + 4
	for _, l := range leaves {
		if l.index < 0 || l.index > math.MaxUint32 || len(l.values) > math.MaxUint32 || len(l.proof) > math.MaxUint8 {
			return nil, fmt.Errorf("marshal openings: %w: %s %d with %d %s and %d proof hashes", ErrInvalid, w.leaf, l.index, len(l.values), w.values, len(l.proof))
		}
		size += openingSize(len(l.values), len(l.proof))
	}
	b := headerOf(kindOpenings, version, size)
	b = append(b, id[:]...)
	b = binary.LittleEndian.AppendUint32(b, clampU32(len(leaves)))
	for _, l := range leaves {
		b = binary.LittleEndian.AppendUint32(b, uint32(l.index))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(l.values)))
		for _, v := range l.values {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		b = append(b, byte(len(l.proof)))
		for _, h := range l.proof {
			b = append(b, h[:]...)
		}
	}
	return b, nil
}

// openings decodes the body of an openings message after its challenge
// ID: 1 to most leaves of n values each, with proofs of at most maxProof
// hashes. It allocates only after checking that the bytes for it are
// there; errors wrap ErrMalformed.
func (d *decoder) openings(most, n, maxProof int, w leafWords) ([]leaf, error) {
	count := d.u32(w.leaf + " count")
	if d.err == nil && (count < 1 || uint64(count) > uint64(most)) {
		return nil, fmt.Errorf("%w: %d %ss opened, want 1 to %d", ErrMalformed, count, w.leaf, most)
	}
	if d.err == nil && uint64(count)*uint64(openingSize(n, 0)) > uint64(len(d.b)) {
		return nil, fmt.Errorf("%w: %d %ss announced, only %d bytes left", ErrMalformed, count, w.leaf, len(d.b))
	}
	var leaves []leaf
	if d.err == nil {
		leaves = make([]leaf, 0, count)
	}
	for k := 0; d.err == nil && k < int(count); k++ {
		l, err := d.opening(k, n, maxProof, w)
		if err != nil {
			return nil, err
		}
		leaves = append(leaves, l)
	}
	return leaves, nil
}

// opening decodes opening k: its index, n values and proof.
func (d *decoder) opening(k, n, maxProof int, w leafWords) (leaf, error) {
	var l leaf
	l.index = int(d.u32(w.leaf + " index"))
	values := d.u32(w.count)
	if d.err == nil && uint64(values) != uint64(n) {
		return l, w.wrongCount(k, l.index, uint64(values), n)
	}
	if raw := d.take(4*n, w.raw); raw != nil {
		l.values = make([]float32, n)
		for j := range l.values {
			l.values[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
		}
	}
	pl := d.u8("proof length")
	if d.err == nil && int(pl) > maxProof {
		return l, fmt.Errorf("%w: opening %d: proof of %d hashes, at most %d", ErrMalformed, k, pl, maxProof)
	}
	if raw := d.take(tlog.HashSize*int(pl), "proof"); raw != nil {
		l.proof = make(tlog.RecordProof, pl)
		for h := range l.proof {
			copy(l.proof[h][:], raw[tlog.HashSize*h:])
		}
	}
	return l, nil
}
