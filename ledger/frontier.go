package ledger

import (
	"math/bits"

	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// frontier is the right edge of the Merkle tree over the first n entries:
// the root of each complete subtree it splits into, one per set bit of n.
// They are exactly the stored hashes that appending entry n reads
// (tlog.StoredHashes), so the committer keeps them in memory and appends
// without reading any hash back from Badger. It is a value: the committer
// works on a copy and keeps it only once the batch is committed.
type frontier struct {
	n     int64
	nodes [64]merkle.Hash // nodes[level] is the subtree at that level, where bit level of n is set
}

// add appends the entry whose canonical bytes hash to leaf and returns the
// hashes to store with it, the same as merkle.StoredHashes(n, ...): the
// leaf hash, then one hash per subtree the entry completes, level by level.
func (f *frontier) add(leaf merkle.Hash) []merkle.Hash {
	k := bits.TrailingZeros64(^uint64(f.n)) // levels completed
	hs := make([]merkle.Hash, 1, 1+k)
	hs[0] = leaf
	h := leaf
	for level := 0; level < k; level++ {
		h = merkle.NodeHash(f.nodes[level], h)
		hs = append(hs, h)
	}
	f.nodes[k] = h
	f.n++
	return hs
}

// loadFrontier reads the frontier of the tree over the first n entries.
func loadFrontier(n int64, s merkle.HashStore) (frontier, error) {
	f := frontier{n: n}
	var levels []int
	var idx []int64
	for level := 0; level < 63; level++ {
		if n>>level&1 == 1 {
			levels = append(levels, level)
			idx = append(idx, merkle.StoredHashIndex(level, n>>level-1))
		}
	}
	hs, err := s.ReadHashes(idx)
	if err != nil {
		return frontier{}, err
	}
	for i, level := range levels {
		f.nodes[level] = hs[i]
	}
	return f, nil
}
