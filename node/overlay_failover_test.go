package node_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/p2p/overlay"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestJobNetworkFailover: a 3-worker process job on a job network (four
// providers, one spare) loses the provider of rank 2 while every rank
// waits on the others (testdata/failover_net.py: rank 0 finishes only
// once a rank of generation 1 joined). The replacement takes over rank
// 2's address, the others are told (a network_member event), and the job
// succeeds per its failover mode: with restart every rank starts again
// and ends in generation 1; with replace ranks 0 and 1 go on in
// generation 0 and take in the replacement's packets. The restart case
// takes the spare's runner-up bid; in the replace case the spare is
// paused until every rank joined, so the replacement comes through a
// failover request, whose award names the job's network.
func TestJobNetworkFailover(t *testing.T) {
	python := requireJobNetwork(t, "five nodes and Python processes, twice")
	script, err := filepath.Abs("testdata/failover_net.py")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode       string
		viaRequest bool      // the replacement comes through a failover request
		gens       [3]string // the generation each rank ends in
	}{
		{market.FailoverRestart, false, [3]string{"1", "1", "1"}},
		{market.FailoverReplace, true, [3]string{"0", "0", "1"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			v, lines := runNetFailover(t, python, script, tc.mode, tc.viaRequest)
			ends := map[int]string{} // rank: "sum=... gen=..." of its last start
			for _, l := range lines {
				if strings.HasPrefix(l.Text, "sum=") {
					ends[l.Rank] = l.Text
				}
			}
			for rk := range 3 {
				if want := "sum=6 gen=" + tc.gens[rk]; ends[rk] != want {
					t.Errorf("rank %d ended with %q, want %q", rk, ends[rk], want)
				}
			}
			var member []string
			viaRequest := false
			for _, e := range v.Events {
				if e.Kind == market.EventNetworkMember {
					member = append(member, e.Text)
				}
				viaRequest = viaRequest || strings.HasPrefix(e.Text, "no runner-up bid usable")
			}
			if viaRequest != tc.viaRequest {
				t.Errorf("replaced through a failover request: %v, want %v", viaRequest, tc.viaRequest)
			}
			if len(member) != 1 || !strings.Contains(member[0], "2 of 2 other providers told") {
				t.Errorf("network_member events %q, want one that told both other providers", member)
			}
			// The job's view sums the providers' counters of its network:
			// every rank sent and took in packets.
			if n := v.Network; n == nil || n.PacketsIn == 0 || n.PacketsOut == 0 || n.BytesIn == 0 {
				t.Errorf("job network counters %+v, want packets both ways", n)
			}
		})
	}
}

// TestJobNetworkFailoverTorch: a 3-worker torch.distributed gloo job
// (testdata/failover_torch.py) on a job network loses the provider of
// rank 2 while every rank waits in its group; with failover restart every
// rank starts again, the group forms again with the replacement at rank
// 2's address, and every rank ends in generation 1 with the same
// all-reduced sum and the same parameters after three DDP steps on
// different data.
func TestJobNetworkFailoverTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short: five nodes and torch processes")
	}
	if err := overlay.Supported(); err != nil {
		t.Skipf("skipped: %v", err)
	}
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import torch.distributed as d; assert d.is_gloo_available()").Run(); err != nil {
		t.Skipf("skipped: torch.distributed with gloo is not importable by %s (Debian: python3-torch): %v", python, err)
	}
	script, err := filepath.Abs("testdata/failover_torch.py")
	if err != nil {
		t.Fatal(err)
	}
	_, lines := runNetFailover(t, python, script, market.FailoverRestart, false)
	ends := map[int]string{} // rank: its last "sum=..." line
	for _, l := range lines {
		if strings.HasPrefix(l.Text, "sum=") {
			ends[l.Rank] = l.Text
		}
	}
	want := ends[0]
	if !strings.HasPrefix(want, "sum=6 gen=1 params=") {
		t.Fatalf("rank 0 ended with %q, want sum=6 in generation 1 with its parameters", want)
	}
	for rk := 1; rk < 3; rk++ {
		if ends[rk] != want {
			t.Errorf("rank %d ended with %q, want rank 0's %q", rk, ends[rk], want)
		}
	}
}

// runNetFailover runs the failover job in mode on four providers,
// crashes rank 2's provider once every rank joined, and returns the
// succeeded job and its log lines. With viaRequest the spare provider is
// paused until then: it bids only on the failover request.
func runNetFailover(t *testing.T, python, script, mode string, viaRequest bool) (market.JobView, []market.LogLine) {
	f := nodetest.Start(t, 5, nodetest.Options{
		Configure: func(i int, c *config.Config) {
			c.Offer.Enabled = i > 0
			c.Market.VerifyClass = market.VerifyOff
			c.Market.HeartbeatInterval = p2p.Duration(200 * time.Millisecond)
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
	spare := f.Nodes[4]
	if viaRequest {
		if _, err := spare.Pause("the test's spare"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	m := f.Nodes[0].Market()
	v, err := m.Submit(ctx, market.Spec{Workers: 3, Pool: "cpu", Executor: "process", Command: "python3",
		Args: []string{"inputs/" + filepath.Base(script)}, Inputs: []string{script}, Failover: mode})
	if err != nil {
		t.Fatal(err)
	}
	logs := func() []market.LogLine { page, _, _ := m.Logs(v.ID, 0, 1000); return page.Lines }
	joined := func(rk int, gen string) bool {
		return slices.ContainsFunc(logs(), func(l market.LogLine) bool { return l.Rank == rk && l.Text == "joined gen="+gen })
	}
	nodetest.WaitFor(t, time.Minute, func() bool { return joined(0, "0") && joined(1, "0") && joined(2, "0") },
		func() string { j, _ := m.Job(v.ID); return fmt.Sprintf("the ranks did not all join: %+v", j.Events) })
	j, _ := m.Job(v.ID)
	k := slices.IndexFunc(j.Cluster, func(c market.Member) bool { return slices.Contains(c.Ranks, 2) })
	if k < 0 || len(j.Cluster[k].Ranks) != 1 {
		t.Fatalf("rank 2 is not alone on a provider: %+v", j.Cluster)
	}
	lost := j.Cluster[k].Peer
	if viaRequest {
		if _, err := spare.Resume(); err != nil {
			t.Fatal(err)
		}
	}
	crashed := false
	for _, nd := range f.Nodes[1:] {
		if nd.PeerID().String() == lost {
			crashProvider(t, nd)
			crashed = true
		}
	}
	if !crashed {
		t.Fatalf("no node %s", lost)
	}
	if v, err = m.Wait(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	lines := logs()
	if v.State != market.StateSucceeded || v.Failovers != 1 {
		var b strings.Builder
		for _, e := range v.Events {
			fmt.Fprintf(&b, "%s: %s\n", e.Kind, e.Text)
		}
		for _, l := range lines {
			fmt.Fprintf(&b, "rank %d %s: %s\n", l.Rank, l.Stream, l.Text)
		}
		t.Fatalf("job %s after %d failovers (%s), want succeeded after 1\n%s", v.State, v.Failovers, v.Error, b.String())
	}
	for _, e := range v.Events {
		if e.Kind != "log" {
			t.Logf("%s %-15s %s", e.At.Format("15:04:05.000"), e.Kind, e.Text)
		}
	}
	for _, l := range lines {
		t.Logf("rank %d %s: %s", l.Rank, l.Peer[len(l.Peer)-6:], l.Text)
	}
	t.Logf("job network: %+v", v.Network)
	return v, lines
}

// crashProvider closes nd's host: it sends no word after this.
func crashProvider(t *testing.T, nd *node.Node) {
	if err := nd.Network().Host().Close(); err != nil {
		t.Fatal(err)
	}
}
