package ledger

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gpumesh/gpumesh/ledger/merkle"
	"github.com/libp2p/go-libp2p/core/record"
)

// KindReceipt is the Kind of entries holding a Signed receipt.
const KindReceipt = "receipt"

// entryVersion is the first byte of an entry's canonical encoding.
const entryVersion = 1

// maxKind bounds Entry.Kind.
const maxKind = 32

// Entry is one record of the log. Its canonical encoding (Encode) is the
// Merkle leaf, and its Hash, the RFC 6962 leaf hash of that encoding, is
// the next entry's Prev: the log is a hash chain and a Merkle tree over
// the same bytes.
type Entry struct {
	// Index numbers entries from 0.
	Index int64 `json:"index"`
	// Prev is the Hash of entry Index-1; zero for entry 0.
	Prev merkle.Hash `json:"prev"`
	// Time is when the entry was appended (UTC, millisecond precision).
	Time time.Time `json:"time"`
	// Kind says what Data holds: KindReceipt.
	Kind string `json:"kind"`
	// Data is the marshalled Signed receipt.
	Data []byte `json:"data"`
	// Hash is merkle.LeafHash(Encode()); set by DecodeEntry and the log.
	Hash merkle.Hash `json:"hash"`
}

// Encode returns the entry's canonical bytes: a version byte, Index and
// Time in Unix milliseconds as big-endian int64, Prev, then Kind and Data
// each with a uvarint length.
func (e *Entry) Encode() []byte {
	b := make([]byte, 0, 1+8+8+32+2+len(e.Kind)+binary.MaxVarintLen64+len(e.Data))
	b = append(b, entryVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Index))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixMilli()))
	b = append(b, e.Prev[:]...)
	b = binary.AppendUvarint(b, uint64(len(e.Kind)))
	b = append(b, e.Kind...)
	b = binary.AppendUvarint(b, uint64(len(e.Data)))
	b = append(b, e.Data...)
	return b
}

// DecodeEntry decodes canonical entry bytes and sets Hash. It checks form
// only: the chain and the receipt are checked by the log.
func DecodeEntry(b []byte) (Entry, error) {
	const fixed = 1 + 8 + 8 + merkle.HashSize
	if len(b) < fixed || b[0] != entryVersion {
		return Entry{}, fmt.Errorf("decode entry: %d bytes, not a version %d entry", len(b), entryVersion)
	}
	var e Entry
	e.Index = int64(binary.BigEndian.Uint64(b[1:]))
	if e.Index < 0 {
		return Entry{}, fmt.Errorf("decode entry: negative index")
	}
	e.Time = time.UnixMilli(int64(binary.BigEndian.Uint64(b[9:]))).UTC()
	copy(e.Prev[:], b[17:fixed])
	rest := b[fixed:]
	next := func(name string, max int) ([]byte, error) {
		n, k := binary.Uvarint(rest)
		// Only the minimal encoding: one entry, one byte string, one hash.
		if k <= 0 || k != len(binary.AppendUvarint(nil, n)) || n > uint64(len(rest)-k) || n > uint64(max) {
			return nil, fmt.Errorf("decode entry %d: bad %s length", e.Index, name)
		}
		p := rest[k : k+int(n)]
		rest = rest[k+int(n):]
		return p, nil
	}
	kind, err := next("kind", maxKind)
	if err != nil {
		return Entry{}, err
	}
	e.Kind = string(kind)
	data, err := next("data", MaxSignedSize)
	if err != nil {
		return Entry{}, err
	}
	if len(rest) != 0 {
		return Entry{}, fmt.Errorf("decode entry %d: %d trailing bytes", e.Index, len(rest))
	}
	e.Data = append([]byte(nil), data...)
	e.Hash = merkle.LeafHash(b)
	return e, nil
}

// Signed decodes the entry's Data.
func (e *Entry) Signed() (Signed, error) {
	if e.Kind != KindReceipt {
		return Signed{}, fmt.Errorf("entry %d holds %q, not a receipt", e.Index, e.Kind)
	}
	return UnmarshalSigned(e.Data)
}

// Receipt decodes the receipt in the entry without checking signatures
// again: the log verified them when it appended the entry, and
// Log.Verify re-checks them.
func (e *Entry) Receipt() (Receipt, error) {
	s, err := e.Signed()
	if err != nil {
		return Receipt{}, err
	}
	env, err := record.UnmarshalEnvelope(s.Provider)
	if err != nil {
		return Receipt{}, fmt.Errorf("entry %d: %w: %v", e.Index, ErrMalformed, err)
	}
	var r Receipt
	if err := json.Unmarshal(env.RawPayload, &r); err != nil {
		return Receipt{}, fmt.Errorf("entry %d: %w: %v", e.Index, ErrMalformed, err)
	}
	return r, nil
}
