// Package anchortest gives anchoring tests a log to anchor: an in-memory
// RFC 6962 tree of entries "receipt-<i>" that satisfies anchor.Source.
package anchortest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// MemLog is an anchor.Source over an in-memory tree; the zero value is an
// empty log. It is safe for concurrent use.
type MemLog struct {
	mu sync.Mutex
	s  merkle.MemStore
}

// Entry is the bytes of entry i.
func Entry(i int64) []byte { return fmt.Appendf(nil, "receipt-%d", i) }

// Leaf is the leaf hash of entry i.
func Leaf(i int64) merkle.Hash { return merkle.LeafHash(Entry(i)) }

// Add appends n entries.
func (l *MemLog) Add(tb testing.TB, n int) {
	tb.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for range n {
		if _, err := l.s.Append(Entry(l.s.Size())); err != nil {
			tb.Fatal(err)
		}
	}
}

// AddBytes appends one entry of the given bytes, such as a forged one.
func (l *MemLog) AddBytes(tb testing.TB, data []byte) {
	tb.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.s.Append(data); err != nil {
		tb.Fatal(err)
	}
}

// Head implements anchor.Source.
func (l *MemLog) Head() (int64, merkle.Hash, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.s.Size()
	r, err := merkle.Root(n, &l.s)
	return n, r, err
}

// RootAt implements anchor.Source.
func (l *MemLog) RootAt(n int64) (merkle.Hash, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return merkle.Root(n, &l.s)
}

// ConsistencyProof implements anchor.Source.
func (l *MemLog) ConsistencyProof(o, n int64) ([]merkle.Hash, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return merkle.ConsistencyProof(o, n, &l.s)
}

// Inclusion is entry i's inclusion proof in the tree of size entries.
func (l *MemLog) Inclusion(tb testing.TB, i, size int64) []merkle.Hash {
	tb.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	p, err := merkle.InclusionProof(i, size, &l.s)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
