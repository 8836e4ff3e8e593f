package anchor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gpumesh/gpumesh/ledger/anchor/anchortest"
	"github.com/gpumesh/gpumesh/ledger/merkle"
)

type harness struct {
	t     *testing.T
	log   *anchortest.MemLog
	chain *fakeChain
	clock *clock
	key   crypto.PrivKey
	dir   string
	a     *Anchorer

	mu        sync.Mutex
	announced []Anchor
}

func newHarness(t *testing.T, cfg Config) *harness {
	h := &harness{t: t, log: &anchortest.MemLog{}, chain: newFakeChain(), clock: newClock(), key: newKey(t), dir: t.TempDir()}
	h.open(cfg)
	return h
}

// open (re)starts the anchorer over the same dir, as a node restart does.
func (h *harness) open(cfg Config) {
	h.t.Helper()
	a, err := New(cfg, h.log, h.chain, h.key, Options{
		Dir: h.dir, Now: h.clock.Now, Log: quiet(),
		OnAnchored: func(x Anchor) { h.mu.Lock(); h.announced = append(h.announced, x); h.mu.Unlock() },
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.a = a
}

func (h *harness) step() error { return h.a.Step(context.Background()) }

func (h *harness) mustStep() {
	h.t.Helper()
	if err := h.step(); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) announcements() []Anchor {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Anchor(nil), h.announced...)
}

// quiet is a logger for tests; go test -v shows nothing more with it.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func testConfig() Config {
	c := DefaultConfig()
	c.RPCURL = "http://127.0.0.1:8545"
	c.Interval = Duration(time.Hour)
	c.Every = 10
	c.Timeout = Duration(300 * time.Millisecond)
	return c
}

func TestEpochsCloseByCountOrInterval(t *testing.T) {
	h := newHarness(t, testConfig())

	h.mustStep()
	if n := h.chain.sent(); n != 0 {
		t.Fatalf("empty log: %d txs sent, want none", n)
	}
	h.log.Add(t, 9)
	h.mustStep()
	if n := h.chain.sent(); n != 0 {
		t.Fatalf("9 entries, every 10, no interval passed: %d txs, want 0", n)
	}
	h.log.Add(t, 1)
	h.mustStep()
	if n := h.chain.sent(); n != 1 {
		t.Fatalf("10 entries: %d txs, want 1", n)
	}
	h.log.Add(t, 3)
	h.clock.advance(59 * time.Minute)
	h.mustStep()
	if n := h.chain.sent(); n != 1 {
		t.Fatalf("3 entries after 59m: %d txs, want 1", n)
	}
	h.clock.advance(time.Minute)
	h.mustStep()
	if n := h.chain.sent(); n != 2 {
		t.Fatalf("3 entries after 1h: %d txs, want 2", n)
	}
	h.clock.advance(3 * time.Hour)
	h.mustStep()
	if n := h.chain.sent(); n != 2 {
		t.Fatalf("nothing new after 3h: %d txs, want 2 (nothing to anchor = no tx)", n)
	}
	if err := h.a.Flush(context.Background()); err != nil || h.chain.sent() != 2 {
		t.Fatalf("Flush with nothing new: err %v, %d txs, want no tx", err, h.chain.sent())
	}
	h.log.Add(t, 1)
	if err := h.a.Flush(context.Background()); err != nil || h.chain.sent() != 3 {
		t.Fatalf("Flush with 1 new entry: err %v, %d txs, want 3", err, h.chain.sent())
	}

	anchors := h.a.Anchors()
	wantSizes := []int64{10, 13, 14}
	if len(anchors) != len(wantSizes) {
		t.Fatalf("%d anchors, want %d", len(anchors), len(wantSizes))
	}
	for i := range anchors {
		a := &anchors[i]
		cp, err := a.Checkpoint()
		if err != nil {
			t.Fatal(err)
		}
		if cp.Size != wantSizes[i] || a.State != StateConfirmed {
			t.Errorf("anchor %d: size %d state %s, want %d confirmed", i, cp.Size, a.State, wantSizes[i])
		}
		if err := VerifyOnChain(context.Background(), h.chain, a); err != nil {
			t.Errorf("anchor %d: %v", i, err)
		}
		if i > 0 {
			if err := a.Extends(&anchors[i-1]); err != nil {
				t.Errorf("anchor %d does not extend anchor %d: %v", i, i-1, err)
			}
		}
	}
	if got := len(h.announcements()); got != 3 {
		t.Fatalf("%d announcements, want 3", got)
	}
	st := h.a.Status()
	if !st.Enabled || st.Anchored != 14 || st.Head != 14 || st.Last == nil || len(st.Pending) != 0 || st.Error != "" {
		t.Fatalf("status %+v", st)
	}
}

func TestRestartKeepsTheChainOfProofs(t *testing.T) {
	h := newHarness(t, testConfig())
	h.log.Add(t, 10)
	h.mustStep()
	h.open(testConfig()) // a restart: the record comes back from anchors.json
	h.log.Add(t, 10)
	h.mustStep()
	anchors := h.a.Anchors()
	if len(anchors) != 2 {
		t.Fatalf("%d anchors after restart, want 2", len(anchors))
	}
	if anchors[1].PrevSize != 10 {
		t.Fatalf("second anchor starts from %d, want 10", anchors[1].PrevSize)
	}
	if err := anchors[1].Extends(&anchors[0]); err != nil {
		t.Fatal(err)
	}
	onDisk, err := LoadAnchors(h.dir)
	if err != nil || len(onDisk) != 2 {
		t.Fatalf("LoadAnchors: %d anchors, %v", len(onDisk), err)
	}
}

func TestFailedSendIsRetriedWithBackoff(t *testing.T) {
	h := newHarness(t, testConfig())
	h.log.Add(t, 10)
	h.chain.set(func(c *fakeChain) { c.sendErr = fmt.Errorf("eth_sendRawTransaction: %w after 5s", ErrTimeout) })
	err := h.step()
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "rpc timeout after 5s") {
		t.Fatalf("step: %v, want the rpc timeout", err)
	}
	st := h.a.Status()
	if len(st.Pending) != 1 || !strings.Contains(st.Retrying, "did not land") || !strings.Contains(st.Error, "rpc timeout") {
		t.Fatalf("status after a failed send: %+v", st)
	}
	// The pending anchor is on disk: a crash now loses nothing.
	onDisk, _ := LoadAnchors(h.dir)
	if len(onDisk) != 1 || onDisk[0].State != StatePending || onDisk[0].Attempts != 1 {
		t.Fatalf("on disk: %+v", onDisk)
	}
	_ = h.step() // within the backoff: no new try
	if n := h.chain.sent(); n != 1 {
		t.Fatalf("%d sends within the backoff, want 1", n)
	}
	h.clock.advance(time.Second)
	_ = h.step() // second try, fails again: backoff doubles
	h.clock.advance(time.Second)
	_ = h.step()
	if n := h.chain.sent(); n != 2 {
		t.Fatalf("%d sends 1s into a 2s backoff, want 2", n)
	}
	h.chain.set(func(c *fakeChain) { c.sendErr = nil })
	h.clock.advance(time.Second)
	h.mustStep()
	anchors := h.a.Anchors()
	if len(anchors) != 1 || anchors[0].State != StateConfirmed || anchors[0].Attempts != 3 {
		t.Fatalf("after recovery: %d anchors, first %s after %d attempts", len(anchors), anchors[0].State, anchors[0].Attempts)
	}
	if st := h.a.Status(); st.Retrying != "" || st.Error != "" {
		t.Fatalf("status after recovery: %+v", st)
	}
	h.log.Add(t, 10)
	h.mustStep() // the next epoch
	if got := h.a.Status().Anchored; got != 20 {
		t.Fatalf("anchored %d, want 20", got)
	}
}

func TestLandedTxIsAdoptedNotResent(t *testing.T) {
	// The node accepted the tx but its answer timed out: the retry finds
	// the tx on chain instead of paying again.
	h := newHarness(t, testConfig())
	h.log.Add(t, 10)
	h.chain.set(func(c *fakeChain) { c.sendErr, c.lands = ErrTimeout, true })
	if err := h.step(); !errors.Is(err, ErrTimeout) {
		t.Fatalf("step = %v, want the timeout", err)
	}
	h.chain.set(func(c *fakeChain) { c.sendErr, c.lands = nil, false })
	h.clock.advance(time.Minute)
	h.mustStep()
	if n := h.chain.sent(); n != 1 {
		t.Fatalf("%d sends, want 1", n)
	}
	if a := h.a.Anchors(); len(a) != 1 || a[0].State != StateConfirmed {
		t.Fatalf("anchors %+v", a)
	}
}

func TestDroppedAnchorIsResent(t *testing.T) {
	h := newHarness(t, testConfig())
	h.log.Add(t, 10)
	h.mustStep()
	first := h.a.Anchors()[0]
	h.chain.drop(first.Tx)
	h.mustStep()
	if n := h.chain.sent(); n != 1 {
		t.Fatalf("confirmed anchors re-checked %d times within a minute", n-1)
	}
	h.clock.advance(recheckEvery)
	h.mustStep()
	anchors := h.a.Anchors()
	if len(anchors) != 2 {
		t.Fatalf("%d anchors, want the dropped one and its re-send", len(anchors))
	}
	if anchors[0].State != StateDropped || !strings.Contains(anchors[0].Note, "dropped by a reorg") {
		t.Fatalf("dropped anchor: state %s note %q", anchors[0].State, anchors[0].Note)
	}
	re := anchors[1]
	if re.State != StateConfirmed || re.Replaces != first.Tx || !strings.Contains(re.Note, "re-sends "+first.Tx.String()) {
		t.Fatalf("re-sent anchor: %+v", re)
	}
	if err := VerifyOnChain(context.Background(), h.chain, &anchors[0]); err == nil || !strings.Contains(err.Error(), "not found: dropped by a reorg?") {
		t.Fatalf("VerifyOnChain(dropped) = %v", err)
	}
	if err := VerifyOnChain(context.Background(), h.chain, &re); err != nil {
		t.Fatal(err)
	}
	if n := len(h.announcements()); n != 2 {
		t.Fatalf("%d announcements, want 2 (the original and the re-send)", n)
	}
	if st := h.a.Status(); st.Dropped != 1 || st.Last == nil || st.Last.Tx != re.Tx {
		t.Fatalf("status %+v", st)
	}
}

func TestRewrittenLogIsNotAnchored(t *testing.T) {
	h := newHarness(t, testConfig())
	h.log.Add(t, 10)
	h.mustStep()
	// Replace the log by one with different history and more entries.
	h.log = &anchortest.MemLog{}
	h.log.AddBytes(t, []byte("forged"))
	h.log.Add(t, 19)
	h.open(testConfig())
	err := h.step()
	if !errors.Is(err, ErrRewritten) {
		t.Fatalf("step = %v, want ErrRewritten", err)
	}
	if n := h.chain.sent(); n != 1 {
		t.Fatalf("%d txs, want only the first", n)
	}
	if st := h.a.Status(); !strings.Contains(st.Error, "rewritten") {
		t.Fatalf("status error %q", st.Error)
	}
}

func TestVerifyOnChainSaysWhichCheckFailed(t *testing.T) {
	h := newHarness(t, testConfig())
	h.log.Add(t, 10)
	h.mustStep()
	good := h.a.Anchors()[0]
	ctx := context.Background()

	// A second log's anchor, whose tx the first anchor's record now names.
	other := newHarness(t, testConfig())
	other.chain = h.chain
	other.open(testConfig())
	other.log.Add(t, 11)
	other.mustStep()
	otherTx := other.a.Anchors()[0].Tx

	withTx := good
	withTx.Tx = otherTx
	wrongChain := good
	wrongChain.ChainID = 1
	missing := good
	missing.Tx = hashOf("nope", 1)
	for _, tc := range []struct {
		name string
		a    Anchor
		want string
	}{
		{"tx carries another root", withTx, "root on chain "},
		{"another chain", wrongChain, "anchored on chain 1, the node serves chain 31337"},
		{"no such tx", missing, "not found: dropped by a reorg?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyOnChain(ctx, h.chain, &tc.a)
			if !errors.Is(err, ErrNotAnchored) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrNotAnchored saying %q", err, tc.want)
			}
		})
	}
	h.chain.set(func(c *fakeChain) { c.lookupErr = fmt.Errorf("eth_getTransactionByHash: %w after 5s", ErrTimeout) })
	if err := VerifyOnChain(ctx, h.chain, &good); !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "rpc timeout after 5s") {
		t.Fatalf("got %v, want the timeout", err)
	}
}

func TestVerifyEntryAgainstAnchoredRoot(t *testing.T) {
	h := newHarness(t, testConfig())
	h.log.Add(t, 10)
	h.mustStep()
	a := h.a.Anchors()[0]
	ctx := context.Background()
	for i := range int64(10) {
		proof := h.log.Inclusion(t, i, 10)
		leaf := merkle.LeafHash(fmt.Appendf(nil, "receipt-%d", i))
		if err := VerifyEntry(ctx, h.chain, &a, leaf, i, proof); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		forged := merkle.LeafHash([]byte("forged"))
		if err := VerifyEntry(ctx, h.chain, &a, forged, i, proof); err == nil {
			t.Fatalf("a forged entry %d verified", i)
		}
	}
}

func TestOffSaysWhy(t *testing.T) {
	a, err := New(DefaultConfig(), nil, nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := a.Status()
	if st.Enabled || st.Reason != "anchoring off: no chain configured ([anchor] rpc_url)" {
		t.Fatalf("status %+v", st)
	}
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := a.Step(context.Background()); err == nil || !strings.Contains(err.Error(), "anchoring off") {
		t.Fatalf("Step = %v", err)
	}
}

func TestCorruptAnchorsFileIsMovedAside(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(`{"version":1,"anchors":[{"v":1}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := New(testConfig(), &anchortest.MemLog{}, newFakeChain(), newKey(t), Options{Dir: dir, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if st := a.Status(); !strings.Contains(st.FileError, "moved to") {
		t.Fatalf("status %+v", st)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName+".corrupt")); err != nil {
		t.Fatal(err)
	}
}

func TestRunAnchorsUntilCancelled(t *testing.T) {
	log, chain := &anchortest.MemLog{}, newFakeChain()
	cfg := testConfig()
	cfg.Every = 5
	got := make(chan Anchor, 10)
	a, err := New(cfg, log, chain, newKey(t), Options{Dir: t.TempDir(), Poll: time.Hour, Log: quiet(), OnAnchored: func(x Anchor) { got <- x }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	log.Add(t, 5)
	a.Poke() // no need to wait for the hour-long poll
	select {
	case x := <-got:
		if cp, _ := x.Checkpoint(); cp.Size != 5 {
			t.Fatalf("anchored size %d, want 5", cp.Size)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no anchor within 10s of Poke")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
