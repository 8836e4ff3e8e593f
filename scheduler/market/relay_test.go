package market_test

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// noDirect refuses direct (not relayed) connections to and from one peer,
// as two home NATs would: the peers meet only through a relay.
type noDirect struct{ other peer.ID }

func (g noDirect) ok(p peer.ID, a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return p != g.other || err == nil
}
func (noDirect) InterceptPeerDial(peer.ID) bool                     { return true }
func (g noDirect) InterceptAddrDial(p peer.ID, a ma.Multiaddr) bool { return g.ok(p, a) }
func (noDirect) InterceptAccept(network.ConnMultiaddrs) bool        { return true }
func (g noDirect) InterceptSecured(_ network.Direction, p peer.ID, c network.ConnMultiaddrs) bool {
	return g.ok(p, c.RemoteMultiaddr())
}
func (noDirect) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// homePeer is a loopback host that reaches other only through a relay.
func homePeer(t *testing.T, key crypto.PrivKey, other peer.ID) peerOf {
	t.Helper()
	h, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.ConnectionGater(noDirect{other: other}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return peerOf{h, key}
}

// A requester invites a provider that it reaches only through a relay:
// the invitation, the bid and the award cross the relay (they are small
// control messages), and the job forms within the bid window.
func TestInvitationsThroughRelay(t *testing.T) {
	keyReq, _, _ := crypto.GenerateEd25519Key(nil)
	keyProv, _, _ := crypto.GenerateEd25519Key(nil)
	idReq, _ := peer.IDFromPrivateKey(keyReq)
	idProv, _ := peer.IDFromPrivateKey(keyProv)
	relay, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.ForceReachabilityPublic(), libp2p.EnableRelayService())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	req, prov := homePeer(t, keyReq, idProv), homePeer(t, keyProv, idReq)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	relayInfo := peer.AddrInfo{ID: relay.ID(), Addrs: relay.Addrs()}
	for _, p := range []peerOf{req, prov} {
		if err := p.h.Connect(ctx, relayInfo); err != nil {
			t.Fatal(err)
		}
	}
	// The relay service starts on the forced reachability event: retry
	// the reservation until it answers.
	for {
		if _, err := client.Reserve(ctx, prov.h, relayInfo); err == nil {
			break
		} else if ctx.Err() != nil {
			t.Fatalf("no reservation at the relay: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	circuit := relay.Addrs()[0].Encapsulate(ma.StringCast("/p2p/" + relay.ID().String() + "/p2p-circuit"))

	mProv, _ := newMarket(t, prov, &gossipTo{}, cpuOffer(0.10))
	_ = mProv
	mReq, _ := newMarket(t, req, &gossipTo{from: req.h.ID()}, nil, func(c *market.Config, d *market.Deps) {
		c.InviteAbove = 0
		c.BidWindow = p2p.Duration(2 * time.Second) // the default window
		d.RoutingTableSize = func() int { return 1 }
		d.Invitees = func(context.Context, *gossip.JobRequest, int) []peer.AddrInfo {
			return []peer.AddrInfo{{ID: prov.h.ID(), Addrs: []ma.Multiaddr{circuit}}}
		}
	})
	v, err := mReq.Submit(ctx, market.Spec{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = mReq.Wait(ctx, v.ID); err != nil || v.State != market.StateFormed {
		t.Fatalf("job with a provider behind a relay: %s %s %v", v.State, v.Error, err)
	}
	if !p2p.Relayed(req.h, prov.h.ID()) {
		t.Errorf("requester and provider connected directly; the test wants them relayed only")
	}
}
