package offers

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger/settle/contracts"
	"github.com/gpumesh/gpumesh/p2p/capacity"
)

func payoutKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const (
	peerA = peer.ID("12D3KooWA")
	peerB = peer.ID("12D3KooWB")
)

// TestVerifyPayout: a proof verifies for its peer and wallet only.
func TestVerifyPayout(t *testing.T) {
	k, other := payoutKey(t), payoutKey(t)
	wallet, sig, err := SignPayout(k, peerA)
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifyPayout(peerA, wallet, sig)
	if err != nil || got != crypto.PubkeyToAddress(k.PublicKey) {
		t.Fatalf("own proof: %s, %v", got.Hex(), err)
	}
	if got, err := VerifyPayout(peerA, "", ""); err != nil || got != (common.Address{}) {
		t.Errorf("no wallet: %s, %v; want none and no error", got.Hex(), err)
	}
	otherWallet, otherSig, _ := SignPayout(other, peerA)
	flipped := []byte(sig)
	flipped[10] ^= 1
	if flipped[10] > 'f' || (flipped[10] > '9' && flipped[10] < 'a') {
		flipped[10] = '0'
	}
	for name, tc := range map[string][3]string{
		"another peer":         {string(peerB), wallet, sig},
		"another wallet":       {string(peerA), otherWallet, sig},
		"another wallet's sig": {string(peerA), wallet, otherSig},
		"altered signature":    {string(peerA), wallet, string(flipped)},
		"v of 0":               {string(peerA), wallet, sig[:130] + "00"},
		"no signature":         {string(peerA), wallet, ""},
		"no wallet":            {string(peerA), "", sig},
		"uppercase signature":  {string(peerA), wallet, "0x" + strings.ToUpper(sig[2:])},
		"short signature":      {string(peerA), wallet, sig[:100]},
		"not an address":       {string(peerA), "0x1234", sig},
		"zero wallet, any sig": {string(peerA), "0x0000000000000000000000000000000000000000", sig},
		"signature of garbage": {string(peerA), wallet, "0x" + strings.Repeat("ab", 64) + "1b"},
	} {
		if _, err := VerifyPayout(peer.ID(tc[0]), tc[1], tc[2]); !errors.Is(err, ErrBadPayout) {
			t.Errorf("%s: %v, want ErrBadPayout", name, err)
		}
	}
}

// FuzzVerifyPayout: whatever a peer sends as wallet and proof, VerifyPayout
// never panics, and what it accepts is a wallet that signed for the peer.
func FuzzVerifyPayout(f *testing.F) {
	k := payoutKey(f)
	wallet, sig, _ := SignPayout(k, peerA)
	f.Add(wallet, sig)
	f.Add("", "")
	f.Add(wallet, "")
	f.Add("0x"+strings.Repeat("0", 40), "0x"+strings.Repeat("0", 130))
	f.Add(wallet, sig[:130]+"1c")
	f.Fuzz(func(t *testing.T, w, s string) {
		got, err := VerifyPayout(peerA, w, s)
		if err != nil {
			if !errors.Is(err, ErrBadPayout) {
				t.Fatalf("error %v is not ErrBadPayout", err)
			}
			return
		}
		if w == "" {
			return
		}
		if got != common.HexToAddress(w) || got == (common.Address{}) {
			t.Fatalf("accepted %q as %s", w, got.Hex())
		}
	})
}

// fakeFinder finds fixed records.
type fakeFinder []capacity.Found

func (f fakeFinder) Find(_ context.Context, _ []capacity.CapKey, _ int, found func(capacity.Found)) (capacity.Stats, error) {
	for _, r := range f {
		found(r)
	}
	return capacity.Stats{}, nil
}

// fakeChain is isEligible over a set of staked wallets.
type fakeChain struct {
	staked map[common.Address]bool
	reads  int
	err    error
}

func (c *fakeChain) IsEligible(_ context.Context, a common.Address) (bool, error) {
	c.reads++
	return c.staked[a], c.err
}

// cpuRecord is a one-CPU record naming wallet (with sig).
func cpuRecord(wallet, sig string) *capacity.Record {
	return &capacity.Record{Seq: 1, Expires: time.Now().Add(time.Hour),
		Devices:   []capacity.Device{{Class: "CPU-x86", Pool: "cpu", MemoryMB: 1024, Cores: 4}},
		Prices:    map[string]float64{"CPU-x86": 0.1},
		Executors: []string{"wasm"}, Wallet: wallet, WalletSig: sig}
}

// TestSearchStaked: staked=true keeps the offers whose proven wallet is
// eligible on chain; a wallet borrowed from another peer's record counts
// as none; a filter on staked without a chain is refused.
func TestSearchStaked(t *testing.T) {
	stakedKey, unstakedKey := payoutKey(t), payoutKey(t)
	sw, ss, _ := SignPayout(stakedKey, peerA)
	uw, us, _ := SignPayout(unstakedKey, peerB)
	const peerC = peer.ID("12D3KooWC")
	finder := fakeFinder{
		{Peer: peerA, Record: cpuRecord(sw, ss)},
		{Peer: peerB, Record: cpuRecord(uw, us)},
		{Peer: peerC, Record: cpuRecord(sw, ss)}, // peerA's proof, replayed by peerC
		{Peer: "12D3KooWD", Record: cpuRecord("", "")},
	}
	chain := &fakeChain{staked: map[common.Address]bool{crypto.PubkeyToAddress(stakedKey.PublicKey): true}}
	f, err := Parse("staked=true")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Search(context.Background(), finder, Query{Filter: f, Stake: chain})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Offers) != 1 || res.Offers[0].Peer != peerA || !res.Offers[0].Staked || res.Offers[0].Wallet != sw {
		t.Fatalf("staked offers: %+v, want peer A's alone", res.Offers)
	}
	if chain.reads != 2 {
		t.Errorf("%d chain reads, want 2 (one per proven wallet)", chain.reads)
	}
	all, err := Search(context.Background(), finder, Query{Stake: chain})
	if err != nil || len(all.Offers) != 4 {
		t.Fatalf("without the filter: %d offers, %v; want 4", len(all.Offers), err)
	}
	for _, o := range all.Offers {
		if o.Peer == peerC && o.Wallet != "" {
			t.Errorf("peer C shows peer A's wallet %s", o.Wallet)
		}
	}
	if _, err := Search(context.Background(), finder, Query{Filter: f}); !errors.Is(err, ErrNoStakeChecker) {
		t.Errorf("staked without a chain: %v, want ErrNoStakeChecker", err)
	}
	broken := &fakeChain{err: errors.New("rpc down")}
	res, err = Search(context.Background(), finder, Query{Filter: f, Stake: broken})
	if err != nil || len(res.Offers) != 0 || !strings.Contains(res.StakeError, "rpc down") {
		t.Errorf("chain down: %d offers, stake error %q, %v; want none and the chain's error", len(res.Offers), res.StakeError, err)
	}
}

// The Settlement contract's Go client reads stakes as a search needs them.
var _ StakeChecker = (*contracts.Client)(nil)
