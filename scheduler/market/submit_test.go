package market

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// nowhere publishes nothing: jobs submitted to it wait for bids.
type nowhere struct{}

func (nowhere) Publish(context.Context, string, gossip.Message) error { return nil }

// newTestMarket is a started market on a loopback host of its own, with
// ledger as its ledger (nil for none).
func newTestMarket(t *testing.T, edit func(*Deps)) *Market {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	book, err := reputation.Open("", reputation.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{Host: h, Key: key, Gossip: nowhere{}, Book: book, Log: slog.New(slog.DiscardHandler)}
	if edit != nil {
		edit(&d)
	}
	m, err := New(DefaultConfig(), d)
	if err != nil {
		t.Fatal(err)
	}
	m.Start(context.Background())
	t.Cleanup(func() { m.Close() })
	return m
}

// TestSubmitKeepsUnfinishedJobs: a requester at its cap of remembered jobs
// forgets the oldest finished one for a new job, never one still running
// (its holdings would vanish with it); when none has finished, Submit
// refuses with ErrTooManyJobs and every job stays known.
func TestSubmitKeepsUnfinishedJobs(t *testing.T) {
	m := newTestMarket(t, nil)
	m.jobCap = 3
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	spec := Spec{Workers: 1, BidWindow: p2p.Duration(30 * time.Second)}
	var ids []string
	for range 3 {
		v, err := m.Submit(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	if _, err := m.Submit(ctx, spec); !errors.Is(err, ErrTooManyJobs) {
		t.Fatalf("a fourth job beside three unfinished: %v, want %v", err, ErrTooManyJobs)
	}
	for _, id := range ids {
		if v, ok := m.Job(id); !ok || v.State != StateBidding {
			t.Errorf("job %s: %v %s; want still bidding", id, ok, v.State)
		}
	}
	// The second job ends: it is the one forgotten, not the older first.
	if err := m.Cancel(ids[1]); err != nil {
		t.Fatal(err)
	}
	v, err := m.Submit(ctx, spec)
	if err != nil {
		t.Fatalf("a job beside a finished one: %v", err)
	}
	for id, want := range map[string]bool{ids[0]: true, ids[1]: false, ids[2]: true, v.ID: true} {
		if _, ok := m.Job(id); ok != want {
			t.Errorf("job %s known: %t, want %t", id, ok, want)
		}
	}
}
