package market_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestNoGoroutineOutlivesClose: a requester's and a provider's markets on
// real loopback hosts, after a job was requested, bid on and awarded,
// then closed with their hosts, leave no goroutine behind: not the job's
// driver, the provider's reservation sweep, nor a stream handler.
func TestNoGoroutineOutlivesClose(t *testing.T) {
	before := goleak.IgnoreCurrent()
	req, prov := newPeer(t), newPeer(t)
	connect(t, req, prov)
	mProv, _ := newMarket(t, prov, &gossipTo{}, cpuOffer(0.10))
	mReq, _ := newMarket(t, req, &gossipTo{from: req.h.ID(), providers: []*market.Market{mProv}}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := mReq.Submit(ctx, market.Spec{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = mReq.Wait(ctx, v.ID); err != nil || v.State != market.StateFormed {
		t.Fatalf("job: %s %s %v, want formed", v.State, v.Error, err)
	}
	if n := len(mProv.Reservations()); n != 1 {
		t.Fatalf("the provider holds %d reservations, want 1", n)
	}

	for _, m := range []*market.Market{mReq, mProv} {
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []peerOf{req, prov} {
		if err := p.h.Close(); err != nil {
			t.Fatal(err)
		}
	}
	goleak.VerifyNone(t, before)
}
