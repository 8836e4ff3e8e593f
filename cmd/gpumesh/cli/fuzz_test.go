package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// FuzzReadAnchors: any bytes as the node's anchors file, read by `gpumesh
// receipts` while the node is offline. The CLI never changes the file and
// accepts exactly the files the node's anchorer accepts, with the same
// anchors.
func FuzzReadAnchors(f *testing.F) {
	key, _, _ := crypto.GenerateEd25519Key(nil)
	cp := &anchor.Checkpoint{Size: 3, Root: merkle.LeafHash([]byte("root")), Time: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	env, err := cp.Sign(key)
	if err != nil {
		f.Fatal(err)
	}
	a := anchor.Anchor{Envelope: env, ChainID: 31337, Tx: anchor.TxHash{1}, Block: 7, BlockHash: anchor.TxHash{7}, State: anchor.StateConfirmed}
	one, _ := json.Marshal(map[string]any{"version": anchor.FileVersion, "anchors": []anchor.Anchor{a, a}})
	f.Add(one)
	f.Add([]byte(`{"version":1,"anchors":[]}`))
	f.Add([]byte(`{"version":1,"anchors":[null]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{`))
	cliDir, anchorerDir := f.TempDir(), f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(cliDir, anchor.FileName)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(anchorerDir, anchor.FileName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readAnchors(cliDir)
		want, werr := anchor.LoadAnchors(anchorerDir)
		if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
			t.Fatal("the CLI changed the anchors file")
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("the CLI says %v, the anchorer %v", err, werr)
		}
		if err != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("the CLI read %d anchors, the anchorer %d", len(got), len(want))
		}
		for i := range got {
			b1, _ := json.Marshal(got[i])
			b2, _ := json.Marshal(want[i])
			if !bytes.Equal(b1, b2) {
				t.Fatalf("anchor %d: the CLI read\n%s\nthe anchorer\n%s", i, b1, b2)
			}
		}
	})
}
