package market_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// jobRequest is a valid request from a peer with addrs, for OnRequest.
func jobRequest(addrs []string) *gossip.JobRequest {
	now := time.Now()
	var id [16]byte
	_, _ = rand.Read(id[:])
	return &gossip.JobRequest{ID: hex.EncodeToString(id[:]), Seq: uint64(now.UnixNano()), Sent: now, BidDeadline: now.Add(time.Minute),
		Workers: 1, PerWorker: gossip.Resources{GPUs: 1}, MaxPrice: 5, Duration: time.Hour,
		Executor: "wasm", Workload: "none", Urgency: gossip.UrgencyNormal, Addrs: addrs}
}

// TestNoWorkAfterClose: requests heard on gossip while the market closes
// and after (gossip's readers outlive it when the node closes in the wrong
// order) start nothing once Close began, and Close's Wait never races the
// Adds of the goroutines they would start (run with -race); a job submitted
// after Close is refused.
func TestNoWorkAfterClose(t *testing.T) {
	req, prov := newPeer(t), newPeer(t)
	connect(t, req, prov)
	mProv, _ := newMarket(t, prov, &gossipTo{}, cpuOffer(0.10))
	from := req.h.ID()
	addrs := []string{req.h.Addrs()[0].String()}

	// Gossip readers hearing requests while Close runs.
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				// Each from a requester of its own: every one gets a first slot.
				p := peer.ID(hex.EncodeToString([]byte(time.Now().String())))
				mProv.OnRequest(gossip.Received{Topic: gossip.TopicJobs, From: p, Msg: jobRequest(addrs)})
			}
		})
	}
	mProv.OnRequest(gossip.Received{Topic: gossip.TopicJobs, From: from, Msg: jobRequest(addrs)})
	// Close returns while they go on: what they would start, it refuses.
	closed := make(chan error, 1)
	go func() { closed <- mProv.Close() }()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	select {
	case err := <-closed:
		if err != nil {
			t.Error(err)
		}
		close(stop)
	case <-deadline.C:
		t.Error("Close did not return while requests kept coming")
		close(stop)
		<-closed
	}
	readers.Wait()

	before := mProv.Stats()
	mProv.OnRequest(gossip.Received{Topic: gossip.TopicJobs, From: from, Msg: jobRequest(addrs)})
	after := mProv.Stats()
	if after.Declined["closed"] != before.Declined["closed"]+1 {
		t.Errorf("a request heard after Close: declined %v, want one more closed (before %v)", after.Declined, before.Declined)
	}
	if after.BidsSent != before.BidsSent {
		t.Errorf("a bid was sent after Close")
	}

	mReq, _ := newMarket(t, req, &gossipTo{from: from}, nil)
	_ = mReq.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := mReq.Submit(ctx, market.Spec{Workers: 1})
	if !errors.Is(err, market.ErrClosed) || v.State != market.StateFailed {
		t.Errorf("a job submitted after Close: %s, %v; want failed, %v", v.State, err, market.ErrClosed)
	}
}
