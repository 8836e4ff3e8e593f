package node_test

import (
	"context"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// stakeChain is fakeChain that also reads stakes: isEligible over a set of
// staked wallets.
type stakeChain struct {
	*fakeChain
	mu     sync.Mutex
	staked map[common.Address]bool
}

func (c *stakeChain) stake(a common.Address) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.staked[a] = true
}

func (c *stakeChain) IsEligible(_ context.Context, a common.Address) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.staked[a], nil
}

// TestStakedProviders: on loopback, of three providers (one without
// settlement, one unstaked, one staked) a requester's offers --staked
// lists the staked one alone, a staked job forms on it and its events
// count the two others' refused bids; a node without a chain that reads
// stakes refuses a staked job.
func TestStakedProviders(t *testing.T) {
	if testing.Short() {
		t.Skip("a 4-node fleet")
	}
	chain := &stakeChain{fakeChain: newFakeChain(), staked: map[common.Address]bool{}}
	f := nodetest.Start(t, 4, nodetest.Options{SettlementChain: func(i int) node.SettlementChain {
		if i == 0 {
			return chain
		}
		return newFakeChain() // providers read escrow, not stakes
	}, Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i > 0
		if i == 1 {
			return // no settlement: no payout wallet
		}
		c.Settlement.Contract = testContract.Hex()
		c.Settlement.Token = testToken.Hex()
		c.Settlement.ChainID = 31337
	}})
	staked := f.Nodes[3]
	chain.stake(wallet(t, staked))
	f.WaitHeard(t, 30*time.Second)
	nodetest.WaitFor(t, time.Minute, func() bool {
		for _, nd := range f.Nodes[1:] {
			if !nd.Offering() {
				return false
			}
		}
		return true
	}, func() string { return "not every provider published its capacity record" })
	req := f.Nodes[0]
	chain.setEscrow(wallet(t, req), big.NewInt(1e12))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	nodetest.WaitFor(t, time.Minute, func() bool {
		all, err := req.Offers(ctx, "", "", 0)
		return err == nil && len(all.Offers) == 3
	}, func() string { return "the requester does not see the 3 offers" })
	res, err := req.Offers(ctx, "staked=true", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Offers) != 1 || res.Offers[0].Peer != staked.PeerID() || res.Offers[0].Wallet != wallet(t, staked).Hex() {
		t.Fatalf("staked offers: %+v, want the staked provider's alone", res.Offers)
	}

	v, err := req.Market().Submit(ctx, market.Spec{Workers: 1, Staked: true})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = req.Market().Wait(ctx, v.ID); err != nil || v.State != market.StateFormed {
		t.Fatalf("staked job: %s %s %v", v.State, v.Error, err)
	}
	if v.Cluster[0].Peer != staked.PeerID().String() {
		t.Errorf("staked job formed on %s, want %s", v.Cluster[0].Peer, staked.PeerID())
	}
	var closed string
	for _, e := range v.Events {
		if e.Kind == "closed" {
			closed = e.Text
		}
	}
	for _, want := range []string{"refused the bids of 2 providers", "no payout wallet: 1 provider", "not staked: 1 provider"} {
		if !strings.Contains(closed, want) {
			t.Errorf("closed event %q does not say %q", closed, want)
		}
	}
	if _, err := f.Nodes[2].Market().Submit(ctx, market.Spec{Workers: 1, Staked: true}); err == nil || !strings.Contains(err.Error(), "cannot check stakes") {
		t.Errorf("a staked job on a node without a stake reader: %v, want refused", err)
	}
	if _, err := f.Nodes[2].Offers(ctx, "staked=true", "", 0); err == nil {
		t.Error("a staked search on a node without a stake reader was not refused")
	}
}
