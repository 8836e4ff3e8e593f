package anchor

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// fakeChain is a Backend in memory: every sent tx is mined in its own block.
type fakeChain struct {
	mu        sync.Mutex
	id        uint64
	head      uint64
	txs       map[TxHash]Tx
	sends     int
	sendErr   error // Send fails with it while set
	lands     bool  // ... and yet the tx lands, as when only the answer was lost
	lookupErr error // Lookup fails with it while set
}

func newFakeChain() *fakeChain { return &fakeChain{id: 31337, txs: map[TxHash]Tx{}} }

func hashOf(kind string, n uint64) TxHash {
	return sha256.Sum256(binary.BigEndian.AppendUint64([]byte(kind), n))
}

func (c *fakeChain) ChainID(context.Context) (uint64, error) { return c.id, nil }

func (c *fakeChain) Send(_ context.Context, data []byte) (TxHash, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sends++
	h := hashOf("tx", uint64(c.sends))
	if c.sendErr != nil && !c.lands {
		return h, c.sendErr
	}
	c.head++
	c.txs[h] = Tx{Hash: h, From: "0xfeed", Data: append([]byte(nil), data...), Block: c.head, BlockHash: hashOf("block", c.head), GasUsed: 21000 + 16*uint64(len(data))}
	return h, c.sendErr
}

func (c *fakeChain) Lookup(_ context.Context, h TxHash) (Tx, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lookupErr != nil {
		return Tx{}, c.lookupErr
	}
	tx, ok := c.txs[h]
	if !ok {
		return Tx{}, fmt.Errorf("tx %s: %w", h, ErrNotFound)
	}
	tx.Confirmations = c.head - tx.Block + 1
	return tx, nil
}

// drop removes a tx, as a reorg that does not re-include it.
func (c *fakeChain) drop(h TxHash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.txs, h)
	c.head++
}

func (c *fakeChain) set(f func(c *fakeChain)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(c)
}

func (c *fakeChain) sent() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sends
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newKey(t testing.TB) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
