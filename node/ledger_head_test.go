package node_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/node"
)

// TestNodeRefusesLedgerWithoutHead: a stopped node's ledger holds a
// receipt and its LEDGER_HEAD is deleted; the node refuses to start with
// ErrHeadMissing naming the file, where it used to start silently.
func TestNodeRefusesLedgerWithoutHead(t *testing.T) {
	dir := t.TempDir()
	n, err := startNode(t, dir, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	appendOneReceipt(t, dir)
	head := filepath.Join(dir, node.LedgerDir, "LEDGER_HEAD")
	if err := os.Remove(head); err != nil {
		t.Fatal(err)
	}
	n, err = startNode(t, dir, testConfig(t))
	if err == nil {
		n.Close()
		t.Fatalf("the node started on a ledger of entries without %s", head)
	}
	if !errors.Is(err, ledger.ErrHeadMissing) || !strings.Contains(err.Error(), head) {
		t.Fatalf("start without the head = %v; want ErrHeadMissing naming %s", err, head)
	}
	t.Logf("start: %v", err)
}

// appendOneReceipt logs one receipt, provided by the node of dir, in its
// ledger while the node is stopped.
func appendOneReceipt(t *testing.T, dir string) {
	t.Helper()
	key, _, err := node.LoadOrCreateIdentity(filepath.Join(dir, node.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	self, _ := peer.IDFromPrivateKey(key)
	reqKey, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := peer.IDFromPrivateKey(reqKey)
	l, err := ledger.Open(filepath.Join(dir, node.LedgerDir), ledger.Options{Self: self, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := ledger.Receipt{
		Job: "job-1", Provider: self.String(), Requester: req.String(), Devices: 1, Class: "CPU-x86", Executor: "wasm",
		Start: t0, End: t0.Add(time.Minute), Issued: t0.Add(time.Minute + time.Millisecond),
		UnitPrice: 2_500_000, ResultDigest: strings.Repeat("ab", 32), Status: ledger.StatusSucceeded, Seq: 1,
	}
	r.Finalize()
	s, err := ledger.Sign(key, r)
	if err == nil {
		s, err = ledger.Countersign(reqKey, s)
	}
	if err == nil {
		_, err = l.Append(context.Background(), s)
	}
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}
