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

// TestSimStallRepro is the reproduction of the stall docs/scale.md
// describes: 16 full nodes on the simulated network, in a synctest bubble,
// half of them dialled again by every other node every 30 s (virtual), for
// 30 rounds. Before simQUIC it stopped at 15 virtual minutes in 3 of 3
// runs: AutoNAT v2's dial-back host, which go-libp2p builds without
// simlibp2p's QUIC reuse options, dialled from a real UDP socket, and its
// reader's IO wait is not a durable block, so the bubble's clock stood
// still. With simQUIC it runs its 26 virtual minutes (~90 s on two busy
// cores), so it stays behind GPUMESH_STALL_REPRO to keep `go test` short:
//
//	GPUMESH_STALL_REPRO=1 go test ./node/nodetest -run SimStallRepro -v -timeout 5m
func TestSimStallRepro(t *testing.T) {
	if os.Getenv("GPUMESH_STALL_REPRO") == "" {
		t.Skip("26 virtual minutes of redialling (~90 s): set GPUMESH_STALL_REPRO=1 to run it")
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
