package ledger

import (
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// Head returns the number of entries and the Merkle root over them.
func (l *Log) Head() (size int64, root merkle.Hash, err error) {
	err = l.view(func(txn *badger.Txn) error {
		size = l.size
		root, err = merkle.Root(size, txnStore{txn})
		return err
	})
	return size, root, err
}

// RootAt returns the Merkle root of the first n entries.
func (l *Log) RootAt(n int64) (merkle.Hash, error) {
	var root merkle.Hash
	err := l.view(func(txn *badger.Txn) error {
		if n < 0 || n > l.size {
			return fmt.Errorf("root at %d of %d entries: %w", n, l.size, ErrNotFound)
		}
		var err error
		root, err = merkle.Root(n, txnStore{txn})
		return err
	})
	return root, err
}

// InclusionProof returns the proof that entry index is in the tree of the
// first size entries; its leaf hash is the entry's Hash.
func (l *Log) InclusionProof(index, size int64) ([]merkle.Hash, error) {
	var p []merkle.Hash
	err := l.view(func(txn *badger.Txn) error {
		if size > l.size {
			return fmt.Errorf("inclusion proof in size %d of %d entries: %w", size, l.size, ErrNotFound)
		}
		var err error
		p, err = merkle.InclusionProof(index, size, txnStore{txn})
		return err
	})
	return p, err
}

// ConsistencyProof returns the proof that the tree of the first newSize
// entries extends that of the first oldSize.
func (l *Log) ConsistencyProof(oldSize, newSize int64) ([]merkle.Hash, error) {
	var p []merkle.Hash
	err := l.view(func(txn *badger.Txn) error {
		if newSize > l.size {
			return fmt.Errorf("consistency proof to size %d of %d entries: %w", newSize, l.size, ErrNotFound)
		}
		var err error
		p, err = merkle.ConsistencyProof(oldSize, newSize, txnStore{txn})
		return err
	})
	return p, err
}
