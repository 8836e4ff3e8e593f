package p2p

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// TestRelayCandidatesBootstrapFirst: before any connection, autorelay's
// candidates are the bootstrap peers, at most num, never the node itself
// (a bootstrap list may hold our own address).
func TestRelayCandidatesBootstrapFirst(t *testing.T) {
	ids := make([]peer.ID, 3)
	keys := make([]crypto.PrivKey, 3)
	for i := range ids {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
		ids[i], _ = peer.IDFromPrivateKey(k)
	}
	cfg := DefaultConfig()
	// ids[0] is the node itself.
	for i, id := range ids {
		cfg.Bootstrap = append(cfg.Bootstrap, "/ip4/192.0.2."+string(rune('1'+i))+"/tcp/4101/p2p/"+id.String())
	}
	n, err := New(cfg, keys[0], "gpumesh-test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	collect := func(num int) []peer.ID {
		var got []peer.ID
		for p := range n.relayCandidates(context.Background(), num) {
			got = append(got, p.ID)
		}
		return got
	}
	for _, tc := range []struct {
		num  int
		want []peer.ID
	}{
		{num: 10, want: ids[1:]},
		{num: 1, want: ids[1:2]},
		{num: 0, want: nil},
	} {
		got := collect(tc.num)
		if len(got) != len(tc.want) {
			t.Fatalf("num %d: got %v, want %v", tc.num, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("num %d: candidate %d is %s, want %s", tc.num, i, got[i], tc.want[i])
			}
		}
	}
}
