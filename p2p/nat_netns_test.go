package p2p_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gpumesh/gpumesh/internal/netnstest"
	"github.com/gpumesh/gpumesh/p2p"
)

// The NAT topology test: three home LANs, each behind its own router that
// masquerades, two keeping source ports when they can (as most home
// routers do) and one picking a random port per destination (a symmetric
// NAT), and a public segment with one bootstrap node declared public,
// built by internal/netnstest: nothing reaches or leaves this machine.
//
// Each node is this test binary re-run inside its namespace (a Go process
// cannot hold sockets in several network namespaces safely); they meet
// through files in a shared temporary directory.

// Environment of a re-run node.
const (
	natRole = "GPUMESH_TEST_NAT_ROLE" // relay, a, b or c
	natDir  = "GPUMESH_TEST_NAT_DIR"  // where the nodes leave their files
)

// natWait bounds every wait of the topology test and its nodes.
const natWait = 90 * time.Second

// TestNATTopology builds the namespaces and runs a relay and three home
// nodes: each takes a relay reservation at the bootstrap node (it reports
// how soon); a reaches b and c through the relay, and EnsureDirect asks
// hole punching for a direct connection: it comes to b, behind a
// port-preserving NAT, and to c it fails fast with ErrRelayedOnly.
func TestNATTopology(t *testing.T) {
	netnstest.Require(t)
	top := netnstest.Build(t, netnstest.Home{Name: "a"}, netnstest.Home{Name: "b"}, netnstest.Home{Name: "c", Symmetric: true})
	dir := t.TempDir()
	var outs []*bytes.Buffer
	var cmds []*exec.Cmd
	for _, n := range []struct{ role, ns string }{{"relay", top.Public}, {"b", top.Homes["b"]}, {"c", top.Homes["c"]}, {"a", top.Homes["a"]}} {
		cmd := netnstest.Command(n.ns, os.Args[0], "-test.run=^TestNATNode$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), natRole+"="+n.role, natDir+"="+dir)
		out := new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s node: %v", n.role, err)
		}
		outs, cmds = append(outs, out), append(cmds, cmd)
	}
	defer func() {
		writeFile(t, dir, "done", "1")
		for i, c := range cmds {
			if err := c.Wait(); err != nil || t.Failed() {
				t.Logf("node %d: %v\n%s", i, err, outs[i])
			}
		}
	}()
	toB, toC := readFile(t, dir, "a.result-b", natWait), readFile(t, dir, "a.result-c", natWait)
	for _, who := range []string{"a", "b", "c"} {
		t.Logf("%s: relay address %ss after start", who, readFile(t, dir, who+".relaytime", time.Second))
	}
	t.Logf("a to b (port-preserving NATs): %s", toB)
	t.Logf("a to c (c behind a NAT that picks random ports): %s", toC)
	if !strings.HasPrefix(toB, "ok") {
		t.Errorf("a to b through port-preserving NATs: %s, want a direct connection after hole punching", toB)
	}
	if !strings.HasPrefix(toC, "relayed only") || !strings.Contains(toC, p2p.ErrRelayedOnly.Error()) {
		t.Errorf("a to c through a random-port NAT: %s, want a fast ErrRelayedOnly", toC)
	}
}

// TestNATNode is one node of TestNATTopology, run inside its namespace;
// it does nothing when run on its own.
func TestNATNode(t *testing.T) {
	role, dir := os.Getenv(natRole), os.Getenv(natDir)
	if role == "" || dir == "" {
		t.Skip("a node of TestNATTopology: runs only inside its namespaces")
	}
	started := time.Now()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := p2p.DefaultConfig()
	cfg.Listen = []string{"/ip4/0.0.0.0/tcp/4101", "/ip4/0.0.0.0/udp/4101/quic-v1"}
	cfg.MDNS, cfg.NATPortMap = false, false
	cfg.MaxMemoryMB, cfg.MaxFDs = 128, 256
	if role == "relay" {
		cfg.Public = true
	} else {
		cfg.Bootstrap = strings.Fields(readFile(t, dir, "relay.addrs", natWait))
	}
	n, err := p2p.New(cfg, key, "gpumesh-test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	h := n.Host()
	if role == "relay" {
		writeFile(t, dir, "relay.addrs", "/ip4/"+netnstest.PublicAddr+"/tcp/4101/p2p/"+h.ID().String()+" /ip4/"+netnstest.PublicAddr+"/udp/4101/quic-v1/p2p/"+h.ID().String())
		readFile(t, dir, "done", natWait)
		return
	}
	waitFor(t, natWait, "a relay address", func() bool {
		for _, a := range h.Addrs() {
			if _, err := a.ValueForProtocol(ma.P_CIRCUIT); err == nil {
				return true
			}
		}
		return false
	})
	writeFile(t, dir, role+".relaytime", fmt.Sprintf("%.1f", time.Since(started).Seconds()))
	// Hole punching answers only once the node knows a public address of
	// its own (observed by the relay): a relayed connection that comes
	// before is never punched. A node running for a while is past this.
	waitFor(t, natWait, "hole punching ready", func() bool {
		return slices.Contains(h.Mux().Protocols(), holepunch.Protocol)
	})
	if role != "a" {
		writeFile(t, dir, role+".id", h.ID().String())
		readFile(t, dir, "done", natWait)
		return
	}
	for _, other := range []string{"b", "c"} {
		writeFile(t, dir, "a.result-"+other, meet(t, n, dir, other, cfg.Bootstrap))
	}
	readFile(t, dir, "done", natWait)
}

// meet connects a to other through the relay, then asks EnsureDirect for a
// direct connection, and says what happened.
func meet(t *testing.T, n *p2p.Network, dir, other string, relay []string) string {
	b, err := peer.Decode(readFile(t, dir, other+".id", natWait))
	if err != nil {
		return "bad " + other + ".id: " + err.Error()
	}
	var addrs []ma.Multiaddr
	for _, r := range relay {
		a, err := ma.NewMultiaddr(r + "/p2p-circuit")
		if err != nil {
			return err.Error()
		}
		addrs = append(addrs, a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), natWait/2)
	defer cancel()
	if err := n.Host().Connect(p2p.AllowRelayed(ctx, "test"), peer.AddrInfo{ID: b, Addrs: addrs}); err != nil {
		return "no connection through the relay: " + err.Error()
	}
	start := time.Now()
	path, err := p2p.EnsureDirect(ctx, n.Host(), b, p2p.DirectWait)
	if err != nil {
		return "relayed only: " + err.Error()
	}
	var remote []string
	for _, c := range n.Host().Network().ConnsToPeer(b) {
		remote = append(remote, c.RemoteMultiaddr().String())
	}
	return fmt.Sprintf("ok: %s in %s over %s", path, time.Since(start).Round(time.Millisecond), strings.Join(remote, ", "))
}

// writeFile writes a node's file in dir, whole (temp and rename).
func writeFile(t *testing.T, dir, name, text string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name)
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// readFile waits up to within for a node's file in dir and returns it.
func readFile(t *testing.T, dir, name string, within time.Duration) string {
	t.Helper()
	var text string
	waitFor(t, within, "file "+name, func() bool {
		b, err := os.ReadFile(filepath.Join(dir, name))
		text = string(b)
		return err == nil
	})
	return text
}
