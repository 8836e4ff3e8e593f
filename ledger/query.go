package ledger

import (
	"errors"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Get returns entry index.
func (l *Log) Get(index int64) (Entry, error) {
	var e Entry
	err := l.view(func(txn *badger.Txn) error {
		if index < 0 || index >= l.size {
			return fmt.Errorf("entry %d of %d: %w", index, l.size, ErrNotFound)
		}
		var err error
		e, err = getEntry(txn, index)
		return err
	})
	return e, err
}

// ByReceipt returns the entry holding the receipt with this ID.
func (l *Log) ByReceipt(id string) (Entry, error) {
	var e Entry
	err := l.view(func(txn *badger.Txn) error {
		item, err := txn.Get(receiptKey(id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("receipt %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("receipt %s: %w", id, err)
		}
		v, err := item.ValueCopy(nil)
		if err != nil || len(v) != 8 {
			return corrupt(-1, err, "index of receipt %s unreadable", id)
		}
		e, err = getEntry(txn, indexSuffix(v))
		return err
	})
	return e, err
}

// ByJob returns the entries of a job's receipts, oldest first.
func (l *Log) ByJob(job string) ([]Entry, error) { return l.scan(jobPrefix(job), nil) }

// ByPeer returns the entries of receipts in which p is provider or
// requester, oldest first.
func (l *Log) ByPeer(p peer.ID) ([]Entry, error) { return l.scan(peerPrefix(p.String()), nil) }

// Range returns the entries appended in [from, to), oldest first.
func (l *Log) Range(from, to time.Time) ([]Entry, error) {
	return l.scan([]byte{pTime}, func(it *badger.Iterator) bool {
		it.Seek(timeKey(max(0, from.UnixMilli()), 0))
		return true
	}, to.UnixMilli())
}

// scan returns the entries whose indexes end the keys under prefix. seek,
// if set, positions the iterator; stopMS, if given, ends a time scan.
func (l *Log) scan(prefix []byte, seek func(*badger.Iterator) bool, stopMS ...int64) ([]Entry, error) {
	var out []Entry
	err := l.view(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.PrefetchValues = false
		o.Prefix = prefix
		it := txn.NewIterator(o)
		defer it.Close()
		if seek != nil {
			seek(it)
		} else {
			it.Rewind()
		}
		for ; it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(stopMS) > 0 && len(k) == 17 && int64(indexSuffix(k[:9])) >= stopMS[0] {
				break
			}
			i := indexSuffix(k)
			if i >= l.size {
				continue
			}
			e, err := getEntry(txn, i)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Latest returns the entry and receipt of the latest cumulative receipt
// logged for the work k.
func (l *Log) Latest(k Key) (Entry, Receipt, error) {
	var e Entry
	err := l.view(func(txn *badger.Txn) error {
		item, err := txn.Get(latestKey(k))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("latest receipt for job %s rank %d: %w", k.Job, k.Rank, ErrNotFound)
		}
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return corrupt(-1, err, "latest receipt for job %s unreadable", k.Job)
		}
		i, _, ok := parseLatest(v)
		if !ok {
			return corrupt(-1, nil, "latest receipt for job %s unreadable", k.Job)
		}
		e, err = getEntry(txn, i)
		return err
	})
	if err != nil {
		return Entry{}, Receipt{}, err
	}
	r, err := e.Receipt()
	return e, r, err
}
