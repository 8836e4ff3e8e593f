package nodetest_test

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/node/nodetest"
)

func TestMeterCountsByProtocol(t *testing.T) {
	m := nodetest.NewMeter()
	m.LogRecvMessage(100)
	m.LogRecvMessageStream(100, "/meshsub/1.3.0", peer.ID("a"))
	m.LogRecvMessage(40)
	m.LogRecvMessageStream(40, "/ipfs/kad/1.0.0", peer.ID("b"))
	m.LogSentMessage(7)
	m.LogSentMessageStream(7, "/meshsub/1.3.0", peer.ID("a"))
	got := m.Totals()
	if got.In != 140 || got.Out != 7 {
		t.Fatalf("totals in %d out %d, want 140 and 7", got.In, got.Out)
	}
	if got.ProtoIn["/meshsub/1.3.0"] != 100 || got.ProtoIn["/ipfs/kad/1.0.0"] != 40 || got.ProtoOut["/meshsub/1.3.0"] != 7 {
		t.Fatalf("by protocol in %v out %v", got.ProtoIn, got.ProtoOut)
	}
	if s := m.GetBandwidthForProtocol("/ipfs/kad/1.0.0"); s.TotalIn != 40 {
		t.Fatalf("kad in %d, want 40", s.TotalIn)
	}
	// Totals is a copy: later counts do not change it.
	m.LogRecvMessageStream(1, "/meshsub/1.3.0", peer.ID("a"))
	if got.ProtoIn["/meshsub/1.3.0"] != 100 {
		t.Fatal("Totals shares its map with the meter")
	}
	m.Reset()
	if got := m.Totals(); got.In != 0 || len(got.ProtoIn) != 0 {
		t.Fatalf("after Reset: %+v", got)
	}
}
