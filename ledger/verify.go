package ledger

import (
	"context"
	"encoding/binary"
	"errors"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// Verify walks the whole log and returns a *CorruptError naming the first
// entry that fails: it does not decode or is missing, its Prev is not the
// previous entry's Hash, its Merkle stored hashes differ from those
// recomputed from it and the tree before it, its receipt fails Verify or
// names neither party as this node, or the receipt index does not point at
// it. Badger's checksums, verified on every read, turn a damaged file into
// a read error reported the same way. Nothing is skipped.
func (l *Log) Verify(ctx context.Context) error {
	self := l.opts.Self.String()
	return l.view(func(txn *badger.Txn) error {
		n, err := readCount(txn)
		if err != nil {
			return err
		}
		if n < l.size {
			return corrupt(n, nil, "count says %d entries, %d were committed", n, l.size)
		}
		n = l.size
		store := txnStore{txn}
		var prev merkle.Hash
		for i := int64(0); i < n; i++ {
			if i%256 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			e, err := getEntry(txn, i)
			if err != nil {
				return err
			}
			if e.Prev != prev {
				return corrupt(i, nil, "prev hash does not match entry %d", i-1)
			}
			prev = e.Hash
			want, err := merkle.StoredHashes(i, e.Encode(), store)
			if err != nil {
				return corrupt(i, err, "Merkle hashes before this entry unreadable")
			}
			got, err := store.ReadHashes(storedRange(i))
			if err != nil {
				return corrupt(i, err, "Merkle hashes of this entry unreadable")
			}
			for k := range want {
				if got[k] != want[k] {
					return corrupt(i, nil, "stored Merkle hash %d differs from the one recomputed", merkle.StoredHashCount(i)+int64(k))
				}
			}
			s, err := e.Signed()
			if err != nil {
				return corrupt(i, err, "receipt does not decode")
			}
			r, err := Verify(s)
			if err != nil {
				return corrupt(i, err, "receipt fails verification")
			}
			if r.Provider != self && r.Requester != self {
				return corrupt(i, ErrNotParty, "receipt %s", r.ID)
			}
			item, err := txn.Get(receiptKey(r.ID))
			if err != nil {
				return corrupt(i, err, "receipt index for %s missing", r.ID)
			}
			v, err := item.ValueCopy(nil)
			if err != nil || len(v) != 8 || int64(binary.BigEndian.Uint64(v)) != i {
				return corrupt(i, err, "receipt index for %s points elsewhere", r.ID)
			}
		}
		if _, err := txn.Get(entryKey(n)); !errors.Is(err, badger.ErrKeyNotFound) {
			return corrupt(n, err, "entry present past the last committed entry")
		}
		return nil
	})
}

// storedRange is the storage indexes of the hashes stored with entry i.
func storedRange(i int64) []int64 {
	lo, hi := merkle.StoredHashCount(i), merkle.StoredHashCount(i+1)
	out := make([]int64, 0, hi-lo)
	for x := lo; x < hi; x++ {
		out = append(out, x)
	}
	return out
}
