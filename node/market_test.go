package node_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// TestClusterOnLoopback: three CPU providers and a requester on loopback
// form a two-worker cluster, and the job's story explains it.
func TestClusterOnLoopback(t *testing.T) {
	f := nodetest.Start(t, 4, nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i > 0
		c.Market.InviteAbove = 0 // invite providers found through capability keys too
	}})
	f.WaitHeard(t, 30*time.Second)
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		return f.Nodes[1].Offering() && f.Nodes[2].Offering() && f.Nodes[3].Offering()
	}, func() string { return "providers did not publish their capacity" })
	req := f.Nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := req.Market().Submit(ctx, market.Spec{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	v, err = req.Market().Wait(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range v.Events {
		t.Logf("%s %-9s %s", e.At.Format("15:04:05.000"), e.Kind, e.Text)
	}
	if v.State != market.StateFormed {
		t.Fatalf("state %s: %s", v.State, v.Error)
	}
	if len(v.Cluster) != 2 || v.Cluster[0].Peer == v.Cluster[1].Peer {
		t.Fatalf("cluster %+v, want 2 providers", v.Cluster)
	}
	if v.Cost == nil || v.Cost.PerHour <= 0 || v.Cost.RequesterPays <= v.Cost.Gross {
		t.Errorf("cost %+v: want a price and the requester's fee on top", v.Cost)
	}
	// The providers were also invited directly; they had bid already, so
	// none was asked twice or bid twice.
	nodetest.WaitFor(t, 10*time.Second, func() bool {
		v, _ = req.Market().Job(v.ID)
		return slices.ContainsFunc(v.Events, func(e market.Event) bool { return e.Kind == "invited" })
	}, func() string { return "no invitation went out" })
	if v.Bids != 3 {
		t.Errorf("%d bids from 3 providers", v.Bids)
	}
	// The requester watches its cluster's heartbeats for reputation.
	winner, _ := peer.Decode(v.Cluster[0].Peer)
	nodetest.WaitFor(t, 10*time.Second, func() bool {
		view, ok := req.Reputation().View(winner)
		return ok && view.Counts[reputation.HeartbeatOnTime] > 0 && view.Counts[reputation.AwardAccepted] > 0
	}, func() string {
		view, _ := req.Reputation().View(winner)
		return fmt.Sprintf("winner's record in the requester's book: %+v", view.Counts)
	})
	// Each winner holds one reserved device, shown in its next capacity record.
	for _, m := range v.Cluster {
		for _, nd := range f.Nodes[1:] {
			if nd.PeerID().String() == m.Peer && len(nd.Market().Reserved()) != 1 {
				t.Errorf("winner %s holds %d reserved devices, want 1", m.Peer, len(nd.Market().Reserved()))
			}
		}
	}
}

// TestJobRequestsFromABadPeer: a peer publishes job requests no one may
// send (k = 0, k = 10,000, a negative price) and then floods valid ones.
// The provider rejects each with its reason, scores the sender down,
// reserves nothing, and still serves an honest requester.
func TestJobRequestsFromABadPeer(t *testing.T) {
	f := nodetest.Start(t, 2, nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i == 0
		c.Market.RequestsPerMinute = 30
	}})
	f.WaitHeard(t, 30*time.Second)
	provider, honest := f.Nodes[0], f.Nodes[1]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h, ps := rawGossiper(t, ctx, provider)
	jobs := joinTopics(t, ps, provider, gossip.TopicJobs)[0]
	key := h.Peerstore().PrivKey(h.ID())
	seq := uint64(0)
	request := func(mutate func(r *gossip.JobRequest)) []byte {
		seq++
		now := time.Now()
		r := &gossip.JobRequest{ID: fmt.Sprintf("%032x", seq), Seq: seq, Sent: now, BidDeadline: now.Add(2 * time.Second),
			Workers: 1, PerWorker: gossip.Resources{GPUs: 1}, MaxPrice: 1, Duration: time.Hour,
			Executor: "wasm", Workload: "none", Urgency: gossip.UrgencyNormal}
		mutate(r)
		return sealed(t, r, key)
	}
	for _, bad := range []func(r *gossip.JobRequest){
		func(r *gossip.JobRequest) { r.Workers = 0 },
		func(r *gossip.JobRequest) { r.Workers = 10000 },
		func(r *gossip.JobRequest) { r.MaxPrice = -1 },
	} {
		if err := jobs.Publish(ctx, request(bad)); err != nil {
			t.Fatal(err)
		}
	}
	limit := provider.Config().Market.RequestsPerMinute
	for range limit {
		if err := jobs.Publish(ctx, request(func(*gossip.JobRequest) {})); err != nil {
			t.Fatal(err)
		}
	}
	var st gossip.Stats
	nodetest.WaitFor(t, 10*time.Second, func() bool {
		st = provider.Gossip().Stats()
		return st.Rejected["invalid"] >= 3 && st.Rejected["rate_limited"] >= 1
	}, func() string { return "rejections so far: " + formatStats(st) })
	nodetest.WaitFor(t, 10*time.Second, func() bool {
		s, ok := provider.Gossip().PeerScore(h.ID())
		return ok && s < 0
	}, func() string {
		s, ok := provider.Gossip().PeerScore(h.ID())
		return "flooder's score " + formatScore(s, ok)
	})
	if r := provider.Market().Reservations(); len(r) != 0 {
		t.Errorf("the flood reserved %d awards' devices", len(r))
	}
	// The requests under the limit were bid on, to a peer that takes no
	// bids: the bids failed and nothing stays open.
	if ms := provider.Market().Stats(); ms.BidsSent > uint64(limit) {
		t.Errorf("%d bids sent for a flood limited to %d requests", ms.BidsSent, limit)
	}

	v, err := honest.Market().Submit(ctx, market.Spec{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = honest.Market().Wait(ctx, v.ID); err != nil || v.State != market.StateFormed {
		t.Fatalf("honest job after the flood: %s %s %v", v.State, v.Error, err)
	}
	if v.Cluster[0].Peer != provider.PeerID().String() {
		t.Errorf("cluster %v, want the provider", v.Cluster)
	}
}

// TestWasmJobOnThreeWorkers: a 3-worker wasm job reads its input and
// writes an output on each of three providers; every output comes back,
// each rank's logs arrive as events, and the awards end with the work.
func TestWasmJobOnThreeWorkers(t *testing.T) {
	module := executortest.WasmModule(t, "copy")
	f := nodetest.Start(t, 4, nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i > 0
	}})
	f.WaitHeard(t, 30*time.Second)
	req := f.Nodes[0]
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("gpumesh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v, err := req.Market().Submit(ctx, market.Spec{Workers: 3, Module: module, Inputs: []string{in}, Args: []string{"--epochs", "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = req.Market().Wait(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	for _, e := range v.Events {
		t.Logf("%s %-9s %s", e.At.Format("15:04:05.000"), e.Kind, e.Text)
	}
	if v.State != market.StateSucceeded {
		t.Fatalf("state %s: %s", v.State, v.Error)
	}
	if len(v.Workers) != 3 {
		t.Fatalf("workers %+v", v.Workers)
	}
	page, _, err := req.Market().Logs(v.ID, 0, 0)
	if err != nil || !page.Final {
		t.Fatalf("logs %+v, %v", page, err)
	}
	logs := page.Lines
	for r, w := range v.Workers {
		if w.Rank != r || w.Result.Status != "succeeded" || !slices.Contains(w.Outputs, "out.txt") {
			t.Errorf("rank %d: %+v", r, w)
		}
		b, err := os.ReadFile(filepath.Join(v.Results, fmt.Sprintf("rank-%d", r), "out.txt"))
		if err != nil || string(b) != "GPUMESH\n" {
			t.Errorf("rank %d output %q, %v", r, b, err)
		}
		if !slices.ContainsFunc(logs, func(l market.LogLine) bool {
			return l.Rank == r && l.Text == fmt.Sprintf("rank=%d", r)
		}) {
			t.Errorf("no log line of rank %d", r)
		}
	}
	// Each provider's run ended in receipts both sides signed and logged:
	// the same bytes in the requester's log and the provider's.
	for _, u := range v.Usage {
		if len(u.Receipts) != len(u.Ranks) {
			t.Errorf("usage of %s: receipts %v for ranks %v (%s)", u.Peer, u.Receipts, u.Ranks, u.Settlement)
			continue
		}
		prov := slices.IndexFunc(f.Nodes, func(nd *node.Node) bool { return nd.PeerID().String() == u.Peer })
		for _, id := range u.Receipts {
			mine, err := req.Ledger().ByReceipt(id)
			if err != nil {
				t.Fatalf("requester's ledger: %v", err)
			}
			theirs, err := f.Nodes[prov].Ledger().ByReceipt(id)
			if err != nil {
				t.Fatalf("provider's ledger: %v", err)
			}
			if !bytes.Equal(mine.Data, theirs.Data) {
				t.Errorf("receipt %s differs between the two logs", id)
			}
			sg, err := ledger.UnmarshalSigned(mine.Data)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := ledger.Verify(sg)
			if err != nil {
				t.Fatalf("receipt %s: %v", id, err)
			}
			if rc.Job != v.ID || rc.Provider != u.Peer || rc.Requester != req.PeerID().String() ||
				rc.Status != ledger.StatusSucceeded || rc.ResultDigest == "" || rc.Amount <= 0 || rc.GPUMillis <= 0 {
				t.Errorf("receipt %+v", rc)
			}
		}
	}
	// The awards ended with the work: no provider holds a device.
	nodetest.WaitFor(t, 10*time.Second, func() bool {
		for _, nd := range f.Nodes[1:] {
			if len(nd.Market().Reserved()) > 0 {
				return false
			}
		}
		return true
	}, func() string { return "a provider still holds its devices after the work" })
}
