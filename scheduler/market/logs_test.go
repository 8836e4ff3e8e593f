package market_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestJobLogGoesWithTheJob: when a requester's remembered jobs pass their
// bound, the oldest job's log file is deleted with it, and a new market
// clears the log files a previous run left.
func TestJobLogGoesWithTheJob(t *testing.T) {
	results := t.TempDir()
	stale := filepath.Join(results, ".logs", "0123.log")
	if err := os.MkdirAll(filepath.Dir(stale), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := newPeer(t)
	m, _ := newMarket(t, p, &gossipTo{from: p.h.ID()}, nil, func(c *market.Config, d *market.Deps) {
		c.BidWindow = 100 * 1e6
		d.ResultsDir = results
	})
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a previous run's log file is still there: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first, err := m.Submit(ctx, market.Spec{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Wait(ctx, first.ID); err != nil { // no provider: it fails when bidding closes
		t.Fatal(err)
	}
	m.AddLogLineForTest(first.ID, market.LogLine{Text: "kept"})
	file := filepath.Join(results, ".logs", first.ID+".log")
	if p, _, err := m.Logs(first.ID, 0, 0); err != nil || len(p.Lines) != 1 {
		t.Fatalf("logs %+v, %v", p, err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
	for range 1000 { // the bound on remembered jobs
		if _, err := m.Submit(ctx, market.Spec{Workers: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := m.Job(first.ID); ok {
		t.Fatal("the oldest job is still remembered")
	}
	if _, _, err := m.Logs(first.ID, 0, 0); !errors.Is(err, market.ErrUnknownJob) {
		t.Errorf("logs of an evicted job: %v", err)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the evicted job's log file is still there: %v", err)
	}
}
