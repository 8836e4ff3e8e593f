package node_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// TestProvidedJobNetworkCounters: a provider's API lists each run it
// serves with the counters of that run's job network on its own
// overlay: live while the ranks run (rank 0 has sent 100000 bytes to rank
// 1 over TCP on the job's IPv6 subnet, GPUMESH_PEERS6: its provider
// counted them out, rank 1's in), and final, no smaller, after the job
// ended and its network was torn down.
func TestProvidedJobNetworkCounters(t *testing.T) {
	python := requireJobNetwork(t, "three nodes and two Python processes")
	script, err := filepath.Abs("testdata/exchange.py")
	if err != nil {
		t.Fatal(err)
	}
	done := filepath.Join(t.TempDir(), "done")
	f := nodetest.Start(t, 3, nodetest.Options{
		Configure: func(i int, c *config.Config) {
			c.Offer.Enabled = i > 0
			c.Market.VerifyClass = market.VerifyOff // not what this is about
			if i > 0 {
				c.Offer.Executors = []string{"process"}
				c.Executor.Commands = []string{"python3=" + python}
			}
		},
	})
	f.WaitHeard(t, 30*time.Second)
	for _, p := range f.Nodes[1:] {
		nodetest.WaitFor(t, 30*time.Second, p.Offering, func() string { return "a provider did not publish its record" })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	m := f.Nodes[0].Market()
	v, err := m.Submit(ctx, market.Spec{Workers: 2, Pool: "cpu", Executor: "process", Command: "python3",
		Args: []string{"inputs/exchange.py", done}, Inputs: []string{script}, Failover: market.FailoverNone})
	if err != nil {
		t.Fatal(err)
	}
	exchanged := func() bool {
		page, _, err := m.Logs(v.ID, 0, 100)
		n := 0
		for _, l := range page.Lines {
			if l.Text == "exchanged" {
				n++
			}
		}
		return err == nil && n == 2
	}
	nodetest.WaitFor(t, 2*time.Minute, exchanged, func() string { return "the ranks did not both exchange" })

	// Live: by rank, the provider's reservation of the job.
	served := func() map[int]market.Reservation {
		out := map[int]market.Reservation{}
		for _, p := range f.Nodes[1:] {
			jobs, err := api.NewClient(p.APIURL()).WithToken(p.APIToken()).Jobs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range jobs.Provided {
				if r.Job == v.ID && len(r.Ranks) == 1 {
					out[r.Ranks[0]] = r
				}
			}
		}
		return out
	}
	check := func(when string, by map[int]market.Reservation) (sent, got *run.NetCounters) {
		t.Helper()
		r0, r1 := by[0], by[1]
		if r0.Network == nil || r1.Network == nil {
			t.Fatalf("%s: ranks served as %+v and %+v, want each with its job network's counters", when, r0, r1)
		}
		if r0.Network.BytesOut < 100000 || r1.Network.BytesIn < 100000 || r0.Network.PacketsIn == 0 || r1.Network.PacketsOut == 0 {
			t.Errorf("%s: rank 0's provider counted %+v, rank 1's %+v: want the 100000 bytes out of the one and into the other, and the answer back", when, *r0.Network, *r1.Network)
		}
		return r0.Network, r1.Network
	}
	liveSent, liveGot := check("while running", served())
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if v, err = m.Wait(ctx, v.ID); err != nil || v.State != market.StateSucceeded {
		t.Fatalf("job: %v %s %s", err, v.State, v.Error)
	}
	var final map[int]market.Reservation
	nodetest.WaitFor(t, 30*time.Second, func() bool { // the providers learn of the end after the requester
		final = served()
		return final[0].Ended != "" && final[1].Ended != ""
	}, func() string { return "the providers' awards did not end" })
	sent, got := check("after the end", final)
	if sent.BytesOut < liveSent.BytesOut || got.BytesIn < liveGot.BytesIn {
		t.Errorf("final counters %+v, %+v below the live ones %+v, %+v", *sent, *got, *liveSent, *liveGot)
	}
	t.Logf("rank 0's provider: %+v; rank 1's: %+v", *sent, *got)
}
