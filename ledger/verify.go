package ledger

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// Verify walks the whole log and returns a *CorruptError naming the first
// entry that fails: it does not decode or is missing, its Prev is not the
// previous entry's Hash, its time is before the previous entry's, its
// Merkle stored hashes differ from those recomputed from it and the tree
// before it, its receipt fails Verify or names neither party as this node,
// or the receipt, job, peer or latest-receipt index does not agree.
// Badger's checksums, verified on every read, turn a damaged file into a
// read error reported the same way. Nothing is skipped.
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
		var prevTime time.Time
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
			if i > 0 && e.Time.Before(prevTime) {
				return corrupt(i, nil, "time %s before entry %d's", e.Time.Format(time.RFC3339Nano), i-1)
			}
			prev, prevTime = e.Hash, e.Time
			want, err := merkle.StoredHashes(i, e.Encode(), store)
			if err != nil {
				return corrupt(i, err, "Merkle hashes before this entry unreadable")
			}
			got, err := readStored(txn, i)
			if err != nil {
				return corrupt(i, err, "Merkle hashes of this entry unreadable")
			}
			if len(got) != len(want) {
				return corrupt(i, nil, "%d Merkle hashes stored, want %d", len(got), len(want))
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
			if err := checkIndexes(txn, i, r, self); err != nil {
				return err
			}
		}
		if _, err := txn.Get(entryKey(n)); !errors.Is(err, badger.ErrKeyNotFound) {
			return corrupt(n, err, "entry present past the last committed entry")
		}
		return nil
	})
}

// checkIndexes checks that entry i, holding r, is in the job and peer
// indexes, and that the latest receipt recorded for its work is this one
// or a later one.
func checkIndexes(txn *badger.Txn, i int64, r Receipt, self string) error {
	other := r.Requester
	if other == self {
		other = r.Provider
	}
	if _, err := txn.Get(u64(jobPrefix(r.Job), i)); err != nil {
		return corrupt(i, err, "job index for %s missing", r.Job)
	}
	if _, err := txn.Get(u64(peerPrefix(other), i)); err != nil {
		return corrupt(i, err, "peer index for %s missing", other)
	}
	item, err := txn.Get(latestKey(r.Key()))
	if err != nil {
		return corrupt(i, err, "latest receipt of job %s rank %d missing", r.Job, r.Rank)
	}
	v, err := item.ValueCopy(nil)
	index, seq, ok := parseLatest(v)
	if err != nil || !ok || index < i || seq < r.Seq {
		return corrupt(i, err, "latest receipt of job %s rank %d is older than this one", r.Job, r.Rank)
	}
	return nil
}
