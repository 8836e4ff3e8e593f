package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/ledger/merkle"
)

func openLog(t testing.TB, dir string, self party) *Log {
	t.Helper()
	l, err := Open(dir, Options{Self: self.id})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func TestAppendQueryAndProve(t *testing.T) {
	ctx := context.Background()
	p, q, other := newParty(t), newParty(t), newParty(t)
	dir := t.TempDir()
	l := openLog(t, dir, p)
	var all []Signed
	for j := 0; j < 5; j++ {
		for rank := 0; rank < 3; rank++ {
			req := q
			if j == 4 {
				req = other
			}
			all = append(all, signBoth(t, p, req, receipt(p, req, fmt.Sprintf("job-%d", j), rank, 1, 60*(rank+1))))
		}
	}
	entries, err := l.Append(ctx, all...)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if len(entries) != len(all) || entries[0].Index != 0 || entries[14].Index != 14 {
		t.Fatalf("got %d entries, indexes %d..%d", len(entries), entries[0].Index, entries[len(entries)-1].Index)
	}
	for i := 1; i < len(entries); i++ {
		if entries[i].Prev != entries[i-1].Hash {
			t.Fatalf("entry %d does not chain to %d", i, i-1)
		}
	}
	byJob, err := l.ByJob("job-2")
	if err != nil || len(byJob) != 3 || byJob[0].Index != 6 {
		t.Fatalf("ByJob(job-2) = %d entries (first %v), %v; want 3 from 6", len(byJob), byJob, err)
	}
	byPeer, err := l.ByPeer(other.id)
	if err != nil || len(byPeer) != 3 || byPeer[0].Index != 12 {
		t.Fatalf("ByPeer(other) = %d entries, %v; want 3 from 12", len(byPeer), err)
	}
	if byPeer, _ := l.ByPeer(p.id); len(byPeer) != 15 {
		t.Fatalf("ByPeer(provider) = %d entries, want 15", len(byPeer))
	}
	r5, _ := OpenReceipt(all[5])
	e, err := l.ByReceipt(r5.ID)
	if err != nil || e.Index != 5 {
		t.Fatalf("ByReceipt = %d, %v; want 5", e.Index, err)
	}
	now := time.Now()
	if got, _ := l.Range(now.Add(-time.Minute), now.Add(time.Minute)); len(got) != 15 {
		t.Fatalf("Range around now = %d entries, want 15", len(got))
	}
	if got, _ := l.Range(now.Add(time.Minute), now.Add(time.Hour)); len(got) != 0 {
		t.Fatalf("Range in the future = %d entries, want 0", len(got))
	}

	size, root, err := l.Head()
	if err != nil || size != 15 {
		t.Fatalf("Head = %d, %v", size, err)
	}
	// The root is the RFC 6962 root over the entries' canonical bytes.
	var m merkle.MemStore
	for _, e := range entries {
		m.Append(e.Encode())
	}
	if want, _ := merkle.Root(15, &m); want != root {
		t.Fatalf("root %x, want %x", root[:], want[:])
	}
	old, _ := l.RootAt(7)
	for i := int64(0); i < size; i++ {
		proof, err := l.InclusionProof(i, size)
		if err != nil {
			t.Fatal(err)
		}
		if err := merkle.VerifyInclusion(entries[i].Hash, i, size, proof, root); err != nil {
			t.Fatalf("inclusion of %d: %v", i, err)
		}
		if err := merkle.VerifyInclusion(entries[i].Hash, i, size, proof, old); err == nil {
			t.Fatalf("inclusion of %d verified against another root", i)
		}
	}
	cp, err := l.ConsistencyProof(7, 15)
	if err != nil {
		t.Fatal(err)
	}
	if err := merkle.VerifyConsistency(7, 15, old, root, cp); err != nil {
		t.Fatalf("consistency 7 -> 15: %v", err)
	}
	if err := l.Verify(ctx); err != nil {
		t.Fatalf("Verify: %v", err)
	}

	// Reopen: everything is still there.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, p)
	defer l.Close()
	if size2, root2, _ := l.Head(); size2 != 15 || root2 != root {
		t.Fatalf("after reopen: size %d root %x, want 15 %x", size2, root2[:], root[:])
	}
	if err := l.Verify(ctx); err != nil {
		t.Fatalf("Verify after reopen: %v", err)
	}
	more, err := l.Append(ctx, signBoth(t, p, q, receipt(p, q, "job-9", 0, 1, 10)))
	if err != nil || more[0].Index != 15 || more[0].Prev != entries[14].Hash {
		t.Fatalf("append after reopen: %v, %v", more, err)
	}
}

func TestAppendRefuses(t *testing.T) {
	ctx := context.Background()
	p, q, x, y := newParty(t), newParty(t), newParty(t), newParty(t)
	l := openLog(t, t.TempDir(), p)
	defer l.Close()
	r1 := receipt(p, q, "job-1", 0, 1, 60)
	s1 := signBoth(t, p, q, r1)
	if _, err := l.Append(ctx, s1); err != nil {
		t.Fatal(err)
	}
	provOnly, _ := Sign(p.key, receipt(p, q, "job-1", 1, 1, 60))
	stale := receipt(p, q, "job-1", 0, 1, 90) // same work, same seq, different total
	for _, c := range []struct {
		name string
		s    Signed
		want error
	}{
		{"replayed", s1, ErrReplay},
		{"same seq again", signBoth(t, p, q, stale), ErrReplay},
		{"not a party", signBoth(t, x, y, receipt(x, y, "job-x", 0, 1, 60)), ErrNotParty},
		{"one signature", provOnly, ErrOneSignature},
	} {
		if _, err := l.Append(ctx, c.s); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	// A call with one replay writes nothing.
	fresh := signBoth(t, p, q, receipt(p, q, "job-2", 0, 1, 60))
	if _, err := l.Append(ctx, fresh, s1); !errors.Is(err, ErrReplay) {
		t.Fatalf("mixed call: got %v, want ErrReplay", err)
	}
	if l.Size() != 1 {
		t.Fatalf("size %d after refused calls, want 1", l.Size())
	}
	// A later cumulative receipt supersedes.
	r2 := receipt(p, q, "job-1", 0, 2, 120)
	if _, err := l.Append(ctx, signBoth(t, p, q, r2)); err != nil {
		t.Fatalf("seq 2: %v", err)
	}
	_, got, err := l.Latest(r1.Key())
	if err != nil || got.Seq != 2 || got.Amount != r2.Amount {
		t.Fatalf("Latest = seq %d amount %d, %v; want 2, %d", got.Seq, got.Amount, err, r2.Amount)
	}
	if _, err := l.Append(ctx, signBoth(t, p, q, receipt(p, q, "job-1", 0, 1, 30))); !errors.Is(err, ErrReplay) {
		t.Fatalf("older seq after newer: got %v, want ErrReplay", err)
	}
}

func TestBalancesUseLatestReceipt(t *testing.T) {
	ctx := context.Background()
	p, q, z := newParty(t), newParty(t), newParty(t)
	l := openLog(t, t.TempDir(), p)
	defer l.Close()
	var want Balance
	add := func(prov, req party, r Receipt, counts bool) {
		t.Helper()
		if _, err := l.Append(ctx, signBoth(t, prov, req, r)); err != nil {
			t.Fatal(err)
		}
	}
	// p provides job-a in three cumulative receipts: only the last counts.
	for seq := uint64(1); seq <= 3; seq++ {
		add(p, q, receipt(p, q, "job-a", 0, seq, 600*int(seq)), seq == 3)
	}
	last := receipt(p, q, "job-a", 0, 3, 1800)
	want.Earned += last.Amount
	want.ProviderFees += last.ProviderFee
	want.Receipts++
	// p requests job-b from z.
	rb := receipt(z, p, "job-b", 0, 1, 300)
	add(z, p, rb, true)
	want.Spent += rb.Amount
	want.RequesterFees += rb.RequesterFee
	want.Receipts++
	// A failover replacement on job-a rank 0 (attempt 1), by z for q: p is not a party; skip.
	got, err := l.Balances(p.id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[DefaultIncentivePool] != want {
		t.Fatalf("Balances = %+v, want {%s: %+v}", got, DefaultIncentivePool, want)
	}
	if net := got[DefaultIncentivePool].Net(); net != want.Earned-want.ProviderFees-want.Spent-want.RequesterFees {
		t.Fatalf("Net = %d", net)
	}
	gq, _ := l.Balances(q.id)
	if gq[DefaultIncentivePool].Spent != last.Amount || gq[DefaultIncentivePool].Receipts != 1 {
		t.Fatalf("Balances(q) = %+v, want spent %d over 1 receipt", gq, last.Amount)
	}
}

func TestGroupCommitConcurrent(t *testing.T) {
	ctx := context.Background()
	p, q := newParty(t), newParty(t)
	l := openLog(t, t.TempDir(), p)
	const writers, each = 16, 40
	signed := make([][]Signed, writers)
	for w := range signed {
		for i := 0; i < each; i++ {
			signed[w] = append(signed[w], signBoth(t, p, q, receipt(p, q, fmt.Sprintf("job-%d-%d", w, i), 0, 1, 60)))
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, s := range signed[w] {
				if _, err := l.Append(ctx, s); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if l.Size() != writers*each {
		t.Fatalf("size %d, want %d", l.Size(), writers*each)
	}
	if err := l.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := l.Append(ctx, signed[0][0]); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: got %v", err)
	}
}

func FuzzDecodeEntry(f *testing.F) {
	e := Entry{Index: 7, Time: t0, Kind: KindReceipt, Data: []byte{1, 0, 0}}
	e.Prev[3] = 9
	f.Add(e.Encode())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEntry(b)
		if err != nil {
			return
		}
		if again := e.Encode(); string(again) != string(b) {
			t.Fatalf("decode/encode changed the bytes:\n%x\n%x", b, again)
		}
		if e.Hash != merkle.LeafHash(b) {
			t.Fatal("hash is not the leaf hash of the bytes")
		}
		_, _ = e.Receipt()
	})
}

// TestOpenSizes checks that Open fills in the default Badger sizes and
// refuses a memtable too small for MaxAppend receipts or a negative cache.
func TestOpenSizes(t *testing.T) {
	p := newParty(t)
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"small memtable", Options{MemTableSize: MinMemTableSize - 1}},
		{"negative memtable", Options{MemTableSize: -1}},
		{"negative cache", Options{BlockCacheSize: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Self = p.id
			if l, err := Open(t.TempDir(), tc.o); err == nil {
				l.Close()
				t.Fatalf("Open accepted %+v", tc.o)
			}
		})
	}
	o := Options{Self: p.id}
	if err := o.setSizes(); err != nil || o.MemTableSize != DefaultMemTableSize || o.BlockCacheSize != DefaultBlockCacheSize {
		t.Fatalf("defaults: %v, memtable %d, cache %d", err, o.MemTableSize, o.BlockCacheSize)
	}
}
