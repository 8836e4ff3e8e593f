package evm

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/rpc"

	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/ledger/anchor/evm/evmtest"
)

func dialAnvil(t *testing.T) (*EVM, anchor.Config) {
	t.Helper()
	cfg := anchor.DefaultConfig()
	cfg.RPCURL = evmtest.RPC(t)
	cfg.Timeout = anchor.Duration(10 * time.Second)
	cfg.Every = 8
	e, err := Dial(context.Background(), cfg, func(k string) string {
		if k == anchor.DefaultKeyEnv {
			return evmtest.AnvilKey
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if _, err := e.ChainID(context.Background()); err != nil {
		t.Fatalf("the dev chain at %s does not answer: %v", cfg.RPCURL, err)
	}
	return e, cfg
}

// TestAnvilAnchorsAndProofs anchors a growing log on the real dev chain over
// JSON-RPC and checks every anchor, and the proofs against the anchored
// roots, on chain.
func TestAnvilAnchorsAndProofs(t *testing.T) {
	e, cfg := dialAnvil(t)
	r := newRig(t, cfg, e)
	ctx := context.Background()

	for _, n := range []int{8, 8, 5, 1} { // epochs by count, count, then forced
		r.log.Add(t, n)
		if err := r.a.Step(ctx); err != nil {
			t.Fatal(err)
		}
		if n < 8 {
			r.flush(t)
		}
	}
	anchors := confirmed(r.a)
	if len(anchors) != 4 {
		t.Fatalf("%d confirmed anchors, want 4: %+v", len(anchors), r.a.Status())
	}
	checkProofs(t, e, r.log, anchors)

	// The calldata is exactly the commitment, and its gas is the same for
	// every anchor whatever the log's size.
	for _, a := range anchors {
		tx, err := e.Lookup(ctx, a.Tx)
		if err != nil {
			t.Fatal(err)
		}
		cp, _ := a.Checkpoint()
		if !bytes.Equal(tx.Data, anchor.CommitmentOf(cp).Encode()) {
			t.Fatalf("tx %s carries %x", a.Tx, tx.Data)
		}
		if !strings.EqualFold(tx.From, e.Address()) || a.GasUsed == 0 || a.GasUsed > 30_000 {
			t.Fatalf("tx %s from %s gas %d", a.Tx, tx.From, a.GasUsed)
		}
	}
	t.Logf("gas used by one anchor on anvil: %d (calldata %d bytes); sizes %v", anchors[0].GasUsed, anchor.CommitmentSize, sizes(anchors))
}

// TestAnvilRevertDropsAnchor reverts the dev chain under a confirmed anchor
// (evm_snapshot/evm_revert: its block and transaction are gone); the
// anchorer notices, marks it dropped and re-sends it.
func TestAnvilRevertDropsAnchor(t *testing.T) {
	e, cfg := dialAnvil(t)
	rc, err := rpc.DialContext(context.Background(), cfg.RPCURL)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ctx := context.Background()
	var snap string
	if err := rc.CallContext(ctx, &snap, "evm_snapshot"); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, cfg, e)
	r.log.Add(t, 8)
	if err := r.a.Step(ctx); err != nil {
		t.Fatal(err)
	}
	first := confirmed(r.a)
	if len(first) != 1 {
		t.Fatalf("%d confirmed anchors, want 1", len(first))
	}
	var ok bool
	if err := rc.CallContext(ctx, &ok, "evm_revert", snap); err != nil || !ok {
		t.Fatalf("evm_revert: %v %v", ok, err)
	}
	if err := anchor.VerifyOnChain(ctx, e, &first[0]); err == nil || !strings.Contains(err.Error(), "dropped by a reorg?") {
		t.Fatalf("VerifyOnChain after the revert = %v", err)
	}
	r.clock.advance(time.Minute) // confirmed anchors are re-checked every minute
	if err := r.a.Step(ctx); err != nil {
		t.Fatal(err)
	}
	all := r.a.Anchors()
	if len(all) != 2 || all[0].State != anchor.StateDropped || all[1].State != anchor.StateConfirmed || all[1].Replaces != first[0].Tx {
		t.Fatalf("after the revert: %+v", r.a.Status())
	}
	t.Logf("dropped: %s; re-sent: %s", all[0].Note, all[1].Note)
	checkProofs(t, e, r.log, all[1:])
}

func sizes(anchors []anchor.Anchor) []int64 {
	var out []int64
	for _, a := range anchors {
		cp, _ := a.Checkpoint()
		out = append(out, cp.Size)
	}
	return out
}
