package ledger

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// appendReq is one Append call waiting for the committer.
type appendReq struct {
	items []pendingReceipt
	done  chan appendResult // buffered 1
}

type pendingReceipt struct {
	r    Receipt
	data []byte // Signed, marshalled
}

type appendResult struct {
	entries []Entry
	err     error
}

// Append verifies each receipt (Verify), refuses those this node is not a
// party to (ErrNotParty) and replays (ErrReplay: the receipt ID is already
// logged, or its Seq is not above the latest logged for the same work),
// and appends them in order as one unit: either all are appended or none.
//
// Durability: Append returns only once its entries are committed, and,
// unless Options.NoSync, fsynced. Concurrent Appends are group-committed:
// one goroutine writes everything queued, up to Options.BatchSize receipts,
// in one Badger transaction with one fsync, and every caller in the batch
// returns after it. There is no linger timer: a lone Append commits at
// once (the fast path), and batches form from the calls that arrive while
// the previous batch is being synced.
//
// If ctx ends while Append waits for its batch, Append returns the
// context's error, but the receipts may still be committed: ByReceipt says.
func (l *Log) Append(ctx context.Context, signed ...Signed) ([]Entry, error) {
	if len(signed) > MaxAppend {
		return nil, fmt.Errorf("append: %d receipts in one call, max %d", len(signed), MaxAppend)
	}
	vs := make([]Verified, len(signed))
	for i, s := range signed {
		v, err := Prepare(s)
		if err != nil {
			return nil, fmt.Errorf("append receipt %d: %w", i, err)
		}
		vs[i] = v
	}
	return l.AppendVerified(ctx, vs...)
}

// AppendVerified is Append for receipts already verified by Prepare (the
// receipt exchange verifies once, before it acknowledges): it skips the
// two signature checks, which cost more than the write, and is otherwise
// the same, party and replay checks included.
func (l *Log) AppendVerified(ctx context.Context, vs ...Verified) ([]Entry, error) {
	if len(vs) == 0 {
		return nil, nil
	}
	if len(vs) > MaxAppend {
		return nil, fmt.Errorf("append: %d receipts in one call, max %d", len(vs), MaxAppend)
	}
	req := &appendReq{items: make([]pendingReceipt, len(vs)), done: make(chan appendResult, 1)}
	self := l.opts.Self.String()
	for i, v := range vs {
		r := v.r
		if v.data == nil {
			return nil, fmt.Errorf("append receipt %d: %w: not prepared", i, ErrUnsigned)
		}
		if r.Provider != self && r.Requester != self {
			return nil, fmt.Errorf("append receipt %s: %w: provider %s, requester %s", r.ID, ErrNotParty, r.Provider, r.Requester)
		}
		req.items[i] = pendingReceipt{r: r, data: v.data}
	}
	select {
	case l.reqs <- req:
	case <-l.quit:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("append: %w (nothing was written)", ctx.Err())
	}
	select {
	case res := <-req.done:
		return res.entries, res.err
	case <-ctx.Done():
		return nil, fmt.Errorf("append: %w (the receipts may still be committed)", ctx.Err())
	}
}

// committer is the log's only writer. It exits when quit is closed,
// failing queued Appends with ErrClosed, and closes done.
func (l *Log) committer() {
	defer close(l.done)
	for {
		select {
		case <-l.quit:
			return
		case req := <-l.reqs:
			batch := []*appendReq{req}
			n := len(req.items)
		more:
			for n < l.opts.BatchSize {
				select {
				case r := <-l.reqs:
					batch = append(batch, r)
					n += len(r.items)
				default:
					break more
				}
			}
			l.commit(batch)
		}
	}
}

// commit writes the acceptable requests of batch in one transaction and
// answers every request.
func (l *Log) commit(batch []*appendReq) {
	txn := l.db.NewTransaction(true)
	defer txn.Discard()
	size, tail, tailMS := l.size, l.tail, l.tailMS
	now := l.opts.Now().UTC().Truncate(time.Millisecond).UnixMilli()
	if now < tailMS { // entry times never go backwards
		now = tailMS
	}
	results := make([]appendResult, len(batch))
	var failed error
	for bi, req := range batch {
		if err := checkReplay(txn, req.items); err != nil {
			results[bi].err = err
			continue
		}
		entries := make([]Entry, 0, len(req.items))
		for _, it := range req.items {
			e := Entry{Index: size, Prev: tail, Time: time.UnixMilli(now).UTC(), Kind: KindReceipt, Data: it.data}
			if err := writeEntry(txn, &e, it.r); err != nil {
				failed = err
				break
			}
			entries = append(entries, e)
			size, tail = size+1, e.Hash
		}
		if failed != nil {
			break
		}
		results[bi].entries = entries
	}
	if failed == nil && size != l.size {
		failed = txn.Set(countKey, binary.BigEndian.AppendUint64(nil, uint64(size)))
		if failed == nil {
			failed = txn.Commit()
		}
	}
	if failed != nil {
		l.log.Error("ledger commit failed", "err", failed, "receipts", len(batch))
		for bi := range batch {
			batch[bi].done <- appendResult{err: fmt.Errorf("append: commit: %w", failed)}
		}
		return
	}
	l.mu.Lock()
	l.size, l.tail, l.tailMS = size, tail, now
	l.mu.Unlock()
	for bi := range batch {
		batch[bi].done <- results[bi]
	}
}

// checkReplay refuses items already logged or not newer than the latest
// logged (or earlier in the same call) for their work.
func checkReplay(txn *badger.Txn, items []pendingReceipt) error {
	seen := map[Key]uint64{}
	ids := map[string]bool{}
	for _, it := range items {
		r := it.r
		if ids[r.ID] {
			return fmt.Errorf("append receipt %s: %w: twice in one call", r.ID, ErrReplay)
		}
		ids[r.ID] = true
		if _, err := txn.Get(receiptKey(r.ID)); err == nil {
			return fmt.Errorf("append receipt %s: %w: already logged", r.ID, ErrReplay)
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("append receipt %s: %w", r.ID, err)
		}
		k := r.Key()
		latest, ok := seen[k]
		if !ok {
			item, err := txn.Get(latestKey(k))
			switch {
			case err == nil:
				v, err := item.ValueCopy(nil)
				if err != nil {
					return fmt.Errorf("append receipt %s: %w", r.ID, err)
				}
				_, latest, _ = parseLatest(v)
			case !errors.Is(err, badger.ErrKeyNotFound):
				return fmt.Errorf("append receipt %s: %w", r.ID, err)
			}
		}
		if r.Seq <= latest {
			return fmt.Errorf("append receipt %s: %w: seq %d, latest logged for this work is %d", r.ID, ErrReplay, r.Seq, latest)
		}
		seen[k] = r.Seq
	}
	return nil
}

// writeEntry sets e's Hash and writes the entry, its Merkle stored hashes
// and its index keys into txn.
func writeEntry(txn *badger.Txn, e *Entry, r Receipt) error {
	enc := e.Encode()
	e.Hash = merkle.LeafHash(enc)
	hs, err := merkle.StoredHashes(e.Index, enc, txnStore{txn})
	if err != nil {
		return fmt.Errorf("merkle hashes for entry %d: %w", e.Index, err)
	}
	base := merkle.StoredHashCount(e.Index)
	for i, h := range hs {
		if err := txn.Set(hashKey(base+int64(i)), h[:]); err != nil {
			return err
		}
	}
	idx := u64(nil, e.Index)
	sets := [][2][]byte{
		{entryKey(e.Index), enc},
		{receiptKey(r.ID), idx},
		{u64(jobPrefix(r.Job), e.Index), nil},
		{u64(peerPrefix(r.Provider), e.Index), nil},
		{u64(peerPrefix(r.Requester), e.Index), nil},
		{timeKey(e.Time.UnixMilli(), e.Index), nil},
		{latestKey(r.Key()), latestValue(e.Index, r.Seq)},
	}
	for _, kv := range sets {
		if err := txn.Set(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}
