package market

import (
	"bufio"
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// TestReceiptRequestWaitsForRunEnd: a receipt request that comes before
// the provider's run server reported the run over is answered with the
// receipts as soon as the run ends (no polling), and one whose run never
// ends is answered at the end of the wait, well within the stream's
// deadline, that the run has not ended.
func TestReceiptRequestWaitsForRunEnd(t *testing.T) {
	var l *ledger.Log
	m := newTestMarket(t, func(d *Deps) {
		var err error
		id, _ := peer.IDFromPrivateKey(d.Key)
		if l, err = ledger.Open(t.TempDir(), ledger.Options{Self: id, NoSync: true}); err != nil {
			t.Fatal(err)
		}
		d.Ledger = l
	})
	t.Cleanup(func() { l.Close() })
	m.prov.mu.Lock()
	m.prov.runEndWait = time.Minute // the run's end, not the wait's, answers
	m.prov.mu.Unlock()
	req, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { req.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := req.Connect(ctx, peer.AddrInfo{ID: m.self, Addrs: m.d.Host.Addrs()}); err != nil {
		t.Fatal(err)
	}
	const job, never = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	m.prov.mu.Lock()
	for _, id := range []string{job, never} {
		m.prov.reserved[id] = &reservation{job: id, requester: req.ID(), devices: []int{0}, ranks: []int{0}, price: 0.5, running: true,
			until: time.Now().Add(time.Hour)}
	}
	m.prov.mu.Unlock()

	ask := func(id string) <-chan settleOffer {
		out := make(chan settleOffer, 1)
		go func() {
			var offer settleOffer
			defer func() { out <- offer }()
			s, err := req.NewStream(ctx, m.self, ReceiptProtocol)
			if err != nil {
				offer.Error = "test: " + err.Error()
				return
			}
			defer s.Reset()
			if err := writeJSON(s, settleRequest{Job: id, Ranks: []int{0}}); err != nil {
				offer.Error = "test: " + err.Error()
				return
			}
			if err := readJSON(bufio.NewReader(s), maxSettleBytes, &offer); err != nil {
				offer.Error = "test: " + err.Error()
			}
		}()
		return out
	}
	answer := ask(job)
	// The handler waits for the run's end: it asked for the channel.
	for waiting := false; !waiting; {
		select {
		case o := <-answer:
			t.Fatalf("answered before the run ended: %+v", o)
		case <-ctx.Done():
			t.Fatal("the request never reached the handler")
		default:
		}
		m.prov.mu.Lock()
		waiting = m.prov.ended != nil
		m.prov.mu.Unlock()
		runtime.Gosched()
	}
	start := time.Now().Add(-time.Second)
	res := executor.Result{Status: executor.StatusSucceeded, Started: start, Ended: time.Now()}
	m.EndRun(job, req.ID(), run.RunEnd{Started: start, Ended: time.Now(),
		Results: map[int]run.RankEnd{0: {Result: res, Digest: run.ResultDigest(res, nil)}}})
	select {
	case o := <-answer:
		if o.Error != "" || len(o.Receipts) != 1 {
			t.Fatalf("the offer once the run ended: %d receipts, error %q; want one receipt", len(o.Receipts), o.Error)
		}
	case <-ctx.Done():
		t.Fatal("no answer once the run ended")
	}

	// A run that never ends: the handler gives up at the end of its wait.
	m.prov.mu.Lock()
	m.prov.runEndWait = 100 * time.Millisecond
	m.prov.mu.Unlock()
	select {
	case o := <-ask(never):
		if !strings.Contains(o.Error, "has not ended") {
			t.Fatalf("a run that never ended: offer %+v; want the error that it has not ended", o)
		}
	case <-ctx.Done():
		t.Fatal("the handler never gave up on a run that did not end")
	}
}
