package p2p

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
)

// TestCloseAfterReachabilityChanged starts a network on loopback, lets its
// reachability watcher take an event, then closes it. Under -race it caught
// Close clearing the subscription field that the watcher goroutine read.
func TestCloseAfterReachabilityChanged(t *testing.T) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.MDNS, cfg.NATPortMap, cfg.DHTMode = false, false, DHTModeServer
	n, err := New(cfg, key, "gpumesh-test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			n.Close()
		}
	})

	em, err := n.Host().EventBus().Emitter(new(event.EvtLocalReachabilityChanged))
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	if err := em.Emit(event.EvtLocalReachabilityChanged{Reachability: network.ReachabilityPrivate}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for n.Reachability() != network.ReachabilityPrivate {
		if time.Now().After(deadline) {
			t.Fatalf("reachability %s after 10s, want %s", n.Reachability(), network.ReachabilityPrivate)
		}
		time.Sleep(10 * time.Millisecond)
	}
	closed = true
	if err := n.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}
