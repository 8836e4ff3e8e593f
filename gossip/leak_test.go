package gossip

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"go.uber.org/goleak"
)

// TestNoGoroutineOutlivesClose: two routers that exchanged a message, then
// closed with their hosts, leave no goroutine behind: not their readers,
// their announcer, nor GossipSub's own (which ends with the context the
// router cancels).
func TestNoGoroutineOutlivesClose(t *testing.T) {
	before := goleak.IgnoreCurrent()
	a, ha := startLoopbackRouter(t)
	b, hb := startLoopbackRouter(t)
	got := make(chan Received, 16)
	b.Allow(TopicJobs, HeartbeatType)
	a.Allow(TopicJobs, HeartbeatType)
	b.Handle(TopicJobs, func(r Received) {
		select {
		case got <- r:
		default:
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ha.Connect(ctx, peer.AddrInfo{ID: hb.ID(), Addrs: hb.Addrs()}); err != nil {
		t.Fatal(err)
	}
	// Publish until b hears one: the mesh forms after a GossipSub heartbeat.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for seq := uint64(1); ; seq++ {
		now := time.Now()
		if err := a.Publish(ctx, TopicJobs, &Heartbeat{Seq: seq, Sent: now, Expires: now.Add(time.Minute), Agent: "leak-test"}); err != nil {
			t.Fatalf("publish: %v", err)
		}
		select {
		case r := <-got:
			if r.From != ha.ID() {
				t.Fatalf("received from %s, want %s", r.From, ha.ID())
			}
		case <-tick.C:
			continue
		case <-ctx.Done():
			t.Fatal("b heard nothing from a in 30s")
		}
		break
	}

	for _, r := range []*Router{a, b, a} { // twice is fine
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []host.Host{ha, hb} {
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
	}
	goleak.VerifyNone(t, before)
}

// startLoopbackRouter starts a router on a host listening on loopback; the
// caller closes both.
func startLoopbackRouter(t *testing.T) (*Router, host.Host) {
	t.Helper()
	key, _ := newKey(t)
	h, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() }) // on failure; twice is fine
	r, err := New(DefaultConfig(), h, key, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r, h
}
