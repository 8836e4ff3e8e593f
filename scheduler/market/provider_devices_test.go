package market_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// gpuOffer is n A100s at price whose executors name them GPU-0000000i,
// edited by edit.
func gpuOffer(n int, price float64, edit ...func(*market.Offer)) func() (market.Offer, bool) {
	return func() (market.Offer, bool) {
		o := market.Offer{HostCores: 64, HostRAMGB: 512, GPUs: map[int]executor.Device{}, Record: capacity.Record{
			Prices:    map[string]float64{"A100-80GB": price},
			Executors: []string{"wasm", "docker", "process"},
		}}
		for i := range n {
			o.Record.Devices = append(o.Record.Devices, capacity.Device{Class: "A100-80GB", Pool: "gpu", MemoryMB: 80 << 10, Free: true})
			o.GPUs[i] = executor.Device{Index: i, UUID: fmt.Sprintf("GPU-%08d", i)}
		}
		for _, e := range edit {
			e(&o)
		}
		return o, true
	}
}

// request is a job request for workers of gpus each, by executor, for d.
func request(workers, gpus int, executor string, d time.Duration) *gossip.JobRequest {
	now := time.Now()
	return &gossip.JobRequest{ID: strings.Repeat("ab", 16), Seq: 1, Sent: now, BidDeadline: now.Add(time.Second), Workers: workers,
		PerWorker: gossip.Resources{GPUs: gpus}, MaxPrice: 10, Duration: d, Executor: executor, Workload: "none", Urgency: gossip.UrgencyNormal}
}

// A provider does not bid on a job longer than its executors' max_wall,
// and says both numbers; a job of exactly max_wall gets a bid.
func TestDecideRefusesJobsOverMaxWall(t *testing.T) {
	o, _ := gpuOffer(2, 1, func(o *market.Offer) { o.MaxWall = time.Hour })()
	_, r := market.Decide(request(1, 1, "wasm", 2*time.Hour), o, nil, time.Now())
	if r == nil || r.Check != market.CheckDuration || !strings.Contains(r.Detail, "2h0m0s") || !strings.Contains(r.Detail, "1h0m0s") ||
		!strings.Contains(r.Detail, "max_wall") {
		t.Fatalf("got %v, want a duration refusal naming 2h0m0s and max_wall 1h0m0s", r)
	}
	if _, r := market.Decide(request(1, 1, "wasm", time.Hour), o, nil, time.Now()); r != nil {
		t.Fatalf("a job of exactly max_wall: %v, want a bid", r)
	}
}

// A provider whose Docker engine cannot hand GPUs over does not bid on a
// docker job for its GPUs, and says why; its process executor still does.
func TestDecideRefusesGPUsTheExecutorCannotHand(t *testing.T) {
	o, _ := gpuOffer(2, 1, func(o *market.Offer) {
		o.NoGPUs = map[string]string{"docker": "the Docker engine has no NVIDIA runtime"}
	})()
	_, r := market.Decide(request(1, 1, "docker", time.Hour), o, nil, time.Now())
	if r == nil || r.Check != market.CheckGPUs || !strings.Contains(r.Detail, "no NVIDIA runtime") {
		t.Fatalf("got %v, want a gpus refusal with the engine's reason", r)
	}
	if _, r := market.Decide(request(1, 1, "process", time.Hour), o, nil, time.Now()); r != nil {
		t.Fatalf("process job: %v, want a bid", r)
	}
}

// Two concurrent jobs on an 8-GPU provider get disjoint devices, each
// rank exactly its share, by index and UUID; a device is never held by
// two jobs, and the end of a job's run frees its devices for the next.
func TestConcurrentJobsGetDisjointDevices(t *testing.T) {
	req, prov := newPeer(t), newPeer(t)
	connect(t, req, prov)
	pub := &gossipTo{from: req.h.ID()}
	mReq, _ := newMarket(t, req, pub, nil)
	mProv, _ := newMarket(t, prov, &gossipTo{}, gpuOffer(8, 1))
	pub.providers = []*market.Market{mProv}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	two, three := 2, 3
	form := func(spec market.Spec) string {
		t.Helper()
		v, err := mReq.Submit(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		if v, err = mReq.Wait(ctx, v.ID); err != nil || v.State != market.StateFormed {
			t.Fatalf("job: %s %s %v", v.State, v.Error, err)
		}
		return v.ID
	}
	a := form(market.Spec{Workers: 2, GPUs: &two, Duration: 3600e9})
	b := form(market.Spec{Workers: 1, GPUs: &three, Duration: 3600e9})
	ga, err := mProv.BeginRun(a, req.h.ID(), []int{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	gb, err := mProv.BeginRun(b, req.h.ID(), []int{0})
	if err != nil {
		t.Fatal(err)
	}
	held := map[int]string{}
	for name, c := range map[string]struct {
		g     run.Grant
		ranks []int
		per   int
	}{"a": {ga, []int{0, 1}, 2}, "b": {gb, []int{0}, 3}} {
		if len(c.g.Devices) != len(c.ranks) {
			t.Errorf("job %s: devices for ranks %v, want %v", name, slices.Collect(maps.Keys(c.g.Devices)), c.ranks)
		}
		for _, rk := range c.ranks {
			devs := c.g.Devices[rk]
			if len(devs) != c.per {
				t.Errorf("job %s rank %d: %d devices, want %d", name, rk, len(devs), c.per)
			}
			for _, d := range devs {
				if d.UUID != fmt.Sprintf("GPU-%08d", d.Index) {
					t.Errorf("job %s: device %d named %q, want its UUID", name, d.Index, d.UUID)
				}
				if other, dup := held[d.Index]; dup {
					t.Errorf("device %d held by %s and by %s rank %d", d.Index, other, name, rk)
				}
				held[d.Index] = fmt.Sprintf("%s rank %d", name, rk)
			}
		}
	}
	if got := len(mProv.Reserved()); got != 7 {
		t.Errorf("%d devices reserved, want 7", got)
	}
	for _, r := range mProv.Reservations() { // the provider's view names them too
		if g := map[string]run.Grant{a: ga, b: gb}[r.Job]; !slices.Equal(r.GPUs[0], g.Devices[0]) {
			t.Errorf("reservation of %s shows GPUs %v, granted %v", r.Job, r.GPUs, g.Devices)
		}
	}
	// A third job of 2 GPUs finds one free device: no bid, and nothing
	// of the running jobs' devices goes to it.
	v, err := mReq.Submit(ctx, market.Spec{Workers: 1, GPUs: &two, Duration: 3600e9})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ = mReq.Wait(ctx, v.ID); v.State == market.StateFormed {
		t.Fatalf("a third job formed on devices held by two running jobs: %+v", v.Cluster)
	}
	// The end of a's run frees its four devices; the next job gets them.
	mProv.EndRun(a, req.h.ID(), run.RunEnd{Reason: "completed"})
	if got := len(mProv.Reserved()); got != 3 {
		t.Errorf("%d devices reserved after a's end, want 3", got)
	}
	c := form(market.Spec{Workers: 1, GPUs: &two, Duration: 3600e9})
	gc, err := mProv.BeginRun(c, req.h.ID(), []int{0})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range gc.Devices[0] {
		if strings.HasPrefix(held[d.Index], "b") {
			t.Errorf("job c got device %d, which %s still holds", d.Index, held[d.Index])
		}
	}
}

// Run admission refuses ranks not in the award, a rank asked twice, and a
// second start, each with its reason, and grants nothing on a refusal;
// CheckRun grants what BeginRun then holds.
func TestBadRunAdmissionGrantsNothing(t *testing.T) {
	req, prov := newPeer(t), newPeer(t)
	connect(t, req, prov)
	pub := &gossipTo{from: req.h.ID()}
	mReq, _ := newMarket(t, req, pub, nil)
	mProv, _ := newMarket(t, prov, &gossipTo{}, gpuOffer(4, 1))
	pub.providers = []*market.Market{mProv}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	two := 2
	v, err := mReq.Submit(ctx, market.Spec{Workers: 1, GPUs: &two})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = mReq.Wait(ctx, v.ID); err != nil || v.State != market.StateFormed {
		t.Fatalf("job: %s %s %v", v.State, v.Error, err)
	}
	for _, c := range []struct {
		ranks []int
		want  string
	}{
		{[]int{1}, "rank 1 of job"},
		{[]int{0, 0}, "rank 0 of job " + v.ID + " asked twice"},
	} {
		g, err := mProv.BeginRun(v.ID, req.h.ID(), c.ranks)
		if err == nil || !strings.Contains(err.Error(), c.want) || len(g.Devices) != 0 {
			t.Errorf("ranks %v: grant %v, %v; want nothing and %q", c.ranks, g.Devices, err, c.want)
		}
	}
	checked, err := mProv.CheckRun(v.ID, req.h.ID(), []int{0})
	if err != nil {
		t.Fatal(err)
	}
	g, err := mProv.BeginRun(v.ID, req.h.ID(), []int{0})
	if err != nil || len(g.Devices[0]) != 2 || !slices.Equal(g.Devices[0], checked.Devices[0]) {
		t.Fatalf("grant %v, %v; want rank 0's two devices, as CheckRun said (%v)", g.Devices, err, checked.Devices)
	}
	if g, err := mProv.BeginRun(v.ID, req.h.ID(), []int{0}); err == nil || len(g.Devices) != 0 {
		t.Errorf("second start: grant %v, %v; want a refusal", g.Devices, err)
	}
	mProv.EndRun(v.ID, req.h.ID(), run.RunEnd{Reason: "completed"})
	if got := len(mProv.Reserved()); got != 0 {
		t.Errorf("%d devices reserved after the run's end, want 0", got)
	}
}

// An award whose job does not start within market.reserve_hold lapses and
// frees its devices for the next job; a running job's stay held.
func TestLapsedReservationFreesItsDevices(t *testing.T) {
	req, prov := newPeer(t), newPeer(t)
	connect(t, req, prov)
	pub := &gossipTo{from: req.h.ID()}
	mReq, _ := newMarket(t, req, pub, nil)
	mProv, _ := newMarket(t, prov, &gossipTo{}, gpuOffer(4, 1), func(c *market.Config, _ *market.Deps) {
		c.ReserveHold = p2p.Duration(time.Second)
	})
	pub.providers = []*market.Market{mProv}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	two := 2
	var ids []string
	for range 2 {
		v, err := mReq.Submit(ctx, market.Spec{Workers: 1, GPUs: &two})
		if err != nil {
			t.Fatal(err)
		}
		if v, err = mReq.Wait(ctx, v.ID); err != nil || v.State != market.StateFormed {
			t.Fatalf("job: %s %s %v", v.State, v.Error, err)
		}
		ids = append(ids, v.ID)
	}
	g, err := mProv.BeginRun(ids[0], req.h.ID(), []int{0})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(mProv.Reserved()) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("reserved %v after 10s, want only the running job's two devices", mProv.Reserved())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, d := range g.Devices[0] {
		if !mProv.Reserved()[d.Index] {
			t.Errorf("the running job's device %d was freed", d.Index)
		}
	}
	for _, r := range mProv.Reservations() {
		if r.Job == ids[1] && !strings.HasPrefix(r.Ended, "lapsed") {
			t.Errorf("the unstarted job's reservation: %+v, want lapsed", r)
		}
	}
	// The lapsed job's run is refused, and holds nothing.
	if g, err := mProv.BeginRun(ids[1], req.h.ID(), []int{0}); err == nil || len(g.Devices) != 0 {
		t.Errorf("run of a lapsed job: grant %v, %v; want a refusal", g.Devices, err)
	}
}
