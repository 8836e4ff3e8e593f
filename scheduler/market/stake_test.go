package market_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/offers"
)

// fakeStakes is a chain's isEligible over a fixed set of staked wallets,
// counting its reads.
type fakeStakes struct {
	mu     sync.Mutex
	staked map[common.Address]bool
	reads  map[common.Address]int
}

func (f *fakeStakes) IsEligible(_ context.Context, a common.Address) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads[a]++
	return f.staked[a], nil
}

func walletKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ethcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// settling gives a market settlement with wallet (stake read through
// stakes, nil for none).
func settling(wallet *ecdsa.PrivateKey, stakes offers.StakeChecker) func(*market.Config, *market.Deps) {
	return func(_ *market.Config, d *market.Deps) {
		d.Settle = &market.Settlement{Domain: settle.Domain{ChainID: 31337, Contract: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")},
			Token: common.HexToAddress("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"), Decimals: 6, Wallet: wallet, Stake: stakes}
	}
}

// TestStakedJobTakesOnlyEligibleBids: of three providers, the cheapest
// names no wallet and the next an unstaked one; a staked job forms on the
// dearest, the one staked, and its events say why the others' bids were
// refused. Without staked the cheapest wins.
func TestStakedJobTakesOnlyEligibleBids(t *testing.T) {
	req, plain, unstaked, staked := newPeer(t), newPeer(t), newPeer(t), newPeer(t)
	stakedWallet, unstakedWallet := walletKey(t), walletKey(t)
	chain := &fakeStakes{staked: map[common.Address]bool{settle.Address(stakedWallet): true}, reads: map[common.Address]int{}}
	var provs []*market.Market
	for _, p := range []struct {
		peer  peerOf
		price float64
		edit  []func(*market.Config, *market.Deps)
	}{
		{plain, 0.10, nil},
		{unstaked, 0.20, []func(*market.Config, *market.Deps){settling(unstakedWallet, nil)}},
		{staked, 0.30, []func(*market.Config, *market.Deps){settling(stakedWallet, nil)}},
	} {
		connect(t, req, p.peer)
		m, _ := newMarket(t, p.peer, &gossipTo{}, cpuOffer(p.price), p.edit...)
		provs = append(provs, m)
	}
	mReq, _ := newMarket(t, req, &gossipTo{from: req.h.ID(), providers: provs}, nil, settling(walletKey(t), chain))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	v, err := mReq.Submit(ctx, market.Spec{Workers: 1, Staked: true})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = mReq.Wait(ctx, v.ID); err != nil || v.State != market.StateFormed {
		t.Fatalf("staked job: %s %s %v", v.State, v.Error, err)
	}
	if got, want := v.Cluster[0].Peer, staked.h.ID().String(); got != want {
		t.Errorf("staked job formed on %s, want the staked provider %s", got, want)
	}
	closed := eventText(v, "closed")
	for _, want := range []string{"with 1 bid", "refused the bids of 2 providers", "no payout wallet: 1 provider", "not staked: 1 provider"} {
		if !strings.Contains(closed, want) {
			t.Errorf("closed event %q does not say %q", closed, want)
		}
	}
	if n := chain.reads[settle.Address(unstakedWallet)]; n != 1 {
		t.Errorf("the unstaked wallet was read %d times, want once", n)
	}

	v, err = mReq.Submit(ctx, market.Spec{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = mReq.Wait(ctx, v.ID); err != nil || v.State != market.StateFormed {
		t.Fatalf("unstaked job: %s %s %v", v.State, v.Error, err)
	}
	if got, want := v.Cluster[0].Peer, plain.h.ID().String(); got != want {
		t.Errorf("a job without staked formed on %s, want the cheapest %s", got, want)
	}
}

// eventText is the text of v's last event of kind.
func eventText(v market.JobView, kind string) string {
	text := ""
	for _, e := range v.Events {
		if e.Kind == kind {
			text = e.Text
		}
	}
	return text
}

// TestStakedJobNeedsAStakeCheck: a node that cannot read stakes refuses a
// staked job before publishing anything.
func TestStakedJobNeedsAStakeCheck(t *testing.T) {
	for name, edit := range map[string][]func(*market.Config, *market.Deps){
		"no settlement":   nil,
		"no chain client": {settling(walletKey(t), nil)},
	} {
		p := newPeer(t)
		m, _ := newMarket(t, p, &gossipTo{from: p.h.ID()}, nil, edit...)
		_, err := m.Submit(context.Background(), market.Spec{Workers: 1, Staked: true})
		if !errors.Is(err, market.ErrBadSpec) || !errors.Is(err, market.ErrNoStakeCheck) {
			t.Errorf("%s: %v, want ErrBadSpec and ErrNoStakeCheck", name, err)
		}
		if len(m.Jobs()) != 0 {
			t.Errorf("%s: the refused job was kept", name)
		}
	}
}

// TestStakedJobRefusesBorrowedWallets: a bid naming a staked wallet with a
// proof made for another peer, or with no proof, is refused with its
// reason, and the borrower's reputation records the violation.
func TestStakedJobRefusesBorrowedWallets(t *testing.T) {
	req, owner, rogue := newPeer(t), newPeer(t), newPeer(t)
	connect(t, rogue, req)
	wallet := walletKey(t)
	chain := &fakeStakes{staked: map[common.Address]bool{settle.Address(wallet): true}, reads: map[common.Address]int{}}
	mReq, book := newMarket(t, req, &gossipTo{from: req.h.ID()}, nil, settling(walletKey(t), chain))
	v, err := mReq.Submit(context.Background(), market.Spec{Workers: 1, Staked: true, BidWindow: 5e9})
	if err != nil {
		t.Fatal(err)
	}
	addr, ownersSig, err := offers.SignPayout(wallet, owner.h.ID())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i, tc := range []struct {
		wallet, sig, reason string
	}{
		{addr, ownersSig, "bad_payout_wallet"},
		{"", "", "no_payout_wallet"},
	} {
		b := &gossip.Bid{Job: v.ID, Seq: uint64(i + 1), Sent: now, Expires: now.Add(time.Minute), Price: 0.1, Workers: 1, Class: "CPU-x86",
			Wallet: tc.wallet, WalletSig: tc.sig}
		a := ack(t, send(t, rogue, req.h.ID(), market.BidProtocol, seal(t, b, rogue.key)))
		if a.OK || a.Reason != tc.reason {
			t.Errorf("bid %d: ack %+v, want refused %s", i, a, tc.reason)
		}
	}
	if s := book.Score(rogue.h.ID()); s >= 0.5 {
		t.Errorf("a borrowed wallet left the rogue's reputation at %v", s)
	}
	if n := chain.reads[settle.Address(wallet)]; n != 0 {
		t.Errorf("a borrowed wallet was read on chain %d times", n)
	}
}
