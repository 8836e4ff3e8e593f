package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/node"
)

// offlineLedger makes a data dir with an identity and a ledger of n
// receipts in which that node is the provider, closed, as a stopped node
// leaves it; it returns the dir and the receipt IDs by entry.
func offlineLedger(t *testing.T, n int) (dir string, ids []string) {
	t.Helper()
	dir = t.TempDir()
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
	for i := range n {
		d := sha256.Sum256(fmt.Append(nil, i))
		r := ledger.Receipt{
			Job: fmt.Sprintf("job-%d", i), Provider: self.String(), Requester: req.String(), Devices: 1, Class: "CPU-x86", Executor: "wasm",
			Start: t0, End: t0.Add(time.Minute), Issued: t0.Add(time.Minute + time.Millisecond),
			UnitPrice: 2_500_000, ResultDigest: hex.EncodeToString(d[:]), Status: ledger.StatusSucceeded, Seq: 1,
		}
		r.Finalize()
		s, err := ledger.Sign(key, r)
		if err == nil {
			s, err = ledger.Countersign(reqKey, s)
		}
		if err != nil {
			t.Fatal(err)
		}
		es, err := l.Append(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := es[0].Receipt()
		ids = append(ids, got.ID)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, ids
}

// gpumeshCLI runs the CLI in process and returns stdout, stderr and the
// exit status.
func gpumeshCLI(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestOfflineMissingHead: with LEDGER_HEAD deleted from a stopped node's
// ledger of entries, `receipts list` and `verify --all` fail naming the
// file and the repair; `verify --all --rebuild-head` repairs it after
// checking every entry, and the ledger reads again.
func TestOfflineMissingHead(t *testing.T) {
	dir, _ := offlineLedger(t, 3)
	head := filepath.Join(dir, node.LedgerDir, "LEDGER_HEAD")
	if err := os.Remove(head); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := gpumeshCLI("receipts", "list", "--data-dir", dir)
	if code == ExitOK || !strings.Contains(errOut, head) || !strings.Contains(errOut, "--rebuild-head") {
		t.Fatalf("receipts list without the head = exit %d:\n%s%s\nwant a failure naming %s and --rebuild-head", code, out, errOut, head)
	}
	out, errOut, code = gpumeshCLI("receipts", "verify", "--all", "--data-dir", dir)
	if code != ExitFailure || !strings.Contains(out, "LEDGER_HEAD is missing") {
		t.Fatalf("verify --all without the head = exit %d:\n%s%s", code, out, errOut)
	}
	if out, errOut, code = gpumeshCLI("receipts", "verify", "--all", "--rebuild-head", "--data-dir", dir); code != ExitOK {
		t.Fatalf("verify --all --rebuild-head = exit %d:\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(head); err != nil {
		t.Fatalf("no head after --rebuild-head: %v", err)
	}
	if out, errOut, code = gpumeshCLI("receipts", "list", "--data-dir", dir); code != ExitOK || !strings.Contains(out, "3 receipts") {
		t.Fatalf("receipts list after the repair = exit %d:\n%s%s", code, out, errOut)
	}
}

// TestOfflineDamagedEntry: one entry of a stopped node's ledger edited in
// Badger. `receipts list` shows the other receipts and names the damaged
// entry, `show` of a good one works and of the damaged one names the
// damage, and `verify --all` fails naming its index.
func TestOfflineDamagedEntry(t *testing.T) {
	const n, bad = 24, 2
	dir, ids := offlineLedger(t, n)
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(dir, node.LedgerDir)).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	key := binary.BigEndian.AppendUint64([]byte{'e'}, bad) // the ledger's "e <index>"
	err = db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, _ := item.ValueCopy(nil)
		v[0] ^= 0xff // no longer decodes
		return txn.Set(key, v)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := gpumeshCLI("receipts", "list", "--data-dir", dir)
	if code != ExitOK || !strings.Contains(out, fmt.Sprintf("%d receipts", n-1)) || !strings.Contains(out, "DAMAGED  entry 2:") {
		t.Fatalf("receipts list = exit %d:\n%s%s\nwant %d receipts and entry %d marked damaged", code, out, errOut, n-1, bad)
	}
	if out, errOut, code = gpumeshCLI("receipts", "show", ids[bad+1], "--data-dir", dir); code != ExitOK || !strings.Contains(out, ids[bad+1]) {
		t.Fatalf("show of a good receipt = exit %d:\n%s%s", code, out, errOut)
	}
	if out, errOut, code = gpumeshCLI("receipts", "show", ids[bad], "--data-dir", dir); code == ExitOK || !strings.Contains(errOut, "corrupt at entry 2") {
		t.Fatalf("show of the damaged receipt = exit %d:\n%s%s\nwant a failure naming entry %d", code, out, errOut, bad)
	}
	if out, errOut, code = gpumeshCLI("receipts", "verify", "--all", "--data-dir", dir); code != ExitFailure || !strings.Contains(out, "entry 2") {
		t.Fatalf("verify --all = exit %d:\n%s%s\nwant exit 1 naming entry %d", code, out, errOut, bad)
	}
}
