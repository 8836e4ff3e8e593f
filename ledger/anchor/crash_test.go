package anchor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gpumesh/gpumesh/ledger/anchor/anchortest"
)

// preparingChain is a fakeChain that signs before it submits (a Preparer,
// as the EVM backend is). At each submit it keeps what anchors.json holds
// at that moment: what a node killed right then leaves on disk.
type preparingChain struct {
	*fakeChain
	dir     string
	land    bool   // submit lands the transaction
	atCrash []byte // anchors.json when the last submit ran
}

func (c *preparingChain) Prepare(_ context.Context, data []byte) (TxHash, func(context.Context) error, error) {
	c.mu.Lock()
	c.sends++
	h := hashOf("tx", uint64(c.sends))
	c.mu.Unlock()
	return h, func(context.Context) error {
		c.atCrash, _ = os.ReadFile(filepath.Join(c.dir, FileName))
		if !c.land {
			return nil
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.head++
		c.txs[h] = Tx{Hash: h, From: "0xfeed", Data: append([]byte(nil), data...), Block: c.head, BlockHash: hashOf("block", c.head)}
		return nil
	}, nil
}

// TestKillAroundSubmitLosesNoAnchor: a node killed as its anchor
// transaction is submitted finds that transaction again on restart, from
// the hash it wrote ahead: it adopts one that landed without paying again,
// and signs anew only one that never reached the chain. Each leaves one
// confirmed anchor of the epoch.
func TestKillAroundSubmitLosesNoAnchor(t *testing.T) {
	for _, landed := range []bool{true, false} {
		var log anchortest.MemLog
		log.Add(t, 10)
		key := newKey(t)
		chain := &preparingChain{fakeChain: newFakeChain(), dir: t.TempDir(), land: landed}
		a, err := New(testConfig(), &log, chain, key, Options{Dir: chain.dir, Now: newClock().Now, Log: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Step(context.Background()); err != nil && landed {
			t.Fatal(err)
		}
		// The kill: a restart from what was on disk at the submit.
		after := t.TempDir()
		if err := os.WriteFile(filepath.Join(after, FileName), chain.atCrash, 0o600); err != nil {
			t.Fatal(err)
		}
		chain.dir, chain.land = after, true
		a, err = New(testConfig(), &log, chain, key, Options{Dir: after, Now: newClock().Now, Log: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Step(context.Background()); err != nil {
			t.Fatalf("landed %t: step after the restart: %v", landed, err)
		}
		anchors := a.Anchors()
		want := 1
		if !landed {
			want = 2 // the first was never submitted: signed anew
		}
		if len(anchors) != 1 || anchors[0].State != StateConfirmed || anchors[0].Tx != hashOf("tx", uint64(want)) || chain.sent() != want {
			t.Fatalf("landed %t: %d anchors (first %s in %s), %d transactions signed; want one confirmed in tx %d of %d",
				landed, len(anchors), anchors[0].State, anchors[0].Tx, chain.sent(), want, want)
		}
	}
}

// TestUnansweredLookupIsNotPaidTwice: after a restart, an anchor whose
// transaction was written ahead is not signed again while the chain cannot
// say whether it holds it; once it answers, the landed one is adopted.
func TestUnansweredLookupIsNotPaidTwice(t *testing.T) {
	var log anchortest.MemLog
	log.Add(t, 10)
	key := newKey(t)
	chain := &preparingChain{fakeChain: newFakeChain(), dir: t.TempDir(), land: true}
	a, err := New(testConfig(), &log, chain, key, Options{Dir: chain.dir, Now: newClock().Now, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := t.TempDir()
	if err := os.WriteFile(filepath.Join(after, FileName), chain.atCrash, 0o600); err != nil {
		t.Fatal(err)
	}
	chain.dir = after
	a, err = New(testConfig(), &log, chain, key, Options{Dir: after, Now: newClock().Now, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	chain.set(func(c *fakeChain) { c.lookupErr = fmt.Errorf("eth_getTransactionByHash: %w after 5s", ErrTimeout) })
	if err := a.Step(context.Background()); !errors.Is(err, ErrTimeout) {
		t.Fatalf("step with the chain unreachable: %v, want its timeout", err)
	}
	chain.set(func(c *fakeChain) { c.lookupErr = nil })
	if err := a.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if anchors := a.Anchors(); len(anchors) != 1 || anchors[0].State != StateConfirmed || chain.sent() != 1 {
		t.Fatalf("%d anchors, %d transactions signed; want one, confirmed, signed once", len(anchors), chain.sent())
	}
}
