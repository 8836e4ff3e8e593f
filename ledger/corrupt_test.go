package ledger

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

func fill(t *testing.T, l *Log, p, q party, n int) {
	t.Helper()
	var batch []Signed
	for i := 0; i < n; i++ {
		batch = append(batch, signBoth(t, p, q, receipt(p, q, fmt.Sprintf("job-%d", i), 0, 1, 60)))
	}
	if _, err := l.Append(context.Background(), batch...); err != nil {
		t.Fatal(err)
	}
}

// TestTamperedEntryReported edits one byte of an entry's value behind the
// log's back, as someone editing the database would, and checks that
// Verify names that entry, and that tampering with the tail stops Open.
func TestTamperedEntryReported(t *testing.T) {
	p, q := newParty(t), newParty(t)
	dir := t.TempDir()
	l := openLog(t, dir, p)
	fill(t, l, p, q, 40)
	flip := func(i int64) {
		t.Helper()
		err := l.db.Update(func(txn *badger.Txn) error {
			item, err := txn.Get(entryKey(i))
			if err != nil {
				return err
			}
			v, _ := item.ValueCopy(nil)
			v[len(v)-100] ^= 0x20 // inside the receipt's envelope
			return txn.Set(entryKey(i), v)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	flip(17)
	var ce *CorruptError
	err := l.Verify(context.Background())
	if !errors.As(err, &ce) || ce.Index != 17 || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Verify after editing entry 17: got %v, want a CorruptError at 17", err)
	}
	t.Logf("Verify: %v", err)
	flip(39)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, Options{Self: p.id})
	if !errors.As(err, &ce) || ce.Index != 39 {
		t.Fatalf("Open after editing the last entry: got %v, want a CorruptError at 39", err)
	}
	t.Logf("Open: %v", err)
}

// TestFlippedFileReported flips one byte in the middle of each table file
// Badger wrote, in turn, and checks that Open or Verify reports it.
func TestFlippedFileReported(t *testing.T) {
	p, q := newParty(t), newParty(t)
	dir := t.TempDir()
	l := openLog(t, dir, p)
	fill(t, l, p, q, 300)
	if err := l.Close(); err != nil { // flushes the memtable to a table file
		t.Fatal(err)
	}
	tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(tables) == 0 {
		t.Fatal("no table files after Close")
	}
	for _, path := range tables {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range []int{len(data) / 3, len(data) / 2, len(data) - 200, len(data) - 6} {
			damaged := append([]byte(nil), data...)
			damaged[at] ^= 0x01
			if err := os.WriteFile(path, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			l, err := Open(dir, Options{Self: p.id})
			if err == nil {
				err = l.Verify(context.Background())
				l.Close()
			}
			if err == nil {
				t.Fatalf("flipped byte %d of %s: neither Open nor Verify noticed", at, filepath.Base(path))
			}
			t.Logf("flipped byte %d of %s: %v", at, filepath.Base(path), err)
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Restored, the log is whole again.
	l = openLog(t, dir, p)
	defer l.Close()
	if err := l.Verify(context.Background()); err != nil || l.Size() != 300 {
		t.Fatalf("restored log: size %d, %v", l.Size(), err)
	}
}

// TestTruncatedLogReported removes the table files: Open must fail
// clearly rather than start an empty log over acknowledged entries.
func TestTruncatedLogReported(t *testing.T) {
	p, q := newParty(t), newParty(t)
	dir := t.TempDir()
	l := openLog(t, dir, p)
	fill(t, l, p, q, 50)
	l.Close()
	tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	for _, path := range tables {
		if err := os.Truncate(path, 100); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(dir, Options{Self: p.id}); err == nil {
		t.Fatal("Open of a log with truncated tables succeeded")
	} else {
		t.Logf("Open: %v", err)
	}
}
