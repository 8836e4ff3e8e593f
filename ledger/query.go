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
		e, err = readEntry(txn, index)
		return err
	})
	return e, err
}

// readEntry reads entry i and checks it against the tree's stored leaf
// hash, so that bytes changed behind the log's back are reported as a
// *CorruptError at i instead of being served.
func readEntry(txn *badger.Txn, i int64) (Entry, error) {
	e, err := getEntry(txn, i)
	if err != nil {
		return Entry{}, err
	}
	if err := checkLeaf(txn, e); err != nil {
		return Entry{}, err
	}
	return e, nil
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
		e, err = readEntry(txn, indexSuffix(v))
		return err
	})
	return e, err
}

// ByJob returns the entries of a job's receipts, oldest first. Damaged
// entries are left out and named by a *DamageError returned with the rest.
func (l *Log) ByJob(job string) ([]Entry, error) { return l.scan(jobPrefix(job)) }

// ByPeer returns the entries of receipts in which p is provider or
// requester, oldest first. Every entry names this node, so ByPeer of
// Options.Self is every entry. Damaged entries are left out and named by a
// *DamageError returned with the rest.
func (l *Log) ByPeer(p peer.ID) ([]Entry, error) {
	if p == l.opts.Self {
		var out []Entry
		var d damage
		err := l.view(func(txn *badger.Txn) error {
			for i := int64(0); i < l.size; i++ {
				if err := collect(txn, i, &out, &d); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return out, d.err()
	}
	return l.scan(peerPrefix(p.String()))
}

// Range returns the entries appended in [from, to), oldest first. Entry
// times never go backwards, so it finds both ends by binary search.
func (l *Log) Range(from, to time.Time) ([]Entry, error) {
	var out []Entry
	err := l.view(func(txn *badger.Txn) error {
		lo, err := firstAt(txn, l.size, from.UnixMilli())
		if err != nil {
			return err
		}
		hi, err := firstAt(txn, l.size, to.UnixMilli())
		if err != nil {
			return err
		}
		out, err = entries(txn, lo, hi)
		return err
	})
	return out, err
}

// firstAt returns the first of the n entries whose time is at or after
// ms, or n.
func firstAt(txn *badger.Txn, n, ms int64) (int64, error) {
	lo, hi := int64(0), n
	for lo < hi {
		mid := lo + (hi-lo)/2
		e, err := getEntry(txn, mid)
		if err != nil {
			return 0, err
		}
		if e.Time.UnixMilli() < ms {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// entries reads entries [from, to).
func entries(txn *badger.Txn, from, to int64) ([]Entry, error) {
	var out []Entry
	for i := from; i < to; i++ {
		e, err := getEntry(txn, i)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// collect reads entry i onto out, or notes its damage in d; it returns
// only an error that is not damage to one entry.
func collect(txn *badger.Txn, i int64, out *[]Entry, d *damage) error {
	e, err := readEntry(txn, i)
	switch {
	case err == nil:
		*out = append(*out, e)
	case !d.add(err):
		return err
	}
	return nil
}

// scan returns the entries whose indexes end the keys under prefix; those
// that are damaged are left out and named by a *DamageError.
func (l *Log) scan(prefix []byte) ([]Entry, error) {
	var out []Entry
	var d damage
	err := l.view(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.PrefetchValues = false
		o.Prefix = prefix
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			i := indexSuffix(it.Item().Key())
			if i >= l.size {
				continue
			}
			if err := collect(txn, i, &out, &d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, d.err()
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
		e, err = readEntry(txn, i)
		return err
	})
	if err != nil {
		return Entry{}, Receipt{}, err
	}
	r, err := e.Receipt()
	return e, r, err
}
