package node_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
)

// inNetns marks the re-executed test process that runs inside its own
// network namespace.
const inNetns = "GPUMESH_TEST_IN_NETNS"

// TestTwoNodesFindEachOtherByMDNSAlone starts two nodes with no bootstrap
// peers and mDNS on, and checks they connect. mDNS is multicast, which must
// never leave this machine, so the test re-runs itself with `unshare --net`
// in a private network namespace whose only interface is loopback.
func TestTwoNodesFindEachOtherByMDNSAlone(t *testing.T) {
	if os.Getenv(inNetns) == "" {
		if _, err := exec.LookPath("unshare"); err != nil {
			t.Skip("skipped: needs unshare (util-linux) to confine multicast to a private network namespace")
		}
		cmd := exec.Command("unshare", "--net", os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), inNetns+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil && strings.Contains(string(out), "unshare failed") {
			t.Skipf("skipped: cannot create a network namespace here (needs root or user namespaces): %s", out)
		}
		if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
			t.Fatalf("mDNS test in a private network namespace failed: %v\n%s", err, out)
		}
		return
	}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "set", "lo", "multicast", "on"},
		{"route", "add", "224.0.0.0/4", "dev", "lo"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	a := nodetest.Start(t, 1, nodetest.Options{Configure: func(_ int, c *config.Config) { c.P2P.MDNS = true }})
	b := nodetest.Start(t, 1, nodetest.Options{Configure: func(_ int, c *config.Config) { c.P2P.MDNS = true }})
	na, nb := a.Nodes[0], b.Nodes[0]
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		return len(na.Network().Host().Network().ConnsToPeer(nb.PeerID())) > 0 &&
			len(nb.Network().Host().Network().ConnsToPeer(na.PeerID())) > 0
	}, func() string { return "the two nodes never connected" })
}
