package node_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/gpu/proof"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/datadir"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/challenge"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

func testConfig(t *testing.T) config.Config {
	t.Helper()
	c, err := config.ForProfile("test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func startNode(t *testing.T, dir string, c config.Config) (*node.Node, error) {
	t.Helper()
	n, err := node.New(node.Options{DataDir: dir, Config: c})
	if err != nil {
		return nil, err
	}
	if err := n.Start(context.Background()); err != nil {
		return nil, err
	}
	return n, nil
}

func TestTenNodesDiscoverEachOtherThroughOneBootstrapPeer(t *testing.T) {
	f := nodetest.Start(t, 10, nodetest.Options{})
	f.WaitRoutingTables(t, 1, 30*time.Second)
	// Discovery, not just the bootstrap link: every node but the bootstrap
	// peer must have found at least one other node through the DHT.
	boot := f.Nodes[0].PeerID()
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		for _, nd := range f.Nodes[1:] {
			others := 0
			for _, p := range nd.Network().DHT().RoutingTable().ListPeers() {
				if p != boot {
					others++
				}
			}
			if others == 0 {
				return false
			}
		}
		return true
	}, func() string { return "some node knows only the bootstrap peer" })
	f.WaitHeard(t, 30*time.Second)
	for i, nd := range f.Nodes {
		st := nd.Status()
		if st.RoutingTableSize == 0 {
			t.Errorf("node %d: routing table empty", i)
		}
		if got := len(nd.Peers()); got == 0 {
			t.Errorf("node %d: no connected peers", i)
		}
		if st.Gossip.Accepted == 0 {
			t.Errorf("node %d: accepted no gossip", i)
		}
	}
}

func TestIdentitySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	n1, err := startNode(t, dir, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	id1 := n1.PeerID()
	if err := n1.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "api")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("api file left behind after Close: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, node.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("identity key mode = %o, want 600", perm)
	}
	n2, err := startNode(t, dir, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	if got := n2.PeerID(); got != id1 {
		t.Errorf("peer ID after restart = %s, want %s", got, id1)
	}
}

func TestSecondNodeOnLockedDataDirFails(t *testing.T) {
	dir := t.TempDir()
	n1, err := startNode(t, dir, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer n1.Close()
	_, err = startNode(t, dir, testConfig(t))
	if !errors.Is(err, datadir.ErrLocked) {
		t.Fatalf("second node on %s: err = %v, want ErrLocked", dir, err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name the data dir", err)
	}
	// The first node is unharmed: its API file still points at it.
	if url, err := os.ReadFile(filepath.Join(dir, "api")); err != nil || !strings.Contains(string(url), n1.APIURL()) {
		t.Errorf("api file = %q, %v; want %s", url, err, n1.APIURL())
	}
}

func TestBadInputFailsClearly(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	tests := []struct {
		name    string
		prepare func(dir string, c *config.Config)
		want    string
	}{
		{"corrupted key", func(dir string, c *config.Config) {
			if err := os.WriteFile(filepath.Join(dir, node.KeyFile), []byte("not a key"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "corrupted"},
		{"p2p port in use", func(dir string, c *config.Config) {
			c.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/" + itoa(busyPort)}
		}, "listen"},
		{"api port in use", func(dir string, c *config.Config) {
			c.API.Listen = busy.Addr().String()
		}, "api listen"},
		{"unparsable bootstrap", func(dir string, c *config.Config) {
			c.P2P.Bootstrap = []string{"/ip4/127.0.0.1/tcp/notaport"}
		}, "p2p.bootstrap"},
		{"bootstrap without peer id", func(dir string, c *config.Config) {
			c.P2P.Bootstrap = []string{"/ip4/127.0.0.1/tcp/4001"}
		}, "missing /p2p/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c := testConfig(t)
			tc.prepare(dir, &c)
			n, err := startNode(t, dir, c)
			if err == nil {
				n.Close()
				t.Fatalf("node started, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
			// A failed start releases the data dir.
			l, err := datadir.Acquire(dir)
			if err != nil {
				t.Fatalf("data dir still locked after failed start: %v", err)
			}
			l.Release()
		})
	}
}

func TestUnwritableDataDirFailsClearly(t *testing.T) {
	if os.Geteuid() == 0 {
		// Root writes through permission bits; a file in the way is unwritable for anyone.
		dir := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(dir, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := startNode(t, dir, testConfig(t))
		if err == nil || !strings.Contains(err.Error(), "data dir") {
			t.Fatalf("err = %v, want a data dir error", err)
		}
		return
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	_, err := startNode(t, dir, testConfig(t))
	if err == nil || !strings.Contains(err.Error(), "not writable") {
		t.Fatalf("err = %v, want 'not writable'", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestNodeServesItsHardwareAndTelemetry(t *testing.T) {
	f := nodetest.Start(t, 1, nodetest.Options{})
	nd := f.Nodes[0]
	c := api.NewClient(nd.APIURL())
	g, err := c.GPU(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Inventory.Devices) == 0 || g.Inventory.Source == "" {
		t.Fatalf("GPU() = %+v, want devices and a source", g)
	}
	dev := g.Inventory.Devices[0]
	if dev.Class == "" || dev.Pool == "" || dev.Telemetry.Time.IsZero() {
		t.Errorf("device %+v lacks a class, a pool or a reading", dev)
	}
	// The sampler keeps reading (every second in the test profile).
	nodetest.WaitFor(t, 10*time.Second, func() bool {
		h, ok := nd.GPUHistory(dev.ID)
		return ok && len(h) >= 3
	}, func() string { h, _ := nd.GPUHistory(dev.ID); return fmt.Sprintf("%d readings", len(h)) })
	if _, ok := nd.GPUHistory("GPU-does-not-exist"); ok {
		t.Error("history of an unknown device found")
	}
}

func TestNodesChallengeEachOther(t *testing.T) {
	f := nodetest.Start(t, 2, nodetest.Options{Configure: func(_ int, c *config.Config) {
		if raceTolerance > 0 {
			c.GPU.ProofTolerance = raceTolerance
		}
	}})
	prover, verifier := f.Nodes[0], f.Nodes[1]
	nodetest.WaitFor(t, 10*time.Second, func() bool {
		return len(verifier.Network().Host().Network().ConnsToPeer(prover.PeerID())) > 0
	}, func() string { return "not connected" })
	// The prover's own hardware says what to claim: its CPU class, and no
	// more cores than one (the speed check is proof's to test).
	class := prover.Hardware().Devices[0].Class
	v, err := verifier.Challenge(context.Background(), prover.PeerID(), challenge.Request{
		N: 512, Type: proof.Int8FP32, Class: class, Cores: 1, Deadline: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if v.Result != proof.Pass || v.Throughput <= 0 {
		t.Errorf("verdict %s (%s), throughput %g; want pass", v.Result, v.Detail, v.Throughput)
	}
	// Verdicts reach the verifier's reputation book: a CPU that claims to
	// be an H100 is too slow, and drops below what the market accepts.
	if view, ok := verifier.Reputation().View(prover.PeerID()); !ok || view.Counts[reputation.ChallengePassed] < 0.99 {
		t.Errorf("passed challenge not in the book: %+v", view)
	}
	v, err = verifier.Challenge(context.Background(), prover.PeerID(), challenge.Request{
		N: 512, Type: proof.Int8FP32, Class: "H100-80GB", Deadline: 10 * time.Second,
	})
	if err != nil || v.Result == proof.Pass {
		t.Fatalf("a CPU claiming H100-80GB: %s %v, want a failed verdict", v.Result, err)
	}
	if sc := verifier.Reputation().Score(prover.PeerID()); sc >= reputation.DefaultMinReputation {
		t.Errorf("reputation after a failed challenge %.3f, want below %.1f", sc, reputation.DefaultMinReputation)
	}
	// The test profile caps challenges at n = 512.
	v, err = verifier.Challenge(context.Background(), prover.PeerID(), challenge.Request{
		N: 1024, Type: proof.Int8FP32, Deadline: 10 * time.Second,
	})
	if err != nil || v.Result == proof.Pass {
		t.Errorf("challenge over the prover's limit: %s %v, want refused", v.Result, err)
	}
}
