package ledger

import (
	"encoding/binary"
	"math/bits"

	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// Badger key layout. Every key starts with one prefix byte:
//
//	m count             -> uint64 number of entries
//	m layout            -> uint64 layoutVersion
//	e <index>           -> canonical entry bytes
//	h <index>           -> the Merkle hashes stored with entry index, 32 bytes each
//	r <receipt id>      -> uint64 index
//	j <job> <index>     -> nothing (ByJob)
//	p <peer> <index>    -> nothing (ByPeer; the party that is not this node)
//	l <key>             -> uint64 index, uint64 seq of the latest receipt for the work
//
// Integers are big-endian uint64, strings carry a 2-byte length, so that
// keys sort by index and no string is a prefix of another.
//
// Appending entry i stores 1 + (trailing one bits of i) tree hashes (tlog's
// layout: the leaf hash, then the hash of each subtree entry i completes,
// level by level), two on average; they are kept together under h <i>, so
// the stored hash at storage index x (merkle.StoredHashIndex(level, n)) is
// hash number level of entry ((n+1) << level) - 1. Every entry names this
// node as a party, so its own peer ID is not indexed (ByPeer of it is every
// entry), and entry times never go backwards, so Range searches the entries
// themselves instead of a time index.
const (
	pCount   = 'm'
	pEntry   = 'e'
	pHash    = 'h'
	pReceipt = 'r'
	pJob     = 'j'
	pPeer    = 'p'
	pLatest  = 'l'
)

var countKey = []byte{pCount, 'c', 'o', 'u', 'n', 't'}

// layoutKey holds layoutVersion, written with the first batch. Version 1
// (no key) kept one key per stored hash and a time index; Open refuses it.
var layoutKey = []byte{pCount, 'l', 'a', 'y', 'o', 'u', 't'}

const layoutVersion = 2

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
func indexSuffix(key []byte) int64 { return int64(binary.BigEndian.Uint64(key[len(key)-8:])) }

// hashSlot is where the stored hash at storage index x lives: the entry
// whose h key holds it and its position there.
func hashSlot(x int64) (entry int64, pos int) {
	level, n := merkle.SplitStoredHashIndex(x)
	return (n+1)<<level - 1, level
}

// hashesStored is how many tree hashes entry i stores.
func hashesStored(i int64) int { return 1 + bits.TrailingZeros64(^uint64(i)) }

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
