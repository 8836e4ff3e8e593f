package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/badger/v4/y"

	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// FuzzHeadFile: any bytes as the LEDGER_HEAD file of a log of five
// entries. Open succeeds exactly when the file names a size the log holds
// and that size's root, and then rewrites the file to the log's own size
// and root; otherwise it reports ErrCorrupt and leaves the file as it was.
func FuzzHeadFile(f *testing.F) {
	const n = 5
	p, q := newParty(f), newParty(f)
	dir := f.TempDir()
	l, err := Open(dir, Options{Self: p.id, NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	for i := range n {
		if _, err := l.Append(context.Background(), signBoth(f, p, q, receipt(p, q, fmt.Sprintf("job-%d", i), 0, 1, 60))); err != nil {
			f.Fatal(err)
		}
	}
	var roots [n + 1]merkle.Hash
	for i := range roots {
		if roots[i], err = l.RootAt(int64(i)); err != nil {
			f.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, headFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	for _, h := range []head{{Size: 3, Root: roots[3]}, {Size: 0, Root: roots[0]}, {Size: 6, Root: roots[5]}, {Size: 3, Root: roots[2]}, {Size: -1}} {
		b, _ := json.Marshal(h)
		f.Add(b)
	}
	f.Add([]byte(`{"size":2}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"size":1e400}`))
	f.Add(good[:len(good)-1])
	want, _ := json.Marshal(head{Size: n, Root: roots[n]})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, headFile)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var h head
		consistent := json.Unmarshal(data, &h) == nil && h.Size >= 0 && h.Size <= n && h.Root == roots[h.Size]
		l, err := Open(dir, Options{Self: p.id, NoSync: true})
		if err != nil {
			if consistent || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open with head %q: %v", data, err)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
				t.Fatalf("a refused head file was rewritten to %q", after)
			}
			return
		}
		size := l.Size()
		cerr := l.Close()
		if !consistent {
			t.Fatalf("Open accepted head %q", data)
		}
		if size != n || cerr != nil {
			t.Fatalf("size %d, close %v", size, cerr)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(after, want) {
			t.Fatalf("head file %q after a clean close, want %q", after, want)
		}
	})
}

// fuzzTableOptions build and open the seed tables of FuzzCheckTable.
var fuzzTableOptions = table.Options{TableSize: 1 << 20, BlockSize: 4 << 10, BloomFalsePositive: 0.01,
	ChkMode: options.OnBlockRead, Compression: options.None}

// FuzzCheckTable: any bytes as a Badger table file that the MANIFEST
// references. The preflight never panics, passes a table Badger wrote,
// and whatever it passes Badger opens and reads through without panicking
// (Badger opens tables on goroutines of its own, where a panic ends the
// process).
func FuzzCheckTable(f *testing.F) {
	b := table.NewTableBuilder(fuzzTableOptions)
	for i := range 50 {
		b.Add(y.KeyWithTs(fmt.Appendf(nil, "key-%03d", i), 1), y.ValueStruct{Value: fmt.Appendf(nil, "value %d", i)}, 0)
	}
	good := b.Finish()
	b.Close()
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(make([]byte, 8))
	footer := func(index []byte, c *pb.Checksum) []byte {
		// pb.Checksum: field 1 (algo) and field 2 (sum), both varints.
		sum := binary.AppendUvarint([]byte{1 << 3}, uint64(c.Algo))
		sum = binary.AppendUvarint(append(sum, 2<<3), c.Sum)
		out := binary.BigEndian.AppendUint32(append([]byte(nil), index...), uint32(len(index)))
		out = append(out, sum...)
		return binary.BigEndian.AppendUint32(out, uint32(len(sum)))
	}
	f.Add(footer([]byte("index"), &pb.Checksum{Algo: 2, Sum: 1}))
	f.Add(footer([]byte("index"), &pb.Checksum{Algo: pb.Checksum_CRC32C, Sum: y.CalculateChecksum([]byte("index"), pb.Checksum_CRC32C)}))
	dir := f.TempDir()
	path := filepath.Join(dir, "000001.sst")
	if err := os.WriteFile(path, good, 0o600); err != nil {
		f.Fatal(err)
	}
	if err := checkTable(path, options.None); err != nil {
		f.Fatalf("a table Badger wrote: %v", err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if checkTable(path, options.None) != nil {
			return
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("the preflight passed a table Badger panics on: %v", p)
				}
			}()
			opts := fuzzTableOptions
			tb, err := table.OpenInMemoryTable(bytes.Clone(data), 1, &opts)
			if err != nil {
				return
			}
			it := tb.NewIterator(0)
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				_ = it.Value()
			}
		}()
	})
}

// FuzzParseLatest: the latest-receipt index value reads only from its
// own 16-byte encoding, and back to it.
func FuzzParseLatest(f *testing.F) {
	f.Add(latestValue(7, 3))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, v []byte) {
		index, seq, ok := parseLatest(v)
		if ok != (len(v) == 16) {
			t.Fatalf("parseLatest(%x) ok = %t", v, ok)
		}
		if ok && !bytes.Equal(latestValue(index, seq), v) {
			t.Fatalf("parseLatest(%x) = %d, %d", v, index, seq)
		}
	})
}

// TestZeroedTableReported: a table file the MANIFEST references that
// holds only zeros (what a lost mmap sync leaves) makes Open report
// ErrCorrupt; Badger alone would panic on one of its goroutines and end
// the process.
func TestZeroedTableReported(t *testing.T) {
	p, q := newParty(t), newParty(t)
	dir := t.TempDir()
	l := openLog(t, dir, p)
	fill(t, l, p, q, 20)
	if err := l.Close(); err != nil { // flushes the memtable to a table
		t.Fatal(err)
	}
	tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(tables) == 0 {
		t.Fatal("no table file after Close")
	}
	fi, err := os.Stat(tables[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tables[0], make([]byte, fi.Size()), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, Options{Self: p.id})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open with a zeroed table: %v, want ErrCorrupt", err)
	}
	t.Logf("Open: %v", err)
}
