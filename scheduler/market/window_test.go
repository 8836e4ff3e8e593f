package market_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// lateBids is a provider's host whose bids leave only once gate closes: a
// bid held up on its way through a relay.
type lateBids struct {
	host.Host
	gate <-chan struct{}
}

// NewStream holds a bid stream until the gate opens or ctx ends.
func (h lateBids) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	if len(pids) > 0 && pids[0] == market.BidProtocol {
		select {
		case <-h.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return h.Host.NewStream(ctx, p, pids...)
}

// relayedRequester is a requester and a provider that meet only through a
// relay at which the requester holds a reservation, as two homes behind
// NAT do; it returns them and the requester's relay address.
func relayedRequester(t *testing.T, ctx context.Context) (req, prov peerOf, circuit ma.Multiaddr) {
	t.Helper()
	keyReq, _, _ := crypto.GenerateEd25519Key(nil)
	keyProv, _, _ := crypto.GenerateEd25519Key(nil)
	idReq, _ := peer.IDFromPrivateKey(keyReq)
	idProv, _ := peer.IDFromPrivateKey(keyProv)
	relay, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.ForceReachabilityPublic(), libp2p.EnableRelayService())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	req, prov = homePeer(t, keyReq, idProv), homePeer(t, keyProv, idReq)
	relayInfo := peer.AddrInfo{ID: relay.ID(), Addrs: relay.Addrs()}
	for _, p := range []peerOf{req, prov} {
		if err := p.h.Connect(ctx, relayInfo); err != nil {
			t.Fatal(err)
		}
	}
	// The relay service starts on the forced reachability event: ask
	// until it answers.
	for {
		_, err := client.Reserve(ctx, req.h, relayInfo)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no reservation at the relay: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return req, prov, relay.Addrs()[0].Encapsulate(ma.StringCast("/p2p/" + relay.ID().String() + "/p2p-circuit"))
}

// A requester behind NAT (it advertises only its relay address) asks for
// one worker with a short window; the provider's bid comes through the
// relay after that window would have closed. The requester widened the
// window to market.relay_bid_window, so the bid is placed and the job
// forms; with the widening off, the same late bid is lost and the job
// fails, as it did before.
func TestRelayedBidAfterTheOldWindow(t *testing.T) {
	const window = 300 * time.Millisecond
	for _, tc := range []struct {
		name        string
		relayWindow time.Duration
		want        string
	}{
		{"widened", 20 * time.Second, market.StateFormed},
		{"not widened", 0, market.StateFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			req, prov, circuit := relayedRequester(t, ctx)
			gate := make(chan struct{})
			mProv, _ := newMarket(t, prov, &gossipTo{}, cpuOffer(0.10), func(_ *market.Config, d *market.Deps) {
				d.Host = lateBids{Host: prov.h, gate: gate}
			})
			mReq, _ := newMarket(t, req, &gossipTo{from: req.h.ID(), providers: []*market.Market{mProv}}, nil, func(c *market.Config, d *market.Deps) {
				c.BidWindow, c.RelayBidWindow = p2p.Duration(window), p2p.Duration(tc.relayWindow)
				d.Addrs = func() []string { return []string{circuit.String()} }
			})
			v, err := mReq.Submit(ctx, market.Spec{Workers: 1})
			if err != nil {
				t.Fatal(err)
			}
			// The bid leaves once the old window has closed.
			release := time.AfterFunc(time.Until(v.Created.Add(window))+50*time.Millisecond, func() { close(gate) })
			defer release.Stop()
			if v, err = mReq.Wait(ctx, v.ID); err != nil || v.State != tc.want {
				t.Fatalf("job of a relayed requester: %s (%s), %v; want %s", v.State, v.Error, err, tc.want)
			}
			var request, bid string
			for _, e := range v.Events {
				switch e.Kind {
				case "request":
					request = e.Text
				case "bid":
					bid = e.Text
				}
			}
			t.Logf("request: %s; bid: %q", request, bid)
			widened := strings.Contains(request, "window widened from 300ms to 20s: this node is reachable only through a relay")
			if widened != (tc.relayWindow > 0) {
				t.Errorf("request event %q: widened %v, want %v", request, widened, tc.relayWindow > 0)
			}
			if (bid != "") != (tc.want == market.StateFormed) {
				t.Errorf("bid event %q with the job %s", bid, v.State)
			}
			if tc.want == market.StateFormed && !p2p.Relayed(req.h, prov.h.ID()) {
				t.Errorf("requester and provider connected directly; the test wants them relayed only")
			}
		})
	}
}
