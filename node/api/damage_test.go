package api

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/anchor"
)

// damageLedgerEntries flips, in the closed ledger in dir, a byte inside
// entry tamper's stored receipt (it still decodes) and the version byte of
// entry garble (it no longer decodes), with Badger directly, as someone
// editing the database would (the key is the ledger's documented
// "e <index>").
func damageLedgerEntries(t *testing.T, dir string, tamper, garble int64) {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	flip := func(i int64, at func(v []byte) int) error {
		key := binary.BigEndian.AppendUint64([]byte{'e'}, uint64(i))
		return db.Update(func(txn *badger.Txn) error {
			item, err := txn.Get(key)
			if err != nil {
				return err
			}
			v, _ := item.ValueCopy(nil)
			v[at(v)] ^= 0x20
			return txn.Set(key, v)
		})
	}
	if err := flip(tamper, func(v []byte) int { return len(v) - 100 }); err != nil {
		t.Fatal(err)
	}
	if err := flip(garble, func([]byte) int { return 0 }); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedEntryListedAsDamaged: two entries of a real ledger edited in
// Badger, one so that it no longer decodes (which made the whole list
// fail) and one so that it does (which was listed as if intact). GET
// /api/v1/receipts lists every other receipt and names the damaged
// entries; a good receipt still shows, a damaged one's answer names the
// damage, and the ledger check still fails at the first.
func TestDamagedEntryListedAsDamaged(t *testing.T) {
	const n, bad, garbled = 40, 3, 7
	prov, req := newParty(t), newParty(t)
	dir := t.TempDir()
	l, err := ledger.Open(dir, ledger.Options{Self: prov.id, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range n {
		es, err := l.Append(context.Background(), signed(t, prov, req, fmt.Sprintf("job-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		r, _ := es[0].Receipt()
		ids = append(ids, r.ID)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	damageLedgerEntries(t, dir, bad, garbled)
	if l, err = ledger.Open(dir, ledger.Options{Self: prov.id, NoSync: true}); err != nil {
		t.Fatalf("Open with entries %d and %d damaged (not in the checked tail): %v", bad, garbled, err)
	}
	defer l.Close()
	h := Handler(fakeBackend{&LedgerView{Log: l, Self: prov.id, Status: anchor.Status{Reason: "off"}, NoChain: "off"}})

	for _, query := range []string{"", "?peer=" + req.id.String(), "?job=job-3"} {
		var list Receipts
		if code, msg := getJSON(t, h, "GET", "/api/v1/receipts"+query, nil, &list); code != 200 {
			t.Fatalf("list%s: %d %s", query, code, msg)
		}
		want, damaged := n-2, []int64{garbled, bad}
		if query == "?job=job-3" {
			want, damaged = 0, damaged[1:]
		}
		var got []int64
		for _, d := range list.Damaged {
			got = append(got, d.Index)
			if !strings.Contains(d.Error, fmt.Sprintf("entry %d", d.Index)) {
				t.Errorf("list%s: damage %q does not name entry %d", query, d.Error, d.Index)
			}
		}
		if len(list.Receipts) != want || fmt.Sprint(got) != fmt.Sprint(damaged) {
			t.Fatalf("list%s: %d receipts, damaged %v; want %d and entries %v named", query, len(list.Receipts), got, want, damaged)
		}
		for _, row := range list.Receipts {
			if row.Index == bad || row.Index == garbled {
				t.Fatalf("list%s shows the damaged entry as a receipt", query)
			}
		}
	}
	var p ReceiptProof
	if code, msg := getJSON(t, h, "GET", "/api/v1/receipts/"+ids[bad+1], nil, &p); code != 200 || p.Receipt.ID != ids[bad+1] {
		t.Fatalf("show of good entry %d: %d %s", bad+1, code, msg)
	}
	for _, i := range []int{bad, garbled} {
		if code, msg := getJSON(t, h, "GET", "/api/v1/receipts/"+ids[i], nil, &p); code == 200 || !strings.Contains(msg, fmt.Sprintf("corrupt at entry %d", i)) {
			t.Fatalf("show of damaged entry %d: %d %q, want an error naming it", i, code, msg)
		}
	}
	var check LedgerCheck
	if code, msg := getJSON(t, h, "GET", "/api/v1/ledger/verify", nil, &check); code != 200 || check.OK || check.Corrupt == nil || check.Corrupt.Index != bad {
		t.Fatalf("verify: %d %s %+v, want a failed check at entry %d", code, msg, check.Corrupt, bad)
	}
}
