package market_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestStalledBidsDoNotStarveARequester: forty peers (more than the
// provider's shared slots) each send two requests and then leave every
// bid they get unanswered, holding the provider's slots until its bids
// time out. An honest requester asking meanwhile is still bid on: its
// first request has a slot of its own.
func TestStalledBidsDoNotStarveARequester(t *testing.T) {
	const stallers = 40
	req, prov := newPeer(t), newPeer(t)
	connect(t, req, prov)
	pub := &gossipTo{from: req.h.ID()}
	mReq, _ := newMarket(t, req, pub, nil)
	mProv, _ := newMarket(t, prov, &gossipTo{}, cpuOffer(0.10))
	pub.providers = []*market.Market{mProv}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var held atomic.Int64 // bids left unanswered
	for range stallers {
		s := newPeer(t)
		connect(t, s, prov)
		s.h.SetStreamHandler(market.BidProtocol, func(st network.Stream) {
			held.Add(1)
			<-ctx.Done() // never answers
			_ = st.Reset()
		})
		for range 2 {
			now := time.Now()
			var id [16]byte
			_, _ = rand.Read(id[:])
			mProv.OnRequest(gossip.Received{Topic: gossip.TopicJobs, From: s.h.ID(), Msg: &gossip.JobRequest{
				ID: hex.EncodeToString(id[:]), Seq: uint64(now.UnixNano()), Sent: now, BidDeadline: now.Add(time.Minute),
				Workers: 1, PerWorker: gossip.Resources{GPUs: 1}, MaxPrice: 5, Duration: time.Hour,
				Executor: "wasm", Workload: "none", Urgency: gossip.UrgencyNormal, Addrs: []string{s.h.Addrs()[0].String()}}})
		}
	}
	// The provider's shared slots are all taken by bids left unanswered.
	for deadline := time.Now().Add(10 * time.Second); held.Load() < 32; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d bids reached the stallers", held.Load())
		}
	}

	v, err := mReq.Submit(ctx, market.Spec{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = mReq.Wait(ctx, v.ID); err != nil || v.State != market.StateFormed {
		t.Fatalf("the honest job beside %d stalling requesters: %s %s %v; provider %+v", stallers, v.State, v.Error, err, mProv.Stats())
	}
	if d := mProv.Stats().Declined["overloaded"]; d == 0 {
		t.Errorf("no request turned away as overloaded: the stallers' second requests should find the shared slots full")
	}
}
