package p2p

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	madns "github.com/multiformats/go-multiaddr-dns"
)

// logBuffer collects a network's log lines for a test to read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testNet is a network under test and what it logged.
type testNet struct {
	*Network
	log *logBuffer
}

// startNet starts a network on loopback with test-sized limits, joining
// def (main when Name is empty) with extra bootstrap entries.
func startNet(t *testing.T, key crypto.PrivKey, listen string, def NetworkDef, boot []string, opts ...Option) *testNet {
	t.Helper()
	if key == nil {
		key = newKey(t)
	}
	if def.Name == "" {
		def, _ = LookupNetwork(MainNetwork)
	}
	cfg := DefaultConfig()
	cfg.Listen = []string{listen}
	cfg.MDNS, cfg.NATPortMap, cfg.DHTMode = false, false, DHTModeServer
	cfg.MaxMemoryMB, cfg.MaxFDs = 64, 256
	cfg.BootstrapTimeout = Duration(5 * time.Second)
	cfg.Bootstrap = boot
	lb := &logBuffer{}
	log := slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n, err := New(cfg, key, "gpumesh-test", log, append([]Option{WithNetwork(def)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return &testNet{Network: n, log: lb}
}

func newKey(t *testing.T) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// addr is n's first listen address with /p2p/<id>.
func (n *testNet) addr() string { return n.ListenAddrs()[0].String() }

// waitFor polls cond until it holds or timeout passes; a real-socket
// test waits for a condition with a deadline, never for a fixed time.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func connected(a, b *testNet) bool {
	return a.host.Network().Connectedness(b.host.ID()) == network.Connected
}

func inTable(a, b *testNet) bool {
	return a.DHT().RoutingTable().Find(b.host.ID()) != ""
}

// blueNetwork is a test network of its own.
func blueNetwork() NetworkDef {
	return NetworkDef{Name: "blue", ProtocolPrefix: "/gpumesh-blue", TopicPrefix: "gpumesh-blue", DHTPrefix: "/gpumesh-blue"}
}

// TestNetworksNeverMix: two main nodes and two blue nodes on one loopback,
// the blue ones misconfigured to bootstrap from a main node. Each network
// forms; the main node refuses the blue ones at identify, no routing table
// holds a peer of the other network, and their streams never meet.
func TestNetworksNeverMix(t *testing.T) {
	a1 := startNet(t, nil, "/ip4/127.0.0.1/tcp/0", NetworkDef{}, nil)
	a2 := startNet(t, nil, "/ip4/127.0.0.1/tcp/0", NetworkDef{}, []string{a1.addr()})
	b1 := startNet(t, nil, "/ip4/127.0.0.1/tcp/0", blueNetwork(), []string{a1.addr()})
	b2 := startNet(t, nil, "/ip4/127.0.0.1/tcp/0", blueNetwork(), []string{b1.addr()})

	// A stream protocol written once, as the packages above p2p write it.
	const echo = "/gpumesh/echo/1"
	for _, n := range []*testNet{a1, a2, b1, b2} {
		n.Host().SetStreamHandler(echo, func(s network.Stream) { _ = s.Close() })
	}

	waitFor(t, 20*time.Second, "main nodes in each other's routing tables", func() bool { return inTable(a1, a2) && inTable(a2, a1) })
	waitFor(t, 20*time.Second, "blue nodes in each other's routing tables", func() bool { return inTable(b1, b2) && inTable(b2, b1) })
	// Whichever identifies the other first refuses it and closes the
	// connection, sometimes before the other has identified it back.
	waitFor(t, 20*time.Second, "the main and blue node refusing each other", func() bool {
		return (!a1.gate.allowed(b1.host.ID()) || !b1.gate.allowed(a1.host.ID())) && !connected(a1, b1)
	})
	if !strings.Contains(a1.log.String()+b1.log.String(), "refused a peer of another network") {
		t.Errorf("neither node logged the refusal:\n%s\n%s", a1.log, b1.log)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Within each network the protocol works; across, it never does.
	if s, err := a2.Host().NewStream(ctx, a1.host.ID(), echo); err != nil {
		t.Errorf("main to main: %v", err)
	} else {
		s.Reset()
	}
	if s, err := b2.Host().NewStream(ctx, b1.host.ID(), echo); err != nil {
		t.Errorf("blue to blue: %v", err)
	} else {
		s.Reset()
	}
	if err := b2.Connect(ctx, peer.AddrInfo{ID: a2.host.ID(), Addrs: a2.host.Addrs()}); err == nil {
		// The connection may come up before identify tells them apart;
		// no stream of one network's protocols may cross it.
		if s, err := b2.Host().NewStream(ctx, a2.host.ID(), echo); err == nil {
			s.Reset()
			t.Errorf("a blue node opened a main node's %s", echo)
		}
	}
	waitFor(t, 20*time.Second, "the blue and main nodes apart", func() bool { return !connected(a2, b2) })
	for _, pair := range [][2]*testNet{{a1, b1}, {a1, b2}, {a2, b1}, {a2, b2}, {b1, a1}, {b1, a2}, {b2, a1}, {b2, a2}} {
		if inTable(pair[0], pair[1]) {
			t.Errorf("%s has %s of another network in its routing table", pair[0].host.ID(), pair[1].host.ID())
		}
	}
}

// manualTimer stands for time.After between bootstrap rounds: each wait
// is announced on waits and ends when the test sends on fire.
type manualTimer struct {
	waits chan time.Duration
	fire  chan time.Time
}

func newManualTimer() *manualTimer {
	return &manualTimer{waits: make(chan time.Duration, 16), fire: make(chan time.Time)}
}

func (m *manualTimer) after(d time.Duration) <-chan time.Time {
	m.waits <- d
	return m.fire
}

// TestBootstrapDownThenUp: a node whose only bootstrap peer is down
// starts, says why, keeps serving (a LAN peer joins it), waits with
// backoff, and joins once the bootstrap peer is back.
func TestBootstrapDownThenUp(t *testing.T) {
	bootKey := newKey(t)
	first := startNet(t, bootKey, "/ip4/127.0.0.1/tcp/0", NetworkDef{}, nil)
	bootAddr := first.addr()
	listen := first.host.Addrs()[0].String()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	timer := newManualTimer()
	n := startNet(t, nil, "/ip4/127.0.0.1/tcp/0", NetworkDef{}, []string{bootAddr}, WithRetryTimer(timer.after))
	var waits []time.Duration
	for range 2 { // two failed rounds: the second waits twice as long
		select {
		case d := <-timer.waits:
			waits = append(waits, d)
		case <-time.After(30 * time.Second):
			t.Fatalf("no retry after the bootstrap peer failed; log:\n%s", n.log)
		}
		if len(waits) == 1 {
			timer.fire <- time.Now()
		}
	}
	if waits[1] != 2*waits[0] {
		t.Errorf("waits %v, want a doubling backoff", waits)
	}
	logged := n.log.String()
	if !strings.Contains(logged, "no bootstrap peer reachable") || !strings.Contains(logged, "reason=") {
		t.Errorf("no plain reason logged for the failed bootstrap:\n%s", logged)
	}
	if st := n.Status(); st.BootstrapPeers != 1 || st.BootstrapConnected != 0 || !strings.Contains(st.BootstrapReason, "no bootstrap peer reachable") {
		t.Errorf("status while down: connected %d of %d, reason %q; want 0 of 1 with the reason", st.BootstrapConnected, st.BootstrapPeers, st.BootstrapReason)
	}

	// Meanwhile the node serves: a peer on its LAN joins it.
	lan := startNet(t, nil, "/ip4/127.0.0.1/tcp/0", NetworkDef{}, []string{n.addr()})
	waitFor(t, 20*time.Second, "the LAN peer in the node's routing table", func() bool { return inTable(n, lan) })

	// The bootstrap peer comes back on its address; the next round joins it.
	back := startNet(t, bootKey, listen, NetworkDef{}, nil)
	waitFor(t, 20*time.Second, "the node connected to its bootstrap peer", func() bool {
		select { // let the waiting round, if any, run now
		case timer.fire <- time.Now():
		default:
		}
		return connected(n, back)
	})
	waitFor(t, 10*time.Second, "the join logged", func() bool {
		return strings.Contains(n.log.String(), "joined the network through its bootstrap peers")
	})
	if st := n.Status(); st.BootstrapConnected != 1 || st.BootstrapReason != "" {
		t.Errorf("status after the join: connected %d of %d, reason %q; want 1 and no reason", st.BootstrapConnected, st.BootstrapPeers, st.BootstrapReason)
	}
}

// TestBootstrapThroughDNSAddr: a main-network node whose network lists a
// /dnsaddr/ name finds its bootstrap peer through an injected resolver,
// skipping garbage records and a name that resolves to nothing.
func TestBootstrapThroughDNSAddr(t *testing.T) {
	boot := startNet(t, nil, "/ip4/127.0.0.1/tcp/0", NetworkDef{}, nil)
	dns := &madns.MockResolver{TXT: map[string][]string{
		"_dnsaddr.bootstrap.gpumesh.test": {
			"dnsaddr=not a multiaddr",
			"v=spf1 -all",
			"dnsaddr=/ip4/127.0.0.1/tcp/9",
			"dnsaddr=" + boot.addr(),
		},
		"_dnsaddr.empty.gpumesh.test": {"dnsaddr=garbage"},
	}}
	r, err := madns.NewResolver(madns.WithDefaultResolver(dns))
	if err != nil {
		t.Fatal(err)
	}
	def, _ := LookupNetwork(MainNetwork)
	def.Bootstrap = []string{"/dnsaddr/empty.gpumesh.test", "/dnsaddr/bootstrap.gpumesh.test"}
	n := startNet(t, nil, "/ip4/127.0.0.1/tcp/0", def, nil, WithResolver(r))
	waitFor(t, 20*time.Second, "the node connected to the peer its /dnsaddr/ names", func() bool { return connected(n, boot) })
	got := n.Bootstrap()
	if len(got) != 1 || got[0].ID != boot.host.ID() {
		t.Errorf("bootstrap peers %v, want only %s", got, boot.host.ID())
	}
	waitFor(t, 10*time.Second, "the empty name logged", func() bool {
		return strings.Contains(n.log.String(), "bootstrap name did not resolve") && strings.Contains(n.log.String(), "empty.gpumesh.test")
	})
}

// TestBootstrapListWithOwnAddress: an entry naming this node is dropped
// with a log line, and the node starts.
func TestBootstrapListWithOwnAddress(t *testing.T) {
	key := newKey(t)
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	self := ma.StringCast("/ip4/127.0.0.1/tcp/9/p2p/" + id.String()).String()
	n := startNet(t, key, "/ip4/127.0.0.1/tcp/0", NetworkDef{}, []string{self})
	waitFor(t, 10*time.Second, "the own address logged", func() bool {
		return strings.Contains(n.log.String(), "bootstrap list holds this node's own address")
	})
	if got := n.Bootstrap(); len(got) != 0 {
		t.Errorf("bootstrap peers %v, want none", got)
	}
}
