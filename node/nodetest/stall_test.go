package nodetest_test

import (
	"context"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/node/nodetest"
)

// TestSimStallRepro reproduces the stall docs/scale.md describes: 16 full
// nodes on the simulated network, in a synctest bubble, half of them dialled
// again by every other node every 30 s (virtual). On Go 1.26.8 it stops
// after about 15 virtual minutes (some 25 s of CPU): the test goroutine
// sleeps in time.Sleep, every goroutine of the bubble is durably blocked,
// and the virtual clock never moves again, so the test hangs until its
// -timeout. The same dialling between bare libp2p hosts on the same
// simulated network runs 20 virtual minutes without a stall. It is skipped
// unless GPUMESH_STALL_REPRO is set:
//
//	GPUMESH_STALL_REPRO=1 go test ./node/nodetest -run SimStallRepro -v -timeout 5m
func TestSimStallRepro(t *testing.T) {
	if os.Getenv("GPUMESH_STALL_REPRO") == "" {
		t.Skip("hangs on this Go: set GPUMESH_STALL_REPRO=1 to run the reproduction")
	}
	synctest.Test(t, func(t *testing.T) {
		s := nodetest.StartScale(t, 16, nodetest.ScaleOptions{Seed: 1})
		for round := range 30 {
			for i, a := range s.Nodes {
				for j, b := range s.Nodes {
					if i == j || j%2 == 0 {
						continue
					}
					h := a.Network().Host()
					_ = h.Network().ClosePeer(b.PeerID())
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					_ = h.Connect(ctx, peer.AddrInfo{ID: b.PeerID(), Addrs: b.Network().Host().Addrs()})
					cancel()
				}
			}
			t.Logf("round %d at %s (virtual)", round, time.Now().Format(time.TimeOnly))
			time.Sleep(30 * time.Second)
		}
	})
}
