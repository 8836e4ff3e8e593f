package anchor

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadAnchors: any bytes as the anchors file. What loads is a list of
// valid anchors that saves to a file loading back to the same anchors
// (the newest MaxKept); what does not load gives no anchors and an error
// wrapping ErrCorrupt, and the file is moved aside intact, so the next
// load starts clean.
func FuzzLoadAnchors(f *testing.F) {
	a := testAnchor(f)
	b := *a
	b.State, b.Tx, b.Block, b.BlockHash = StatePending, TxHash{}, 0, TxHash{}
	for _, list := range [][]*Anchor{{a}, {a, &b}, {}} {
		data, err := json.MarshalIndent(anchorsFile{Version: FileVersion, Anchors: list}, "", "  ")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"version":1,"anchors":[null]}`))
	f.Add([]byte(`{"version":2,"anchors":[]}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"anchors":[{"v":1}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, FileName)
		os.Remove(path + ".corrupt")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := LoadAnchors(dir)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || got != nil {
				t.Fatalf("LoadAnchors: %d anchors, %v", len(got), err)
			}
			if _, serr := os.Stat(path); !errors.Is(serr, os.ErrNotExist) {
				t.Fatalf("the unusable file is still in place: %v", serr)
			}
			if aside, _ := os.ReadFile(path + ".corrupt"); !bytes.Equal(aside, data) {
				t.Fatal("the file moved aside is not the file that was read")
			}
			if again, err := LoadAnchors(dir); again != nil || err != nil {
				t.Fatalf("after moving the file aside: %d anchors, %v", len(again), err)
			}
			return
		}
		for i, a := range got {
			if a == nil || a.Validate() != nil {
				t.Fatalf("anchor %d loaded but does not validate", i)
			}
		}
		if err := saveAnchors(dir, got); err != nil {
			t.Fatalf("save what loaded: %v", err)
		}
		back, err := LoadAnchors(dir)
		if err != nil {
			t.Fatalf("a saved file does not load: %v", err)
		}
		want := got[max(0, len(got)-MaxKept):]
		if len(back) != len(want) {
			t.Fatalf("saved %d anchors, loaded %d", len(want), len(back))
		}
		for i := range back {
			b1, _ := json.Marshal(want[i])
			b2, _ := json.Marshal(back[i])
			if !bytes.Equal(b1, b2) {
				t.Fatalf("anchor %d changed on save:\n%s\n%s", i, b1, b2)
			}
		}
	})
}
