package node_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p/overlay"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestJobNetworkAllReduce is issue 19's proof on a real libp2p network:
// three providers, each running its rank of a 3-worker process job
// (/usr/bin/python3 allowlisted) in a network namespace of its own, so
// the job network is the only path between the ranks. The ranks meet at
// MASTER_ADDR:MASTER_PORT and all-reduce rank+1 with torch.distributed's
// gloo backend (Debian's python3-torch; without it, over a plain TCP
// socket, and the test says so): every rank must end with 6; then they
// train a small model for a few DDP steps, each on its own data, and must
// end with identical parameters. Each rank
// also tries the provider's own API address and a listener on the host's
// LAN address, which must both fail.
func TestJobNetworkAllReduce(t *testing.T) {
	python := requireJobNetwork(t, "four nodes and three Python processes")
	torch := exec.Command(python, "-c", "import torch.distributed as d; assert d.is_gloo_available()").Run() == nil
	if !torch {
		t.Log("torch.distributed with gloo is not importable (Debian: python3-torch): the ranks exchange over a plain TCP socket instead")
	}
	script, err := filepath.Abs("testdata/allreduce.py")
	if err != nil {
		t.Fatal(err)
	}
	f := nodetest.Start(t, 4, nodetest.Options{
		Configure: func(i int, c *config.Config) {
			c.Offer.Enabled = i > 0
			c.Market.VerifyClass = market.VerifyOff // not what this is about
			if i > 0 {
				c.Offer.Executors = []string{"wasm", "process"}
				c.Executor.Commands = []string{"python3=" + python}
				c.Executor.MaxMemoryMB = 8192 // torch maps more address space than the default allows
			}
		},
	})
	f.WaitHeard(t, 30*time.Second)
	for _, p := range f.Nodes[1:] {
		nodetest.WaitFor(t, 30*time.Second, p.Offering, func() string { return "a provider did not publish its record" })
	}
	api, err := url.Parse(f.Nodes[1].APIURL())
	if err != nil {
		t.Fatal(err)
	}
	targets := []string{api.Host}
	if lan := lanAddr(); lan.IsValid() { // a listener the host itself reaches on its LAN address
		ln, err := net.Listen("tcp", netip.AddrPortFrom(lan, 0).String())
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		targets = append(targets, ln.Addr().String())
	} else {
		t.Log("no LAN address on this host: only the API is tried")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	m := f.Nodes[0].Market()
	v, err := m.Submit(ctx, market.Spec{Workers: 3, Pool: "cpu", Executor: "process", Command: "python3",
		Args: append([]string{"inputs/allreduce.py"}, targets...), Inputs: []string{script}, Failover: market.FailoverNone})
	if err != nil {
		t.Fatal(err)
	}
	v, err = m.Wait(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, _, err := m.Logs(v.ID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	sums, peers, params := map[int]string{}, map[int]string{}, map[int]string{}
	reached := map[string]int{} // target: ranks that tried it and failed
	for _, l := range page.Lines {
		fmt.Fprintf(&all, "rank %d %s: %s\n", l.Rank, l.Stream, l.Text)
		if s, ok := strings.CutPrefix(l.Text, "sum="); ok {
			sums[l.Rank] = s
		}
		if s, ok := strings.CutPrefix(l.Text, "reach "); ok {
			target, outcome, _ := strings.Cut(s, " ")
			if strings.HasPrefix(outcome, "failed") {
				reached[target]++
			} else {
				t.Errorf("rank %d reached %s from its namespace", l.Rank, target)
			}
		}
		if s, ok := strings.CutPrefix(l.Text, "env "); ok {
			peers[l.Rank] = s
		}
		if s, ok := strings.CutPrefix(l.Text, "params="); ok {
			params[l.Rank] = s
		}
	}
	if v.State != market.StateSucceeded {
		t.Fatalf("job %s: %s\n%s", v.State, v.Error, all.String())
	}
	for rk := range 3 {
		if sums[rk] != "6" {
			t.Errorf("rank %d: sum %q, want 6\n%s", rk, sums[rk], all.String())
		}
		master := masterOf(peers[rk])
		if a, err := netip.ParseAddr(master); err != nil || !netip.MustParsePrefix("10.128.0.0/9").Contains(a) || master != masterOf(peers[0]) {
			t.Errorf("rank %d: environment %q, want rank 0's MASTER_ADDR (%s) inside 10.128.0.0/9", rk, peers[rk], masterOf(peers[0]))
		}
		if !strings.Contains(peers[rk], ":29500 ") {
			t.Errorf("rank %d: environment %q, want MASTER_PORT 29500", rk, peers[rk])
		}
	}
	if torch {
		for rk := range 3 {
			if params[rk] == "" || params[rk] != params[0] {
				t.Errorf("rank %d ended DDP training with parameters %q, rank 0 with %q: want the same\n%s", rk, params[rk], params[0], all.String())
			}
		}
	}
	for _, target := range targets {
		if reached[target] != 3 {
			t.Errorf("%d ranks tried %s and failed, want 3\n%s", reached[target], target, all.String())
		}
	}
	t.Logf("torch=%v on %s:\n%s", torch, runtime.GOOS, all.String())
}

// lanAddr is a non-loopback IPv4 address of this host, if it has one.
func lanAddr() netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.Addr{}
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() {
			return p.Addr()
		}
	}
	return netip.Addr{}
}

// masterOf is the MASTER_ADDR of an "env master=ADDR:PORT ..." line.
func masterOf(env string) string {
	m, _, _ := strings.Cut(strings.TrimPrefix(env, "master="), ":")
	return m
}

// requireJobNetwork skips t under -short (saying what it would run), and
// where job networks cannot run here or there is no python3; it returns
// python3's path.
func requireJobNetwork(t *testing.T, what string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped in -short: " + what)
	}
	if err := overlay.Supported(); err != nil {
		t.Skipf("skipped: %v", err)
	}
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "pass").Run(); err != nil {
		t.Skipf("skipped: needs %s (Debian: python3): %v", python, err)
	}
	return python
}
