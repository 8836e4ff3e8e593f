package ledger

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// TestFrontierMatchesStoredHashes checks that the committer's in-memory
// frontier stores exactly the hashes tlog's StoredHashes computes, and that
// a frontier loaded from the stored hashes carries on the same way.
func TestFrontierMatchesStoredHashes(t *testing.T) {
	var m merkle.MemStore
	var f frontier
	for i := int64(0); i < 1100; i++ {
		leaf := []byte(fmt.Sprint("leaf-", i))
		want, err := merkle.StoredHashes(i, leaf, &m)
		if err != nil {
			t.Fatal(err)
		}
		if i%97 == 0 { // reload, as Open does
			if f, err = loadFrontier(i, &m); err != nil {
				t.Fatalf("load frontier at %d: %v", i, err)
			}
		}
		got := f.add(merkle.LeafHash(leaf))
		if len(got) != len(want) || len(got) != hashesStored(i) {
			t.Fatalf("entry %d: %d hashes, want %d (hashesStored %d)", i, len(got), len(want), hashesStored(i))
		}
		for k := range want {
			if got[k] != want[k] {
				t.Fatalf("entry %d: hash %d differs", i, k)
			}
			if e, pos := hashSlot(merkle.StoredHashCount(i) + int64(k)); e != i || pos != k {
				t.Fatalf("storage index of entry %d hash %d maps to entry %d hash %d", i, k, e, pos)
			}
		}
		if _, err := m.Append(leaf); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAppendMax appends MaxAppend receipts in one call (one transaction)
// and reads them back by peer, time and job.
func TestAppendMax(t *testing.T) {
	if testing.Short() {
		t.Skip("signs 1000 receipts")
	}
	ctx := context.Background()
	p, q := newParty(t), newParty(t)
	l := openLog(t, t.TempDir(), p)
	defer l.Close()
	signed := make([]Signed, MaxAppend)
	for i := range signed {
		signed[i] = signBoth(t, p, q, receipt(p, q, fmt.Sprintf("max-%d", i), 0, 1, 60))
	}
	es, err := l.Append(ctx, signed...)
	if err != nil {
		t.Fatalf("append %d receipts: %v", MaxAppend, err)
	}
	if len(es) != MaxAppend || l.Size() != MaxAppend {
		t.Fatalf("got %d entries, log holds %d, want %d", len(es), l.Size(), MaxAppend)
	}
	for _, who := range []party{p, q} {
		got, err := l.ByPeer(who.id)
		if err != nil || len(got) != MaxAppend {
			t.Fatalf("ByPeer: got %d entries (%v), want %d", len(got), err, MaxAppend)
		}
	}
	ts := es[0].Time
	got, err := l.Range(ts, ts.Add(time.Millisecond))
	if err != nil || len(got) != MaxAppend {
		t.Fatalf("Range of the batch's millisecond: got %d entries (%v), want %d", len(got), err, MaxAppend)
	}
	if got, err := l.Range(ts.Add(time.Millisecond), ts.Add(time.Hour)); err != nil || len(got) != 0 {
		t.Fatalf("Range after the batch: got %d entries (%v), want 0", len(got), err)
	}
	if got, err := l.ByJob("max-999"); err != nil || len(got) != 1 || got[0].Index != 999 {
		t.Fatalf("ByJob: got %v (%v), want entry 999", got, err)
	}
	if err := l.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}
