package client_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gpumesh/gpumesh/client"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// dialLoopback dials a client alone on loopback in the local network.
func dialLoopback(t *testing.T, opts client.Options) *client.Client {
	t.Helper()
	opts.Network = "local"
	opts.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDialRefusesAnUnknownNetwork(t *testing.T) {
	dir := t.TempDir()
	_, err := client.Dial(context.Background(), client.Options{Network: "mian", DataDir: dir})
	if !errors.Is(err, client.ErrBadOptions) || !strings.Contains(err.Error(), `network: `) || !strings.Contains(err.Error(), "mian") {
		t.Fatalf("Dial with network mian: %v, want ErrBadOptions naming the network", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused Dial wrote %d files in its data dir", len(entries))
	}
}

func TestDialRefusesGarbageBootstrap(t *testing.T) {
	for _, boot := range []string{
		"not an address",
		"/ip4/127.0.0.1/tcp/4101",       // no /p2p/<peer id>
		"/ip4/127.0.0.1/tcp/4101/p2p/x", // a peer ID that is none
	} {
		_, err := client.Dial(context.Background(), client.Options{Network: "local", Bootstrap: []string{boot}, DataDir: t.TempDir()})
		if !errors.Is(err, client.ErrBadOptions) || !strings.Contains(err.Error(), "bootstrap") {
			t.Errorf("Dial with bootstrap %q: %v, want ErrBadOptions naming the bootstrap", boot, err)
		}
	}
}

// TestCloseTwice: Close releases everything (no goroutine outlives it, the
// temporary data dir is gone), a second Close returns the first's result,
// and methods after Close say so.
func TestCloseTwice(t *testing.T) {
	before := goleak.IgnoreCurrent()
	c := dialLoopback(t, client.Options{})
	dir := c.Node().DataDir()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("data dir: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary data dir %s after Close: %v, want it removed", dir, err)
	}
	if _, err := c.Offers(context.Background(), ""); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Offers after Close: %v, want ErrClosed", err)
	}
	for _, err := range c.Follow(context.Background(), "x") {
		if !errors.Is(err, client.ErrClosed) {
			t.Errorf("Follow after Close: %v, want ErrClosed", err)
		}
	}
	goleak.VerifyNone(t, before)
}

// TestDataDirKept: a data dir the caller names keeps the identity, so a
// client dialled again on it is the same peer.
func TestDataDirKept(t *testing.T) {
	dir := t.TempDir()
	c := dialLoopback(t, client.Options{DataDir: dir})
	id := c.PeerID()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c = dialLoopback(t, client.Options{DataDir: dir})
	defer c.Close()
	if c.PeerID() != id {
		t.Errorf("peer %s on the same data dir, want %s", c.PeerID(), id)
	}
}

func TestUnknownJob(t *testing.T) {
	c := dialLoopback(t, client.Options{})
	defer c.Close()
	ctx := context.Background()
	n := 0
	for u, err := range c.Follow(ctx, "no-such-job") {
		n++
		if !errors.Is(err, market.ErrUnknownJob) || u.Event != nil || u.Log != nil {
			t.Errorf("Follow of an unknown job yielded %+v, %v; want ErrUnknownJob", u, err)
		}
	}
	if n != 1 {
		t.Errorf("Follow of an unknown job yielded %d times, want once", n)
	}
	if _, err := c.Wait(ctx, "no-such-job"); !errors.Is(err, market.ErrUnknownJob) {
		t.Errorf("Wait: %v, want ErrUnknownJob", err)
	}
	if err := c.Results(ctx, "no-such-job", t.TempDir()); !errors.Is(err, market.ErrUnknownJob) {
		t.Errorf("Results: %v, want ErrUnknownJob", err)
	}
	if ps, err := c.Receipts(ctx, "no-such-job"); err != nil || len(ps) != 0 {
		t.Errorf("Receipts: %d, %v; want none", len(ps), err)
	}
}

func TestBadInputsRefused(t *testing.T) {
	c := dialLoopback(t, client.Options{})
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Offers(ctx, "gpu_class=="); !errors.Is(err, client.ErrBadFilter) {
		t.Errorf("Offers with a bad filter: %v, want ErrBadFilter", err)
	}
	if _, err := c.SubmitWasm(ctx, market.Spec{}, nil); !errors.Is(err, market.ErrBadSpec) {
		t.Errorf("SubmitWasm of no module: %v, want ErrBadSpec", err)
	}
	if _, err := c.Submit(ctx, market.Spec{Workers: -1}); !errors.Is(err, market.ErrBadSpec) {
		t.Errorf("Submit of -1 workers: %v, want ErrBadSpec", err)
	}
}

// TestFollowEndsAtClose: a Follow of a job still bidding ends when the
// client closes, with ErrClosed or the job's end, rather than waiting on.
func TestFollowEndsAtClose(t *testing.T) {
	c := dialLoopback(t, client.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	job, err := c.SubmitWasm(ctx, market.Spec{BidWindow: p2p.Duration(30 * time.Second)}, []byte("\x00asm\x01\x00\x00\x00"))
	if err != nil {
		t.Fatal(err)
	}
	first, ended := make(chan struct{}), make(chan error, 1)
	go func() {
		var last error
		n := 0
		for u, err := range c.Follow(ctx, job.ID) {
			if n++; n == 1 && u.Event != nil {
				close(first)
			}
			last = err
		}
		ended <- last
	}()
	select {
	case <-first:
	case <-ctx.Done():
		t.Fatal("no first event")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if err != nil && !errors.Is(err, client.ErrClosed) {
			t.Errorf("Follow ended with %v, want ErrClosed or the job's end", err)
		}
	case <-ctx.Done():
		t.Fatal("Follow went on after Close")
	}
}
