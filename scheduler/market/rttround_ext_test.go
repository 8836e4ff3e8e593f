package market_test

import (
	"bufio"
	"context"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p/frame"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// probe sends data on RTTRoundProtocol from a to the provider and
// reports whether a row came back.
func probe(t *testing.T, a peerOf, prov peerOf, data []byte) bool {
	t.Helper()
	s, err := a.h.NewStream(context.Background(), prov.h.ID(), market.RTTRoundProtocol)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(10 * time.Second))
	if err := frame.Write(s, data); err != nil {
		t.Fatal(err)
	}
	_ = s.CloseWrite()
	_, err = frame.Read(bufio.NewReader(s), 64<<10)
	return err == nil
}

// TestRTTProbesRefused: a provider pings nobody for a peer it has no open
// bid to, for a round that does not name it, or for bytes that are not a
// signed probe (which counts against the sender); each is counted.
func TestRTTProbesRefused(t *testing.T) {
	prov, rogue, other := newPeer(t), newPeer(t), newPeer(t)
	m, _ := newMarket(t, prov, &gossipTo{}, cpuOffer(0.1))
	connect(t, rogue, prov)
	now := time.Now()
	mk := func(names ...peerOf) *gossip.RTTProbe {
		p := &gossip.RTTProbe{Job: "0123456789abcdef0123456789abcdef", Nonce: "00112233445566778899aabbccddeeff", Seq: 1, Sent: now, Deadline: now.Add(time.Second)}
		for _, n := range names {
			p.Candidates = append(p.Candidates, gossip.RTTCandidate{Peer: n.h.ID().String()})
		}
		return p
	}
	if probe(t, rogue, prov, seal(t, mk(prov, other), rogue.key)) {
		t.Error("a probe for a job with no open bid got a row")
	}
	if probe(t, rogue, prov, seal(t, mk(rogue, other), rogue.key)) {
		t.Error("a probe not naming the provider got a row")
	}
	if probe(t, rogue, prov, []byte("not a probe")) {
		t.Error("garbage got a row")
	}
	if probe(t, rogue, prov, seal(t, mk(prov, other), other.key)) {
		t.Error("a probe signed by another peer got a row")
	}
	st := m.Stats()
	if st.Refused["rtt_probe"] != 2 || st.Refused["malformed"] != 1 || st.Refused["forged"] != 1 {
		t.Errorf("refused %v, want rtt_probe 2, malformed 1, forged 1", st.Refused)
	}
}
