package ledger

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

// TestMissingHeadRefused deletes LEDGER_HEAD behind a closed log of
// entries, as someone hiding a truncation would: Open fails with
// ErrHeadMissing naming the file and the way to recover, and changes
// nothing. A fresh or empty log without a head still opens, and
// RebuildHead accepts the log only after checking every entry.
func TestMissingHeadRefused(t *testing.T) {
	p, q := newParty(t), newParty(t)
	dir := t.TempDir()
	l := openLog(t, dir, p)
	fill(t, l, p, q, 5)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	head := filepath.Join(dir, headFile)
	if err := os.Remove(head); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, Options{Self: p.id})
	if !errors.Is(err, ErrHeadMissing) || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), head) || !strings.Contains(err.Error(), "--rebuild-head") {
		t.Fatalf("Open without %s = %v; want ErrHeadMissing naming the file and --rebuild-head", headFile, err)
	}
	t.Logf("Open: %v", err)
	if _, err := os.Stat(head); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused Open wrote %s (%v)", headFile, err)
	}
	l, err = Open(dir, Options{Self: p.id, RebuildHead: true})
	if err != nil {
		t.Fatalf("Open with RebuildHead: %v", err)
	}
	if l.Size() != 5 {
		t.Fatalf("rebuilt log has %d entries, want 5", l.Size())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	openLog(t, dir, p).Close()

	empty := t.TempDir()
	openLog(t, empty, p).Close()
	if err := os.Remove(filepath.Join(empty, headFile)); err != nil {
		t.Fatal(err)
	}
	openLog(t, empty, p).Close()
}

// TestRebuildHeadRefusesDamage: RebuildHead does not paper over a damaged
// entry: the whole log is verified first.
func TestRebuildHeadRefusesDamage(t *testing.T) {
	p, q := newParty(t), newParty(t)
	dir := t.TempDir()
	l := openLog(t, dir, p)
	fill(t, l, p, q, 30)
	damageEntry(t, l, 3)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, headFile)); err != nil {
		t.Fatal(err)
	}
	var ce *CorruptError
	if _, err := Open(dir, Options{Self: p.id, RebuildHead: true}); !errors.As(err, &ce) || ce.Index != 3 {
		t.Fatalf("Open with RebuildHead over a damaged entry 3 = %v, want a CorruptError at 3", err)
	}
}

// damageEntry flips a byte of entry i's stored bytes behind the log's back.
func damageEntry(t *testing.T, l *Log, i int64) {
	t.Helper()
	err := l.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(entryKey(i))
		if err != nil {
			return err
		}
		v, _ := item.ValueCopy(nil)
		v[len(v)-100] ^= 0x20 // inside the receipt's envelope: still decodes
		return txn.Set(entryKey(i), v)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDamagedEntryDoesNotHideTheRest: with one entry's bytes changed in
// Badger, Get and ByReceipt of the others still work, Get of the damaged
// one names it, and ByJob and ByPeer return every other entry with a
// DamageError naming the damaged one.
func TestDamagedEntryDoesNotHideTheRest(t *testing.T) {
	p, q := newParty(t), newParty(t)
	l := openLog(t, t.TempDir(), p)
	defer l.Close()
	fill(t, l, p, q, 20)
	damageEntry(t, l, 4)
	var ce *CorruptError
	if _, err := l.Get(4); !errors.As(err, &ce) || ce.Index != 4 {
		t.Fatalf("Get(4) of the damaged entry = %v, want a CorruptError at 4", err)
	}
	good, err := l.Get(5)
	if err != nil {
		t.Fatalf("Get(5): %v", err)
	}
	r, _ := good.Receipt()
	if e, err := l.ByReceipt(r.ID); err != nil || e.Index != 5 {
		t.Fatalf("ByReceipt of entry 5 = %d, %v", e.Index, err)
	}
	all, err := l.ByPeer(p.id)
	var de *DamageError
	if !errors.As(err, &de) || len(de.Entries) != 1 || de.Entries[0].Index != 4 || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ByPeer(self) error = %v, want a DamageError naming entry 4", err)
	}
	if len(all) != 19 {
		t.Fatalf("ByPeer(self) = %d entries, want the 19 undamaged", len(all))
	}
	others, err := l.ByPeer(q.id)
	if !errors.As(err, &de) || len(others) != 19 {
		t.Fatalf("ByPeer(other) = %d entries, %v; want 19 and a DamageError", len(others), err)
	}
	if es, err := l.ByJob("job-4"); !errors.As(err, &de) || len(es) != 0 {
		t.Fatalf("ByJob(job-4) = %d entries, %v; want none and a DamageError", len(es), err)
	}
	if es, err := l.ByJob("job-5"); err != nil || len(es) != 1 {
		t.Fatalf("ByJob(job-5) = %d entries, %v", len(es), err)
	}
	if err := l.Verify(context.Background()); !errors.As(err, &ce) || ce.Index != 4 {
		t.Fatalf("Verify = %v, want a CorruptError at 4", err)
	}
}
