package p2p_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gpumesh/gpumesh/p2p"
)

// These tests build, on loopback, what a home user behind NAT meets: one
// public node (the bootstrap and relay) and home nodes that a connection
// gater keeps from reaching each other directly, as two NATs would.

// startNet starts a loopback network with cfg changed by edit, closed at
// the end of the test.
func startNet(t *testing.T, edit func(*p2p.Config), opts ...p2p.Option) *p2p.Network {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return startKeyed(t, key, edit, opts...)
}

// bootstrapFrom makes a config edit that bootstraps from r.
func bootstrapFrom(r *p2p.Network) func(*p2p.Config) {
	return func(c *p2p.Config) {
		for _, a := range r.ListenAddrs() {
			c.Bootstrap = append(c.Bootstrap, a.String())
		}
	}
}

// natGater refuses every direct (not relayed) connection to or from the
// peers in home: what two home NATs without port preservation do, and
// what makes hole punching fail.
type natGater struct{ home map[peer.ID]bool }

func (g natGater) blocked(p peer.ID, a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return g.home[p] && err != nil
}
func (natGater) InterceptPeerDial(peer.ID) bool                     { return true }
func (g natGater) InterceptAddrDial(p peer.ID, a ma.Multiaddr) bool { return !g.blocked(p, a) }
func (natGater) InterceptAccept(network.ConnMultiaddrs) bool        { return true }
func (g natGater) InterceptSecured(_ network.Direction, p peer.ID, c network.ConnMultiaddrs) bool {
	return !g.blocked(p, c.RemoteMultiaddr())
}
func (natGater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not after %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// circuitTo is b's address through relay r.
func circuitTo(t *testing.T, r *p2p.Network, b peer.ID) peer.AddrInfo {
	t.Helper()
	var addrs []ma.Multiaddr
	for _, a := range r.Host().Addrs() {
		c, err := ma.NewMultiaddr("/p2p/" + r.Host().ID().String() + "/p2p-circuit")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, a.Encapsulate(c))
	}
	return peer.AddrInfo{ID: b, Addrs: addrs}
}

// reachThroughRelay waits until a can connect to b through r (b holds a
// reservation there) and returns how long that took.
func reachThroughRelay(t *testing.T, a *p2p.Network, r *p2p.Network, b peer.ID) time.Duration {
	t.Helper()
	info := circuitTo(t, r, b)
	return waitFor(t, 30*time.Second, "a reaches b through the relay", func() bool {
		a.Host().Network().(*swarm.Swarm).Backoff().Clear(b)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return a.Host().Connect(p2p.AllowRelayed(ctx, "test"), info) == nil
	})
}

// TestPublicNodeRelaysAlone: a node declared public serves as a relay from
// the start, with no second public peer to confirm it through AutoNAT
// (before, its relay service waited for AutoNAT v1 forever).
func TestPublicNodeRelaysAlone(t *testing.T) {
	r := startNet(t, func(c *p2p.Config) { c.Public = true })
	if got := r.Reachability(); got != network.ReachabilityPublic {
		waitFor(t, 10*time.Second, "reachability public", func() bool { return r.Reachability() == network.ReachabilityPublic })
	}
	waitFor(t, 10*time.Second, "relay service running", func() bool {
		return slices.Contains(r.Host().Mux().Protocols(), proto.ProtoIDv2Hop)
	})
}

// TestHomeNodesMeetThroughBootstrapRelay: two home nodes that cannot
// reach each other directly take reservations at their bootstrap node
// within seconds (autorelay's defaults took 200 s), and meet through it;
// control messages cross the relay, bulk data fails fast with the reason.
func TestHomeNodesMeetThroughBootstrapRelay(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three libp2p hosts")
	}
	r := startNet(t, func(c *p2p.Config) { c.Public = true })
	keyA, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	keyB, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	idA, _ := peer.IDFromPrivateKey(keyA)
	idB, _ := peer.IDFromPrivateKey(keyB)
	gA := natGater{home: map[peer.ID]bool{idB: true}}
	gB := natGater{home: map[peer.ID]bool{idA: true}}
	a := startKeyed(t, keyA, bootstrapFrom(r), p2p.WithConnectionGater(gA))
	b := startKeyed(t, keyB, bootstrapFrom(r), p2p.WithConnectionGater(gB))

	took := reachThroughRelay(t, a, r, b.Host().ID())
	t.Logf("b reachable through the relay %s after start", took.Round(time.Millisecond))
	if !p2p.Relayed(a.Host(), b.Host().ID()) {
		t.Fatalf("a's connection to b is direct; the gater should allow only the relay")
	}

	// A control message crosses the relay.
	const control = protocol.ID("/gpumesh/test-control/1")
	b.Host().SetStreamHandler(control, func(s network.Stream) {
		defer s.Close()
		line, _ := bufio.NewReader(s).ReadString('\n')
		_, _ = s.Write([]byte("ack " + line))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := a.Host().NewStream(p2p.AllowRelayed(ctx, string(control)), b.Host().ID(), control)
	if err != nil {
		t.Fatalf("control stream over the relay: %v", err)
	}
	_, _ = s.Write([]byte("bid\n"))
	_ = s.CloseWrite()
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "ack bid\n" {
		t.Fatalf("control answer %q, %v; want %q", got, err, "ack bid\n")
	}

	// Bulk data: no direct path comes, and the answer says so at once,
	// long before ctx's deadline.
	_, err = p2p.EnsureDirect(ctx, a.Host(), b.Host().ID(), time.Second)
	if !errors.Is(err, p2p.ErrRelayedOnly) {
		t.Fatalf("EnsureDirect over a relay only: %v, want ErrRelayedOnly", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("EnsureDirect waited out the caller's deadline")
	}
	t.Logf("bulk refused: %v", err)
}

// TestEnsureDirectUpgrades: when a relayed peer turns out reachable
// directly, EnsureDirect replaces the relayed connection and says so.
func TestEnsureDirectUpgrades(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three libp2p hosts")
	}
	r := startNet(t, func(c *p2p.Config) { c.Public = true })
	a := startNet(t, bootstrapFrom(r))
	b := startNet(t, bootstrapFrom(r))
	reachThroughRelay(t, a, r, b.Host().ID())
	if !p2p.Relayed(a.Host(), b.Host().ID()) {
		t.Skip("a found b directly before the test could look") // nothing left to upgrade
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	path, err := p2p.EnsureDirect(ctx, a.Host(), b.Host().ID(), 10*time.Second)
	if err != nil {
		t.Fatalf("EnsureDirect: %v", err)
	}
	if path != p2p.PathUpgraded || p2p.Relayed(a.Host(), b.Host().ID()) {
		t.Fatalf("path %s, relayed %v; want %s and a direct connection", path, p2p.Relayed(a.Host(), b.Host().ID()), p2p.PathUpgraded)
	}
}

// startKeyed is startNet with a given identity key.
func startKeyed(t *testing.T, key crypto.PrivKey, edit func(*p2p.Config), opts ...p2p.Option) *p2p.Network {
	t.Helper()
	cfg := p2p.DefaultConfig()
	cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.MDNS, cfg.NATPortMap = false, false
	cfg.MaxMemoryMB, cfg.MaxFDs = 128, 256
	if edit != nil {
		edit(&cfg)
	}
	n, err := p2p.New(cfg, key, "gpumesh-test", slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}
