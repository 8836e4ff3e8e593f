package ledger

import (
	"encoding/binary"

	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// Badger key layout. Every key starts with one prefix byte:
//
//	m count             -> uint64 number of entries
//	e <index>           -> canonical entry bytes
//	h <storage index>   -> 32-byte Merkle stored hash (merkle.StoredHashIndex)
//	r <receipt id>      -> uint64 index
//	j <job> <index>     -> nothing (ByJob)
//	p <peer> <index>    -> nothing (ByPeer; both parties)
//	t <ms> <index>      -> nothing (Range, by entry time)
//	l <key>             -> uint64 index, uint64 seq of the latest receipt for the work
//
// Integers are big-endian uint64, strings carry a 2-byte length, so that
// keys sort by index and no string is a prefix of another.
const (
	pCount   = 'm'
	pEntry   = 'e'
	pHash    = 'h'
	pReceipt = 'r'
	pJob     = 'j'
	pPeer    = 'p'
	pTime    = 't'
	pLatest  = 'l'
)

var countKey = []byte{pCount, 'c', 'o', 'u', 'n', 't'}

func u64(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

func str(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func entryKey(i int64) []byte      { return u64([]byte{pEntry}, i) }
func hashKey(i int64) []byte       { return u64([]byte{pHash}, i) }
func receiptKey(id string) []byte  { return append([]byte{pReceipt}, id...) }
func jobPrefix(job string) []byte  { return str([]byte{pJob}, job) }
func peerPrefix(p string) []byte   { return str([]byte{pPeer}, p) }
func timeKey(ms, i int64) []byte   { return u64(u64([]byte{pTime}, ms), i) }
func indexSuffix(key []byte) int64 { return int64(binary.BigEndian.Uint64(key[len(key)-8:])) }
func hashFromValue(v []byte) (merkle.Hash, bool) {
	var h merkle.Hash
	if len(v) != merkle.HashSize {
		return h, false
	}
	copy(h[:], v)
	return h, true
}

func latestKey(k Key) []byte {
	b := str(str(str([]byte{pLatest}, k.Provider), k.Requester), k.Job)
	return u64(u64(b, int64(k.Rank)), int64(k.Attempt))
}

func latestValue(index int64, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(u64(nil, index), seq)
}

func parseLatest(v []byte) (index int64, seq uint64, ok bool) {
	if len(v) != 16 {
		return 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(v)), binary.BigEndian.Uint64(v[8:]), true
}
