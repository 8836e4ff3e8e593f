package proof

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// tree is an RFC 6962 Merkle tree (tlog) over a prover's leaves, kept as
// its stored hashes in tlog's order: version 1's rows of C and version 2's
// products' digest rows alike.
type tree struct {
	stored []tlog.Hash
}

// buildTree returns the tree over the leaf hashes and its root.
func buildTree(leaves []tlog.Hash) (*tree, tlog.Hash, error) {
	t := &tree{stored: make([]tlog.Hash, 0, tlog.StoredHashCount(int64(len(leaves))))}
	for i, h := range leaves {
		hs, err := tlog.StoredHashesForRecordHash(int64(i), h, t.reader())
		if err != nil {
			return nil, tlog.Hash{}, fmt.Errorf("tree: %w", err)
		}
		t.stored = append(t.stored, hs...)
	}
	root, err := tlog.TreeHash(int64(len(leaves)), t.reader())
	if err != nil {
		return nil, tlog.Hash{}, fmt.Errorf("tree hash: %w", err)
	}
	return t, root, nil
}

// prove returns the inclusion proof of leaf i of a tree of size leaves.
func (t *tree) prove(size, i int) (tlog.RecordProof, error) {
	return tlog.ProveRecord(int64(size), int64(i), t.reader())
}

// reader reads the tree's stored hashes.
func (t *tree) reader() tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if x < 0 || x >= int64(len(t.stored)) {
				return nil, fmt.Errorf("stored hash %d of %d", x, len(t.stored))
			}
			out[i] = t.stored[x]
		}
		return out, nil
	})
}

// rowLeaves returns the leaf hashes of values cut into rows of n.
func rowLeaves(values []float32, n int) []tlog.Hash {
	leaves := make([]tlog.Hash, len(values)/n)
	buf := make([]byte, 4*n)
	for i := range leaves {
		leaves[i] = leafHash(values[i*n:(i+1)*n], buf)
	}
	return leaves
}
