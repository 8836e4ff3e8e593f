package node_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestNoGoroutineOutlivesClose: a requester and a provider that ran a
// wasm job to its receipts, then closed, leave no goroutine behind:
// nothing of the node's parts (market, run server, gossip, challenge
// service, network, sampler, ledger, anchorer) and nothing of the
// libraries under them.
func TestNoGoroutineOutlivesClose(t *testing.T) {
	module := executortest.WasmModule(t, "copy")
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("no leaks\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := goleak.IgnoreCurrent()
	f := nodetest.Start(t, 2, nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i > 0
	}})
	f.WaitHeard(t, 30*time.Second)
	req := f.Nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v, err := req.Market().Submit(ctx, market.Spec{Module: module, Inputs: []string{in}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = req.Market().Wait(ctx, v.ID); err != nil || v.State != market.StateSucceeded {
		t.Fatalf("job %s: %s %v", v.State, v.Error, err)
	}
	if len(v.Usage) != 1 || len(v.Usage[0].Receipts) != 1 {
		t.Fatalf("usage %+v: want one receipt", v.Usage)
	}

	f.Close()
	goleak.VerifyNone(t, before)
}

// TestNoGoroutineOutlivesAFailedStart: a node whose start fails at its
// last step (the API's address is taken), after every other part started,
// undoes them all: Close leaves no goroutine behind.
func TestNoGoroutineOutlivesAFailedStart(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	c, err := config.ForProfile("test")
	if err != nil {
		t.Fatal(err)
	}
	c.API.Listen = taken.Addr().String()
	before := goleak.IgnoreCurrent()
	nd, err := node.New(node.Options{DataDir: t.TempDir(), Config: c, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var inUse *net.OpError
	if err := nd.Start(context.Background()); !errors.As(err, &inUse) {
		_ = nd.Close()
		t.Fatalf("start with the API's address taken: %v, want a listen error", err)
	}
	if err := nd.Close(); err != nil { // Start closed it already: twice is fine
		t.Fatal(err)
	}
	goleak.VerifyNone(t, before)
}
