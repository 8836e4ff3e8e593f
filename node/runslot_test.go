package node_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// TestRunSlotSiege: item 2 of issue 16. Fresh identities each hold a run
// stream to every provider, one byte sent and then silence, again as soon
// as the provider ends it. Each stream once reserved a run's 5 MiB before
// its request was read, so a dozen filled a provider's run protocol: an
// honest 2-worker job then failed, blamed its providers as "lost before
// it ran anything" and hung. Now the honest job succeeds, no provider is
// lost, and none loses reputation.
func TestRunSlotSiege(t *testing.T) {
	if testing.Short() {
		t.Skip("a 5-node scenario; runs without -short")
	}
	b := startBadFleet(t, nodetest.BadActor{})
	provs := b.Nodes[1:]
	sybils := nodetest.Sybils(t, 14, nodetest.AttackerOptions{})
	// Generous: compiling the module under -race on a loaded machine is slow.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	hold, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	for _, s := range sybils {
		if err := s.Join(ctx, provs...); err != nil {
			t.Fatal(err)
		}
		for _, p := range provs {
			wg.Go(func() {
				for hold.Err() == nil {
					s.Hold(hold, p.PeerID(), run.Protocol, []byte{0x80})
				}
			})
		}
	}
	// Wait until every provider holds every Sybil's stream.
	deadline := time.Now().Add(20 * time.Second)
	for _, p := range provs {
		for inbound(p.Network().Host().Network(), run.Protocol) < len(sybils) {
			if time.Now().After(deadline) {
				t.Fatalf("%s holds %d run streams, want %d", p.PeerID(), inbound(p.Network().Host().Network(), run.Protocol), len(sybils))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	book := b.req.Reputation()
	before := map[peer.ID]float64{}
	for _, p := range provs {
		before[p.PeerID()] = book.Score(p.PeerID())
	}
	v := b.run(ctx, t, 10, nil) // fails the test unless the job succeeded
	if e, ok := badEvent(v, "lost", "", ""); ok {
		t.Errorf("a provider was lost: %s", e.Text)
	}
	for _, p := range provs {
		if s := book.Score(p.PeerID()); s < before[p.PeerID()] {
			t.Errorf("reputation of %s fell from %.3f to %.3f", p.PeerID(), before[p.PeerID()], s)
		}
	}
}

// inbound is how many inbound streams of proto n's resource manager
// counts.
func inbound(n network.Network, proto protocol.ID) int {
	var k int
	_ = n.ResourceManager().ViewProtocol(proto, func(s network.ProtocolScope) error {
		k = s.Stat().NumStreamsInbound
		return nil
	})
	return k
}

// TestFailoverWithoutBidsFailsPromptly: a job whose lost provider nobody
// can replace, while this node runs no other job that could free one,
// fails at once with the reason; it once sat "waiting" for other jobs to
// end, 2 minutes a time, three times.
func TestFailoverWithoutBidsFailsPromptly(t *testing.T) {
	if testing.Short() {
		t.Skip("a 3-node scenario; runs without -short")
	}
	f := nodetest.Start(t, 3, nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i > 0
		if i > 0 {
			c.Offer.Prices = []string{fmt.Sprintf("cpu=%.2f", 0.1*float64(i))}
		}
		c.Market.HeartbeatInterval = p2p.Duration(500 * time.Millisecond)
		c.Market.VerifyClass = market.VerifyOff
	}})
	f.WaitHeard(t, 30*time.Second)
	f.SetBadActor(1, nodetest.BadActor{NeverAnswer: true})
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("gpumesh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req := f.Nodes[0].Market()
	v, err := req.Submit(ctx, market.Spec{Workers: 2, Module: executortest.WasmModule(t, "ticks"), Inputs: []string{in},
		Args: []string{"-n", "10", "-every", "50ms"}})
	if err != nil {
		t.Fatal(err)
	}
	v, err = req.Wait(ctx, v.ID)
	if err != nil {
		v, _ = req.Job(v.ID)
		for _, e := range v.Events {
			t.Logf("%s %-12s %s", e.At.Format("15:04:05.000"), e.Kind, e.Text)
		}
		t.Fatalf("job still %s after a minute: %v", v.State, err)
	}
	if v.State != market.StateFailed || !strings.Contains(v.Error, "no usable bid") {
		t.Fatalf("state %s (%s), want failed for want of a replacement", v.State, v.Error)
	}
	if _, ok := badEvent(v, "waiting", "", ""); ok {
		t.Error("the job waited for other jobs it does not have")
	}
}
