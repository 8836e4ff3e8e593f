package market_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestProviderKnobs: a provider's BeforeAward knob declines every award
// with its reason (counted as refused "knob", nothing reserved); once it
// lets awards through, the job forms, and RunBegan hears the run BeginRun
// began, with its job and requester.
func TestProviderKnobs(t *testing.T) {
	req, prov := newPeer(t), newPeer(t)
	connect(t, req, prov)
	pub := &gossipTo{from: req.h.ID()}
	mReq, _ := newMarket(t, req, pub, nil)
	var declining atomic.Bool
	declining.Store(true)
	type began struct {
		job       string
		requester peer.ID
	}
	runs := make(chan began, 1)
	mProv, _ := newMarket(t, prov, &gossipTo{}, cpuOffer(0.10), func(_ *market.Config, d *market.Deps) {
		d.Knobs = market.Knobs{
			BeforeAward: func(network.Stream, *gossip.Award) (string, bool) {
				if declining.Load() {
					return "busy elsewhere", false
				}
				return "", false
			},
			RunBegan: func(_ context.Context, job string, requester peer.ID) { runs <- began{job, requester} },
		}
	})
	pub.providers = []*market.Market{mProv}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	v, err := mReq.Submit(ctx, market.Spec{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = mReq.Wait(ctx, v.ID); err != nil || v.State == market.StateFormed {
		t.Fatalf("job with every award declined: %s %v, want it not formed", v.State, err)
	}
	var said bool
	for _, e := range v.Events {
		said = said || (e.Kind == "declined" && strings.Contains(e.Text, "busy elsewhere"))
	}
	if !said {
		t.Errorf("no decline event with the knob's reason in %+v", v.Events)
	}
	if n := mProv.Stats().Refused["knob"]; n == 0 {
		t.Errorf("refused %v, want the knob's declines counted as knob", mProv.Stats().Refused)
	}
	if r := mProv.Reservations(); len(r) != 0 {
		t.Errorf("reservations %+v after declines, want none", r)
	}

	declining.Store(false)
	if v, err = mReq.Submit(ctx, market.Spec{Workers: 1}); err != nil {
		t.Fatal(err)
	}
	if v, err = mReq.Wait(ctx, v.ID); err != nil || v.State != market.StateFormed {
		t.Fatalf("job: %s %s %v, want formed once the knob lets awards through", v.State, v.Error, err)
	}
	if _, err := mProv.BeginRun(v.ID, req.h.ID(), []int{0}); err != nil {
		t.Fatalf("begin run: %v", err)
	}
	select {
	case b := <-runs:
		if b.job != v.ID || b.requester != req.h.ID() {
			t.Errorf("RunBegan heard job %s from %s, want %s from %s", b.job, b.requester, v.ID, req.h.ID())
		}
	case <-ctx.Done():
		t.Fatal("RunBegan never called")
	}
}
