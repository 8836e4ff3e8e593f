package ledger

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/gpumesh/gpumesh/ledger/merkle"
	"github.com/libp2p/go-libp2p/core/peer"
)

// DefaultBatchSize is how many receipts at most one group commit writes in
// one Badger transaction (unless a single Append brings more). With 64 to
// 256 concurrent appenders, 512 was 5-15% faster than 100 in B6; batches
// are bounded by the appenders waiting, not by this, below that.
const DefaultBatchSize = 512

// MaxAppend bounds the receipts in one Append call, so that one call fits
// in one Badger transaction: entries go to the value log, and a receipt
// takes about 500 bytes of the transaction, which Badger caps at 15% of
// the memtable size (ErrAppendTooLarge otherwise; MinMemTableSize keeps
// MaxAppend receipts under the cap).
const MaxAppend = 1000

// DefaultMemTableSize is Options.MemTableSize's default. Badger allocates
// a memtable's arena (about 1.3 times this) when it opens, with no receipt
// logged: 8 MiB cost about 10 MiB of heap per node. 4 MiB memtables still
// hold MaxAppend receipts in one transaction and flush a few hundred
// receipts' keys and hashes at a time.
const DefaultMemTableSize = 4 << 20

// MinMemTableSize is the smallest Options.MemTableSize: a transaction of
// MaxAppend receipts must fit in 15% of it.
const MinMemTableSize = 4 << 20

// DefaultBlockCacheSize is Options.BlockCacheSize's default. Badger's
// block cache preallocates admission counters in proportion to its size
// (about 2 MiB at 8 MiB); the log's reads are mostly of the value log,
// which is memory-mapped and not cached there.
const DefaultBlockCacheSize = 1 << 20

// tailCheck is how many entries at the end of the log Open checks.
const tailCheck = 16

// Options configure a Log.
type Options struct {
	// Self is this node's peer ID; receipts where it is neither provider
	// nor requester are refused with ErrNotParty. Required.
	Self peer.ID
	// NoSync, when true, acknowledges an Append once its batch is written
	// to Badger's memory-mapped write-ahead log, without fsync. That
	// survives the process being killed (SIGKILL lost no acknowledged
	// write in testing) but not a power loss or kernel crash. The default,
	// false, fsyncs every batch before any caller in it returns.
	NoSync bool
	// BatchSize is the most receipts one group commit writes; 0 means
	// DefaultBatchSize.
	BatchSize int
	// Logger receives the log's and Badger's messages (Badger's info
	// messages at debug level); nil discards them.
	Logger *slog.Logger
	// Now is the clock for entry times; nil means time.Now.
	Now func() time.Time
	// RebuildHead lets Open accept a log of entries whose LEDGER_HEAD
	// file is missing (ErrHeadMissing otherwise), after verifying every
	// entry, and write a new head. A repair, never the default.
	RebuildHead bool
	// MemTableSize is the bytes of one Badger memtable, allocated at open
	// whether or not receipts are logged; 0 means DefaultMemTableSize.
	// Larger memtables flush less often under a heavy append load (B6).
	// At least MinMemTableSize.
	MemTableSize int64
	// BlockCacheSize is the bytes of Badger's block cache; 0 means
	// DefaultBlockCacheSize. Negative is refused.
	BlockCacheSize int64
}

// Log is an append-only, hash-chained, Merkle-committed log of signed
// receipts in a Badger database. It is safe for concurrent use.
type Log struct {
	db   *badger.DB
	dir  string
	opts Options
	log  *slog.Logger

	reqs chan *appendReq
	quit chan struct{}
	done chan struct{}

	mu     sync.RWMutex
	size   int64       // entries committed
	tail   merkle.Hash // Hash of entry size-1
	tailMS int64       // Time of entry size-1, Unix ms
	closed bool

	front frontier // the tree's right edge at size; the committer's alone once Open returns
}

// badgerOptions are small-footprint Badger options: values of
// valueThreshold bytes and up in the value log, memtables (two) and block
// cache of Options' sizes, no compression, two compactors, checksums
// verified on every block read so a damaged file is reported (not
// OnTableRead: Badger v4.9.6 crashes on a bad table at open; checkTables
// checks table footers itself).
func badgerOptions(dir string, o Options, log *slog.Logger) badger.Options {
	return badger.DefaultOptions(dir).
		WithSyncWrites(!o.NoSync).
		WithLogger(badgerLogger{log}).
		WithMemTableSize(o.MemTableSize).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithBaseTableSize(2 << 20).
		WithBaseLevelSize(8 << 20).
		WithValueLogFileSize(64 << 20).
		WithBlockCacheSize(o.BlockCacheSize).
		WithIndexCacheSize(0).
		WithCompression(options.None).
		WithNumCompactors(2).
		WithNumGoroutines(2).
		WithMetricsEnabled(false).
		WithDetectConflicts(false).
		WithVerifyValueChecksum(true).
		WithChecksumVerificationMode(options.OnBlockRead).
		WithValueThreshold(valueThreshold)
}

// valueThreshold sends values this size and up to Badger's value log:
// entries (a receipt is about 1.1 KiB) are written there once and never
// again, and the LSM tree holds keys, indexes and tree hashes, which keeps
// memtable flushes and compactions small (B6: 17,000-18,000 durable
// appends/s instead of 9,500-13,000 with entries in the tree) and lets a
// transaction hold far more receipts, since Badger counts 14 bytes for a
// value in the value log against its transaction limit.
const valueThreshold = 256

// Open opens or creates the log in dir, checks its tail (the last entries'
// chain links and Merkle hashes, the entry count against the entries and
// hashes present, and the size and root recorded at the last clean Close),
// and starts the group committer. A damaged directory gives an error
// wrapping ErrCorrupt or Badger's own, never a panic.
func Open(dir string, opts Options) (l *Log, err error) {
	if opts.Self == "" {
		return nil, errors.New("open ledger: Options.Self is required")
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if err := opts.setSizes(); err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "ledger")
	if err := checkTables(dir); err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", dir, err)
	}
	db, err := openBadger(badgerOptions(dir, opts, log))
	if err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", dir, err)
	}
	l = &Log{db: db, dir: dir, opts: opts, log: log,
		reqs: make(chan *appendReq), quit: make(chan struct{}), done: make(chan struct{})}
	if err := l.recover(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open ledger %s: %w", dir, err)
	}
	if err := l.checkHead(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open ledger %s: %w", dir, err)
	}
	go l.committer()
	log.Debug("ledger open", "dir", dir, "entries", l.size, "sync", !opts.NoSync)
	return l, nil
}

// setSizes fills in the default Badger sizes and checks given ones.
func (o *Options) setSizes() error {
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	if o.MemTableSize < MinMemTableSize {
		return fmt.Errorf("memtable size %d bytes: below the minimum %d, which one append of %d receipts needs", o.MemTableSize, MinMemTableSize, MaxAppend)
	}
	if o.BlockCacheSize == 0 {
		o.BlockCacheSize = DefaultBlockCacheSize
	}
	if o.BlockCacheSize < 0 {
		return fmt.Errorf("block cache size %d bytes: negative", o.BlockCacheSize)
	}
	return nil
}

// openBadger opens Badger, turning a panic on a damaged directory into an error.
func openBadger(o badger.Options) (db *badger.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, fmt.Errorf("%w: badger panicked opening it: %v", ErrCorrupt, p)
		}
	}()
	return badger.Open(o)
}

// recover reads the count and checks the tail: the entries and stored
// hashes present must match the count, and the last entries must chain and
// agree with the tree's leaf hashes.
func (l *Log) recover() error {
	return l.db.View(func(txn *badger.Txn) error {
		n, err := readCount(txn)
		if err != nil {
			return err
		}
		// Nothing may lie past the count, and the last counted entry and
		// hash must be there: a batch is one transaction, so a mismatch is damage.
		if n > 0 {
			if err := checkLayout(txn); err != nil {
				return err
			}
		}
		if _, err := txn.Get(entryKey(n)); err == nil {
			return corrupt(n, nil, "entry present past the count of %d entries", n)
		}
		if _, err := txn.Get(hashKey(n)); err == nil {
			return corrupt(n, nil, "Merkle hashes present past the count of %d entries", n)
		}
		if n > 0 {
			if _, err := readStored(txn, n-1); err != nil {
				return corrupt(n-1, err, "Merkle hashes missing for the last entry")
			}
		}
		from := max(0, n-tailCheck)
		var prev merkle.Hash
		for i := from; i < n; i++ {
			e, err := getEntry(txn, i)
			if err != nil {
				return err
			}
			if i > from && e.Prev != prev {
				return corrupt(i, nil, "prev hash does not match entry %d", i-1)
			}
			if err := checkLeaf(txn, e); err != nil {
				return err
			}
			prev = e.Hash
			if i == n-1 {
				l.tail, l.tailMS = e.Hash, e.Time.UnixMilli()
			}
		}
		if _, err := merkle.Root(n, txnStore{txn}); err != nil {
			return corrupt(-1, err, "tree root of %d entries unreadable", n)
		}
		f, err := loadFrontier(n, txnStore{txn})
		if err != nil {
			return corrupt(-1, err, "tree frontier of %d entries unreadable", n)
		}
		l.size, l.front = n, f
		return nil
	})
}

func readCount(txn *badger.Txn) (int64, error) {
	item, err := txn.Get(countKey)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, corrupt(-1, err, "read entry count")
	}
	v, err := item.ValueCopy(nil)
	if err != nil || len(v) != 8 || int64(binary.BigEndian.Uint64(v)) < 0 {
		return 0, corrupt(-1, err, "entry count unreadable")
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// getEntry reads and decodes entry i, reporting damage as a CorruptError.
func getEntry(txn *badger.Txn, i int64) (Entry, error) {
	item, err := txn.Get(entryKey(i))
	if err != nil {
		return Entry{}, corrupt(i, err, "entry missing or unreadable")
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return Entry{}, corrupt(i, err, "entry unreadable")
	}
	e, err := DecodeEntry(v)
	if err != nil {
		return Entry{}, corrupt(i, err, "entry does not decode")
	}
	if e.Index != i {
		return Entry{}, corrupt(i, nil, "entry says it is index %d", e.Index)
	}
	return e, nil
}

// checkLeaf checks that the tree's stored leaf hash for e is e's hash.
func checkLeaf(txn *badger.Txn, e Entry) error {
	hs, err := txnStore{txn}.ReadHashes([]int64{merkle.StoredHashIndex(0, e.Index)})
	if err != nil {
		return corrupt(e.Index, err, "Merkle leaf hash unreadable")
	}
	if hs[0] != e.Hash {
		return corrupt(e.Index, nil, "entry hash %x differs from the Merkle leaf hash %x", e.Hash[:8], hs[0][:8])
	}
	return nil
}

// checkLayout refuses a log written in another key layout.
func checkLayout(txn *badger.Txn) error {
	item, err := txn.Get(layoutKey)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return fmt.Errorf("%w: key layout 1 (written before layout %d); this version reads layout %d only", ErrCorrupt, layoutVersion, layoutVersion)
	}
	if err != nil {
		return corrupt(-1, err, "read key layout")
	}
	v, err := item.ValueCopy(nil)
	if err != nil || len(v) != 8 {
		return corrupt(-1, err, "key layout unreadable")
	}
	if got := binary.BigEndian.Uint64(v); got != layoutVersion {
		return fmt.Errorf("%w: key layout %d; this version reads layout %d only", ErrCorrupt, got, layoutVersion)
	}
	return nil
}

// readStored returns the tree hashes stored with entry i.
func readStored(txn *badger.Txn, i int64) ([]merkle.Hash, error) {
	item, err := txn.Get(hashKey(i))
	if err != nil {
		return nil, fmt.Errorf("stored hashes of entry %d: %w", i, err)
	}
	want := hashesStored(i)
	out := make([]merkle.Hash, want)
	err = item.Value(func(v []byte) error {
		if len(v) != want*merkle.HashSize {
			return fmt.Errorf("stored hashes of entry %d: %d bytes, want %d", i, len(v), want*merkle.HashSize)
		}
		for k := range out {
			copy(out[k][:], v[k*merkle.HashSize:])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// txnStore reads stored Merkle hashes through a Badger transaction
// (including the transaction's own pending writes).
type txnStore struct{ txn *badger.Txn }

// ReadHashes implements merkle.HashStore.
func (s txnStore) ReadHashes(indexes []int64) ([]merkle.Hash, error) {
	out := make([]merkle.Hash, len(indexes))
	var last int64 = -1
	var hs []merkle.Hash
	for i, x := range indexes {
		if x < 0 {
			return nil, fmt.Errorf("stored hash %d: %w", x, merkle.ErrRange)
		}
		e, pos := hashSlot(x)
		if e != last {
			var err error
			if hs, err = readStored(s.txn, e); err != nil {
				return nil, fmt.Errorf("stored hash %d: %w", x, err)
			}
			last = e
		}
		out[i] = hs[pos]
	}
	return out, nil
}

// Size is the number of entries committed.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.size
}

// Close stops the committer (Appends waiting get ErrClosed), records the
// size and root for the next Open to check, and closes Badger, which
// flushes its memtable to disk.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closed = true
	l.mu.Unlock()
	close(l.quit)
	<-l.done
	herr := l.writeHead()
	if err := l.db.Close(); err != nil {
		return fmt.Errorf("close ledger: %w", err)
	}
	if herr != nil {
		return fmt.Errorf("close ledger: %w", herr)
	}
	return nil
}

// view runs fn in a read transaction, failing once the log is closed.
func (l *Log) view(fn func(txn *badger.Txn) error) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	return l.db.View(fn)
}

// badgerLogger sends Badger's messages to slog, info as debug.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error(trim(f, a), "source", "badger") }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn(trim(f, a), "source", "badger") }
func (b badgerLogger) Infof(f string, a ...any) {
	b.l.Log(context.Background(), slog.LevelDebug, trim(f, a), "source", "badger")
}
func (b badgerLogger) Debugf(f string, a ...any) {
	b.l.Log(context.Background(), slog.LevelDebug-4, trim(f, a), "source", "badger")
}

func trim(f string, a []any) string {
	s := fmt.Sprintf(f, a...)
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return s
}
