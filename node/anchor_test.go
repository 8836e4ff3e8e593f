package node_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/ledger/anchor/evm/evmtest"
	"github.com/gpumesh/gpumesh/ledger/merkle"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestReceiptsAnchoredAndAnnounced: a requester and a provider anchor their
// ledgers on the dev chain after a job; each hears the other's anchor on
// the anchors topic, the anchor checks out on chain, and the provider's
// receipt is proven included in the root the provider anchored, which no
// other root accepts.
func TestReceiptsAnchoredAndAnnounced(t *testing.T) {
	rpc := evmtest.RPC(t)
	module := executortest.WasmModule(t, "copy")
	keys := []string{evmtest.FundedKey(t, rpc), evmtest.FundedKey(t, rpc)}
	f := nodetest.Start(t, 2, nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i > 0
		c.Anchor.RPCURL = rpc
		c.Anchor.Key = anchor.Secret(keys[i])
		c.Anchor.Every = 1
	}})
	f.WaitHeard(t, 30*time.Second)
	req, prov := f.Nodes[0], f.Nodes[1]
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("anchor me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v, err := req.Market().Submit(ctx, market.Spec{Module: module, Inputs: []string{in}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = req.Market().Wait(ctx, v.ID); err != nil || v.State != market.StateSucceeded {
		t.Fatalf("job %s: %s %v", v.State, v.Error, err)
	}
	if len(v.Usage) != 1 || len(v.Usage[0].Receipts) != 1 {
		t.Fatalf("usage %+v: want one receipt", v.Usage)
	}
	id := v.Usage[0].Receipts[0]
	// Each side anchors its ledger and hears the other's anchor.
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		_, a := req.PeerAnchor(prov.PeerID())
		_, b := prov.PeerAnchor(req.PeerID())
		return a && b
	}, func() string {
		return fmt.Sprintf("anchors not heard; requester: %+v; provider: %+v", req.Anchoring(), prov.Anchoring())
	})
	st := prov.Anchoring()
	if !st.Enabled || st.Last == nil || st.Last.GasUsed == 0 {
		t.Fatalf("provider's anchoring %+v", st)
	}
	t.Logf("provider anchored size %d in tx %s, %d gas", st.Anchored, st.Last.Tx, st.Last.GasUsed)
	a, _ := req.PeerAnchor(prov.PeerID())
	if err := anchor.VerifyOnChain(ctx, req.Chain(), &a); err != nil {
		t.Fatalf("the provider's announced anchor on chain: %v", err)
	}
	cp, err := a.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	// The provider's receipt, proven against the root it anchored.
	e, err := prov.Ledger().ByReceipt(id)
	if err != nil {
		t.Fatal(err)
	}
	if e.Index >= cp.Size {
		t.Fatalf("receipt at %d not under the anchored size %d", e.Index, cp.Size)
	}
	proof, err := prov.Ledger().InclusionProof(e.Index, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	leaf := merkle.LeafHash(e.Encode())
	if err := anchor.VerifyEntry(ctx, req.Chain(), &a, leaf, e.Index, proof); err != nil {
		t.Fatalf("inclusion against the anchored root: %v", err)
	}
	other := cp.Root
	other[0] ^= 1
	if err := merkle.VerifyInclusion(leaf, e.Index, cp.Size, proof, other); err == nil {
		t.Error("the inclusion proof verified against another root")
	}
}
