package ledger

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// appendReq is one Append call waiting for the committer.
type appendReq struct {
	items    []pendingReceipt
	vouchers []VoucherRecord   // written with items (AppendWithVouchers)
	bytes    int               // estimated size in a Badger transaction
	done     chan appendResult // buffered 1
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
// one goroutine writes everything queued, up to Options.BatchSize receipts
// and about batchBytes, in one Badger transaction with one fsync, and
// every caller in the batch returns after it. There is no linger timer: a
// lone Append commits at once (the fast path), and batches form from the
// calls that arrive while the previous batch is being synced. A call of
// MaxAppend receipts fits in one Badger transaction; should one not
// (receipts whose IDs and names are all near their maximum length), it
// fails with ErrAppendTooLarge and writes nothing.
//
// If ctx ends while Append waits for its batch, Append returns the
// context's error, but the receipts may still be committed: ByReceipt says.
func (l *Log) Append(ctx context.Context, signed ...Signed) ([]Entry, error) {
	if len(signed) > MaxAppend {
		return nil, fmt.Errorf("append: %d receipts in one call, max %d", len(signed), MaxAppend)
	}
	vs, err := prepareAll(signed)
	if err != nil {
		return nil, err
	}
	return l.AppendVerified(ctx, vs...)
}

// prepareAll runs Prepare on every receipt, on all cores when there are
// several, before anything reaches the committer; the error names the
// first receipt that fails.
func prepareAll(signed []Signed) ([]Verified, error) {
	vs := make([]Verified, len(signed))
	errs := make([]error, len(signed))
	workers := min(runtime.GOMAXPROCS(0), len(signed))
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(signed); i += workers {
				vs[i], errs[i] = Prepare(signed[i])
			}
		}()
	}
	for i := 0; i < len(signed); i += workers {
		vs[i], errs[i] = Prepare(signed[i])
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("append receipt %d: %w", i, err)
		}
	}
	return vs, nil
}

// AppendVerified is Append for receipts already verified by Prepare (the
// receipt exchange verifies once, before it acknowledges): it skips the
// two signature checks, which cost more than the write, and is otherwise
// the same, party and replay checks included.
func (l *Log) AppendVerified(ctx context.Context, vs ...Verified) ([]Entry, error) {
	return l.appendVerified(ctx, vs, nil)
}

// appendVerified is AppendVerified writing vouchers in the same transaction.
func (l *Log) appendVerified(ctx context.Context, vs []Verified, vouchers []VoucherRecord) ([]Entry, error) {
	if len(vs) == 0 && len(vouchers) == 0 {
		return nil, nil
	}
	if len(vs) > MaxAppend || len(vouchers) > MaxAppend {
		return nil, fmt.Errorf("append: %d receipts in one call, max %d", len(vs), MaxAppend)
	}
	req := &appendReq{items: make([]pendingReceipt, len(vs)), vouchers: vouchers, done: make(chan appendResult, 1)}
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
		req.bytes += entryBytes(r)
	}
	for _, v := range vouchers {
		req.bytes += 2*len(v.Voucher) + 2*len(v.Work) + 512
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

// batchBytes bounds the estimated size of one group commit, under
// Badger's limit for one transaction (15% of the 8 MiB memtable, 1.2 MiB).
const batchBytes = 1 << 20

// entryBytes estimates what one receipt adds to a Badger transaction, as
// Badger counts it (key, value or 14 bytes for a value in the value log,
// 12 bytes of overhead per key): six keys of about 460 bytes in all with
// their small values, and the job and peer IDs repeated in them.
func entryBytes(r Receipt) int {
	return 460 + 2*len(r.Job) + 2*len(r.Provider) + 2*len(r.Requester)
}

// committer is the log's only writer. It exits when quit is closed (calls
// still waiting to hand over a request get ErrClosed from Append; requests
// it has taken are committed first) and closes done.
func (l *Log) committer() {
	defer close(l.done)
	var next *appendReq // taken but left for the next batch
	for {
		req := next
		next = nil
		if req == nil {
			select {
			case <-l.quit:
				return
			case req = <-l.reqs:
			}
		}
		batch := []*appendReq{req}
		n, size := len(req.items), req.bytes
	more:
		for n < l.opts.BatchSize && size < batchBytes {
			select {
			case r := <-l.reqs:
				if n+len(r.items) > l.opts.BatchSize || size+r.bytes > batchBytes {
					next = r
					break more
				}
				batch = append(batch, r)
				n += len(r.items)
				size += r.bytes
			default:
				break more
			}
		}
		for len(batch) > 0 {
			batch = batch[l.commit(batch):]
		}
	}
}

// commit writes the acceptable requests of a prefix of batch in one
// transaction, answers them, and returns how many it answered: all of
// them, unless Badger's transaction would overflow, in which case it
// commits the requests before the one that overflowed (or, if that is the
// first, fails it alone with ErrAppendTooLarge).
func (l *Log) commit(batch []*appendReq) int {
	txn := l.db.NewTransaction(true)
	defer txn.Discard()
	size, tail, tailMS, front := l.size, l.tail, l.tailMS, l.front
	self := l.opts.Self.String()
	now := l.opts.Now().UTC().Truncate(time.Millisecond).UnixMilli()
	if now < tailMS { // entry times never go backwards
		now = tailMS
	}
	results := make([]appendResult, len(batch))
	var failed error
	vouchersOnly := false // a request wrote vouchers for receipts already logged
	for bi, req := range batch {
		if err := checkReplay(txn, req.items); err != nil {
			results[bi].err = err
			continue
		}
		if err := checkVouchers(txn, req.items, req.vouchers); err != nil {
			results[bi].err = err
			continue
		}
		entries := make([]Entry, 0, len(req.items))
		for _, it := range req.items {
			e := Entry{Index: size, Prev: tail, Time: time.UnixMilli(now).UTC(), Kind: KindReceipt, Data: it.data}
			err := writeEntry(txn, &e, &front, it.r, self)
			if errors.Is(err, badger.ErrTxnTooBig) {
				txn.Discard()
				if bi > 0 {
					return l.commit(batch[:bi])
				}
				req.done <- appendResult{err: fmt.Errorf("append: %d receipts, about %d bytes: %w: split the call", len(req.items), req.bytes, ErrAppendTooLarge)}
				return 1
			}
			if err != nil {
				failed = err
				break
			}
			entries = append(entries, e)
			size, tail = size+1, e.Hash
		}
		if failed == nil && len(req.vouchers) > 0 {
			failed = writeVouchers(txn, req.vouchers, time.UnixMilli(now).UTC())
			vouchersOnly = vouchersOnly || len(req.items) == 0
		}
		if failed != nil {
			break
		}
		results[bi].entries = entries
	}
	if failed == nil && (size != l.size || vouchersOnly) {
		if l.size == 0 {
			failed = txn.Set(layoutKey, binary.BigEndian.AppendUint64(nil, layoutVersion))
		}
		if failed == nil {
			failed = txn.Set(countKey, binary.BigEndian.AppendUint64(nil, uint64(size)))
		}
		if failed == nil {
			failed = txn.Commit()
		}
	}
	if failed != nil {
		l.log.Error("ledger commit failed", "err", failed, "requests", len(batch))
		for bi := range batch {
			batch[bi].done <- appendResult{err: fmt.Errorf("append: commit: %w", failed)}
		}
		return len(batch)
	}
	l.mu.Lock()
	l.size, l.tail, l.tailMS, l.front = size, tail, now, front
	l.mu.Unlock()
	for bi := range batch {
		batch[bi].done <- results[bi]
	}
	return len(batch)
}

// checkReplay refuses items not newer than the latest logged (or earlier
// in the same call) for their work. That also refuses a receipt already
// logged: its ID is a hash of its work and Seq (Check), so the same ID
// means the same work and a Seq not above the latest; the receipt index
// is read only to say which it was.
func checkReplay(txn *badger.Txn, items []pendingReceipt) error {
	seen := make(map[Key]uint64, len(items))
	ids := make(map[string]bool, len(items))
	for _, it := range items {
		r := it.r
		if ids[r.ID] {
			return fmt.Errorf("append receipt %s: %w: twice in one call", r.ID, ErrReplay)
		}
		ids[r.ID] = true
		k := r.Key()
		latest, ok := seen[k]
		if !ok {
			item, err := txn.Get(latestKey(k))
			switch {
			case err == nil:
				err = item.Value(func(v []byte) error {
					_, latest, _ = parseLatest(v)
					return nil
				})
				if err != nil {
					return fmt.Errorf("append receipt %s: %w", r.ID, err)
				}
			case !errors.Is(err, badger.ErrKeyNotFound):
				return fmt.Errorf("append receipt %s: %w", r.ID, err)
			}
		}
		if r.Seq <= latest {
			if _, err := txn.Get(receiptKey(r.ID)); err == nil {
				return fmt.Errorf("append receipt %s: %w: already logged", r.ID, ErrReplay)
			}
			return fmt.Errorf("append receipt %s: %w: seq %d, latest logged for this work is %d", r.ID, ErrReplay, r.Seq, latest)
		}
		seen[k] = r.Seq
	}
	return nil
}

// writeEntry sets e's Hash, adds it to the tree's frontier f, and writes
// the entry, the tree hashes it stores and its index keys into txn.
func writeEntry(txn *badger.Txn, e *Entry, f *frontier, r Receipt, self string) error {
	enc := e.Encode()
	e.Hash = merkle.LeafHash(enc)
	hs := f.add(e.Hash)
	hb := make([]byte, 0, len(hs)*merkle.HashSize)
	for _, h := range hs {
		hb = append(hb, h[:]...)
	}
	other := r.Requester
	if other == self {
		other = r.Provider
	}
	idx := u64(nil, e.Index)
	sets := [...][2][]byte{
		{entryKey(e.Index), enc},
		{hashKey(e.Index), hb},
		{receiptKey(r.ID), idx},
		{u64(jobPrefix(r.Job), e.Index), nil},
		{u64(peerPrefix(other), e.Index), nil},
		{latestKey(r.Key()), latestValue(e.Index, r.Seq)},
	}
	for _, kv := range sets {
		if err := txn.Set(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}
