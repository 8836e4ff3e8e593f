package p2p_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gpumesh/gpumesh/p2p"
)

// TestNewStreamPastBackoff: a provider that was down a moment ago (a
// failed dial put its address in the swarm's backoff) and is back on the
// same address is refused by NewStream until the backoff ends, and
// reached by NewStreamPastBackoff at once.
func TestNewStreamPastBackoff(t *testing.T) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	first, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	addr := first.Addrs()[0]
	id := first.ID()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	a, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.Peerstore().AddAddrs(id, []ma.Multiaddr{addr}, peerstore.PermanentAddrTTL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const proto = "/gpumesh/test-backoff/1"
	if _, err := a.NewStream(ctx, id, proto); err == nil {
		t.Fatal("a stream to a closed host")
	}

	// The provider comes back on the same address.
	back, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrs(addr), libp2p.DisableRelay())
	if err != nil {
		t.Skipf("skipped: the address %s could not be taken again: %v", addr, err)
	}
	defer back.Close()
	back.SetStreamHandler(proto, func(s network.Stream) { _ = s.Close() })

	if _, err := a.NewStream(ctx, id, proto); !errors.Is(err, swarm.ErrDialBackoff) {
		t.Fatalf("plain NewStream: %v, want the dial backoff (else this test shows nothing)", err)
	} else {
		t.Logf("plain NewStream: %v", err)
	}
	s, err := p2p.NewStreamPastBackoff(ctx, a, id, proto)
	if err != nil {
		t.Fatalf("past the backoff: %v", err)
	}
	_ = s.Close()
	if got := a.Network().Connectedness(id); got != network.Connected {
		t.Errorf("connectedness %v, want connected", got)
	}
}
