package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/internal/netnstest"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// homeConfig is the config of a node in a home LAN: the home profile as a
// double-click runs it, headless (no browser in CI), without mDNS (one
// host per LAN) or port mapping (the routers speak neither), announcing
// itself every second so the requester hears the providers soon, and
// without the timed checks that two loaded cores fail (self-test, class
// challenge). A requester offers nothing; offerLines are more keys of
// the [offer] table.
func homeConfig(offer bool, offerLines ...string) string {
	return fmt.Sprintf(`profile = "home"
headless = true
[p2p]
mdns = false
nat_port_map = false
[gossip]
heartbeat_interval = "1s"
[offer]
enabled = %t
self_test = false
%s
[market]
verify_class = "off"
`, offer, strings.Join(offerLines, "\n"))
}

// natNode is a gpumesh node running in a namespace of the topology.
type natNode struct {
	name, ns, dir string
	started       time.Time
	p             *proc
}

// startIn runs `gpumesh run` with args in namespace ns, data dir dir
// holding config (when not empty), and waits for its readiness line.
func startIn(t *testing.T, name, ns, config string, args ...string) *natNode {
	t.Helper()
	n := &natNode{name: name, ns: ns, dir: t.TempDir(), started: time.Now()}
	if config != "" {
		if err := os.WriteFile(filepath.Join(n.dir, "config.toml"), []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args = append([]string{"run", "--data-dir", n.dir, "--network", "local"}, args...)
	n.p = startCmd(t, netnstest.Command(ns, binary, args...), args)
	return n
}

// cli runs a gpumesh client command against n, inside n's namespace (its
// API listens on that namespace's loopback).
func (n *natNode) cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	args = append(args, "--data-dir", n.dir)
	return runCmd(t, netnstest.Command(n.ns, binary, args...), args)
}

// status is n's `gpumesh status --json`, or false if it did not answer.
func (n *natNode) status(t *testing.T) (addrs []string, ok bool) {
	t.Helper()
	out, _, code := n.cli(t, "status", "--json")
	var st struct {
		Addrs    []string `json:"addrs"`
		Observed []string `json:"observed_addrs"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		return nil, false
	}
	return append(st.Addrs, st.Observed...), true
}

// TestJobAcrossNATs: a public bootstrap node and home LANs behind NATs,
// each node the real binary in its own network namespace, joined with
// --network local and an explicit bootstrap peer as a user would. The
// requester, at home, submits a 2-worker wasm job to two providers at two
// other homes behind port-preserving NATs: every message crosses the relay
// at first, and the job must succeed on its first try, its events saying
// how the work's data reached each provider. Then a third provider, the
// cheapest, behind a symmetric NAT, wins a rank of a second job: its
// data is refused the relay with the reason, and the rank fails over. The
// test reports how soon each home had a relay address, and the events'
// times (bids, hole punching).
func TestJobAcrossNATs(t *testing.T) {
	netnstest.Require(t)
	top := netnstest.Build(t, netnstest.Home{Name: "a"}, netnstest.Home{Name: "b"}, netnstest.Home{Name: "d"},
		netnstest.Home{Name: "c", Symmetric: true})
	module := executortest.WasmModule(t, "copy")

	var all []*natNode
	t.Cleanup(func() { // after the nodes' own cleanups ended them
		if t.Failed() {
			for _, n := range all {
				t.Logf("%s log:\n%s", n.name, tail(n.p.stderr.String(), 4000))
			}
		}
	})
	pub := startIn(t, "bootstrap", top.Public, "", "--profile", "bootstrap", "--api", "127.0.0.1:0")
	all = append(all, pub)
	boot := "/ip4/" + netnstest.PublicAddr + "/tcp/4101/p2p/" + pub.p.peer
	req := startIn(t, "requester", top.Homes["a"], homeConfig(false), "--bootstrap", boot)
	all = append(all, req)
	var provs []*natNode
	for _, h := range []string{"b", "d"} {
		provs = append(provs, startIn(t, "provider "+h, top.Homes[h], homeConfig(true), "--bootstrap", boot))
		all = append(all, provs[len(provs)-1])
	}
	homes := slices.Clone(all[1:])

	relayAt := map[string]time.Duration{}
	waitUntil(t, 2*time.Minute, "a relay address at every home", func() bool {
		for _, n := range homes {
			if _, ok := relayAt[n.name]; ok {
				continue
			}
			if addrs, _ := n.status(t); strings.Contains(strings.Join(addrs, " "), "/p2p-circuit") {
				relayAt[n.name] = time.Since(n.started)
			}
		}
		return len(relayAt) == len(homes)
	})
	for _, n := range homes {
		t.Logf("%s: relay address %.1fs after start", n.name, relayAt[n.name].Seconds())
	}
	heard := time.Now()
	waitUntil(t, time.Minute, "the requester finding both providers' offers", func() bool {
		got := offeredBy(t, req)
		return contains(got, provs[0].p.peer) && contains(got, provs[1].p.peer)
	})
	t.Logf("requester found both providers' offers %.1fs after every home had a relay address", time.Since(heard).Seconds())

	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("hello gpumesh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The input file and module are read by the client, in the requester's
	// namespace: the filesystem is shared.
	out, errOut, code := req.cli(t, "submit", "--workers", "2", "--wasm", module, "--input", in)
	t.Logf("gpumesh submit --workers 2 --wasm (requester at home a):\n%s%s", out, errOut)
	if code != 0 || !strings.Contains(out, "succeeded") {
		t.Fatalf("submit across NATs = exit %d, want 0 and succeeded on the first try", code)
	}
	id := submittedLine.FindStringSubmatch(out)[1]
	v := jobViewIn(t, req, id)
	if v.State != market.StateSucceeded || v.Failovers != 0 {
		t.Errorf("job %s with %d failovers, want succeeded with none: %s", v.State, v.Failovers, v.Error)
	}
	for _, e := range v.Events {
		t.Logf("+%6.3fs %-9s %s", e.At.Sub(v.Created).Seconds(), e.Kind, e.Text)
	}
	// Both providers are behind NAT: the events say how the work's data
	// reached each (direct, after hole punching or a direct dial).
	for _, p := range provs {
		t.Logf("requester to %s after the job: %s", p.name, pathTo(t, req, p.p.peer))
		if !slices.ContainsFunc(v.Events, func(e market.Event) bool { return e.Kind == "direct" && e.Peer == p.p.peer }) {
			t.Errorf("job events say nothing of the path to %s (%s), want a direct event", p.name, p.p.peer)
		}
	}
	checkResults(t, req, id)

	// A third provider, behind a NAT that picks a random port for every
	// destination, and the cheapest: it wins a rank of the next job, but
	// hole punching cannot pass its NAT, so the work's data is refused
	// the relay, the event says why, and its rank fails over to the
	// runner-up: the job still succeeds.
	c := startIn(t, "provider c", top.Homes["c"], homeConfig(true, `prices = ["cpu=0.01"]`), "--bootstrap", boot)
	all = append(all, c)
	// c must be findable as the requester's invitations look for it (its
	// record under every capability key, not just the first one), and
	// then by the requester: a provider that joined a second ago may not
	// be in the jobs topic's mesh yet, so the invitation is what reaches it.
	waitUntil(t, time.Minute, "provider c's record published under all its capability keys", func() bool { return published(t, c) })
	waitUntil(t, time.Minute, "the requester finding provider c's offer", func() bool { return contains(offeredBy(t, req), c.p.peer) })
	out, errOut, code = req.cli(t, "submit", "--workers", "2", "--wasm", module, "--input", in)
	t.Logf("gpumesh submit with provider c behind a symmetric NAT:\n%s%s", out, errOut)
	if code != 0 || !strings.Contains(out, "succeeded") {
		t.Fatalf("submit with a provider behind a symmetric NAT = exit %d, want 0 and succeeded after a failover", code)
	}
	id = submittedLine.FindStringSubmatch(out)[1]
	v = jobViewIn(t, req, id)
	relayed := slices.ContainsFunc(v.Events, func(e market.Event) bool {
		return e.Kind == "relayed" && e.Peer == c.p.peer && strings.Contains(e.Text, "hole punching found no direct path")
	})
	if !relayed || v.Failovers != 1 {
		t.Errorf("job with provider c: relayed event %v, %d failovers; want c refused for the work's data with its reason, and 1 failover", relayed, v.Failovers)
	}
	checkResults(t, req, id)
}

// checkResults copies job id's results from the requester n and checks
// both ranks' outputs.
func checkResults(t *testing.T, n *natNode, id string) {
	t.Helper()
	dest := t.TempDir()
	if out, errOut, code := n.cli(t, "results", id, "-o", dest); code != 0 {
		t.Fatalf("results = exit %d: %s%s", code, out, errOut)
	}
	for _, r := range []string{"rank-0", "rank-1"} {
		b, err := os.ReadFile(filepath.Join(dest, r, "out.txt"))
		if err != nil || string(b) != "HELLO GPUMESH\n" {
			t.Errorf("%s output %q, %v", r, b, err)
		}
	}
}

// offeredBy lists the providers n's `gpumesh offers` finds: behind NAT,
// the requester is connected to none of them, so `peers` does not list
// them; their capacity comes through gossip and the DHT.
func offeredBy(t *testing.T, n *natNode) []string {
	t.Helper()
	out, _, code := n.cli(t, "offers", "--json")
	var res struct {
		Offers []struct {
			Peer string `json:"peer"`
		} `json:"offers"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
		return nil
	}
	var ids []string
	for _, o := range res.Offers {
		ids = append(ids, o.Peer)
	}
	return ids
}

// published reports whether n says its capacity record reached the DHT
// under all its capability keys (`gpumesh prices --json`).
func published(t *testing.T, n *natNode) bool {
	t.Helper()
	out, _, code := n.cli(t, "prices", "--json")
	var m struct {
		Published bool `json:"published"`
	}
	return code == 0 && json.Unmarshal([]byte(out), &m) == nil && m.Published
}

// pathTo says whether n's connections to peer are direct or relayed.
func pathTo(t *testing.T, n *natNode, peer string) string {
	t.Helper()
	out, _, code := n.cli(t, "peers", "--json")
	var ps []struct {
		ID    string   `json:"id"`
		Addrs []string `json:"addrs"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &ps) != nil {
		return "unknown (peers did not answer)"
	}
	for _, p := range ps {
		if p.ID != peer {
			continue
		}
		for _, a := range p.Addrs {
			if !strings.Contains(a, "/p2p-circuit") {
				return "direct over " + strings.Join(p.Addrs, ", ")
			}
		}
		return "relayed only over " + strings.Join(p.Addrs, ", ")
	}
	return "not connected"
}

// jobViewIn is n's view of job id.
func jobViewIn(t *testing.T, n *natNode, id string) market.JobView {
	t.Helper()
	out, errOut, code := n.cli(t, "jobs", id, "--json")
	var v market.JobView
	if code != 0 {
		t.Fatalf("jobs %s --json = exit %d: %s", id, code, errOut)
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("jobs --json: %v\n%s", err, out)
	}
	return v
}

// waitUntil polls cond until it holds, failing t after within.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
