package merkle

import (
	"errors"
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// Hash is a SHA-256 tree hash (tlog's type, so stored hashes need no copy).
type Hash = tlog.Hash

// HashSize is the size of a Hash in bytes.
const HashSize = tlog.HashSize

// Errors returned by the verifiers; wrapped with the sizes involved.
var (
	// ErrRange reports an index or size outside the tree.
	ErrRange = errors.New("merkle: index or size out of range")
	// ErrProofSize reports a proof with the wrong number of hashes for its sizes.
	ErrProofSize = errors.New("merkle: wrong proof size")
	// ErrRootMismatch reports a proof that does not lead to the root given.
	ErrRootMismatch = errors.New("merkle: root mismatch")
)

// HashStore reads stored hashes by their tlog storage index
// (tlog.StoredHashIndex). It returns exactly one hash per index, in order.
type HashStore interface {
	ReadHashes(indexes []int64) ([]Hash, error)
}

// LeafHash is the RFC 6962 leaf hash of data: SHA-256(0x00||data).
func LeafHash(data []byte) Hash { return tlog.RecordHash(data) }

// NodeHash is the RFC 6962 interior node hash: SHA-256(0x01||left||right).
func NodeHash(left, right Hash) Hash { return tlog.NodeHash(left, right) }

// EmptyRoot is the root of the empty tree, SHA-256 of no bytes.
func EmptyRoot() Hash {
	h, _ := tlog.TreeHash(0, nil)
	return h
}

// StoredHashes returns the hashes to store when appending record n (the
// tree then has n+1 leaves), given the hashes already stored for records
// 0..n-1. The i-th hash returned goes at storage index
// StoredHashCount(n)+i; see tlog.StoredHashes.
func StoredHashes(n int64, data []byte, s HashStore) ([]Hash, error) {
	if n < 0 {
		return nil, fmt.Errorf("stored hashes for record %d: %w", n, ErrRange)
	}
	return tlog.StoredHashes(n, data, s)
}

// StoredHashCount is the number of stored hashes for a tree of n records.
func StoredHashCount(n int64) int64 { return tlog.StoredHashCount(n) }

// StoredHashIndex maps a node (level, n) to its storage index; level 0 holds
// the leaf hashes.
func StoredHashIndex(level int, n int64) int64 { return tlog.StoredHashIndex(level, n) }

// SplitStoredHashIndex is the inverse of StoredHashIndex: the node (level,
// n) stored at storage index x.
func SplitStoredHashIndex(x int64) (level int, n int64) { return tlog.SplitStoredHashIndex(x) }

// Root returns the root of the tree of the first size records.
func Root(size int64, s HashStore) (Hash, error) {
	if size < 0 {
		return Hash{}, fmt.Errorf("root of size %d: %w", size, ErrRange)
	}
	return tlog.TreeHash(size, s)
}

// InclusionProof returns the RFC 6962 audit path for leaf index in the tree
// of size records, ordered from the leaf upwards.
func InclusionProof(index, size int64, s HashStore) ([]Hash, error) {
	if index < 0 || size <= index {
		return nil, fmt.Errorf("inclusion proof of %d in size %d: %w", index, size, ErrRange)
	}
	p, err := tlog.ProveRecord(size, index, s)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof of %d in size %d: %w", index, size, err)
	}
	return p, nil
}

// ConsistencyProof returns the RFC 6962 proof that the tree of newSize
// records extends the tree of oldSize records. It is empty when oldSize is 0
// or equals newSize.
func ConsistencyProof(oldSize, newSize int64, s HashStore) ([]Hash, error) {
	if oldSize < 0 || newSize < oldSize {
		return nil, fmt.Errorf("consistency proof %d to %d: %w", oldSize, newSize, ErrRange)
	}
	if oldSize == 0 || oldSize == newSize {
		return []Hash{}, nil
	}
	p, err := tlog.ProveTree(newSize, oldSize, s)
	if err != nil {
		return nil, fmt.Errorf("consistency proof %d to %d: %w", oldSize, newSize, err)
	}
	return p, nil
}

// InclusionProofSize is the number of hashes in the inclusion proof of
// index in a tree of size records (0 when the arguments are out of range).
func InclusionProofSize(index, size int64) int {
	if index < 0 || size <= index {
		return 0
	}
	inner := bits.Len64(uint64(index) ^ uint64(size-1))
	return inner + bits.OnesCount64(uint64(index)>>inner)
}

// ConsistencyProofSize is the number of hashes in the consistency proof from
// oldSize to newSize records (0 when the arguments are out of range).
func ConsistencyProofSize(oldSize, newSize int64) int {
	if oldSize <= 0 || newSize <= oldSize {
		return 0
	}
	n := InclusionProofSize(oldSize-1, newSize)
	shift := bits.TrailingZeros64(uint64(oldSize))
	n -= shift
	if oldSize != 1<<shift {
		n++
	}
	return n
}

// VerifyInclusion checks that proof shows leaf at index in the tree of size
// records with the given root. The error says whether the arguments, the
// proof's length or the root was wrong.
func VerifyInclusion(leaf Hash, index, size int64, proof []Hash, root Hash) error {
	if index < 0 || size <= index {
		return fmt.Errorf("inclusion of leaf %d in size %d: %w", index, size, ErrRange)
	}
	if got, want := len(proof), InclusionProofSize(index, size); got != want {
		return fmt.Errorf("inclusion of leaf %d in size %d: %w: %d hashes, want %d", index, size, ErrProofSize, got, want)
	}
	if err := tlog.CheckRecord(proof, size, root, index, leaf); err != nil {
		return fmt.Errorf("inclusion of leaf %d in size %d: %w: proof does not lead to root %s", index, size, ErrRootMismatch, root)
	}
	return nil
}

// VerifyConsistency checks that proof shows the tree of newSize records with
// newRoot extends the tree of oldSize records with oldRoot. Any tree extends
// the empty tree; equal sizes need equal roots and an empty proof.
func VerifyConsistency(oldSize, newSize int64, oldRoot, newRoot Hash, proof []Hash) error {
	if oldSize < 0 || newSize < oldSize {
		return fmt.Errorf("consistency %d to %d: %w", oldSize, newSize, ErrRange)
	}
	if got, want := len(proof), ConsistencyProofSize(oldSize, newSize); got != want {
		return fmt.Errorf("consistency %d to %d: %w: %d hashes, want %d", oldSize, newSize, ErrProofSize, got, want)
	}
	switch {
	case oldSize == 0:
		return nil
	case oldSize == newSize:
		if oldRoot != newRoot {
			return fmt.Errorf("consistency %d to %d: %w: equal sizes, different roots", oldSize, newSize, ErrRootMismatch)
		}
		return nil
	}
	if err := tlog.CheckTree(proof, newSize, newRoot, oldSize, oldRoot); err != nil {
		return fmt.Errorf("consistency %d to %d: %w: proof does not join root %s to root %s", oldSize, newSize, ErrRootMismatch, oldRoot, newRoot)
	}
	return nil
}
