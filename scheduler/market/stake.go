package market

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/internal/human"
	"github.com/gpumesh/gpumesh/scheduler/offers"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// Staked providers (issue 24): a job with Spec.Staked takes bids only
// from providers whose payout wallet, named in the bid with the wallet's
// proof (offers.VerifyPayout), is eligible on the Settlement contract
// (isEligible: stake less pending unstaking reaches the minimum). The
// requester checks as each bid arrives, once per wallet and job, so
// placement and the awards see only eligible bids; every refusal is
// said in the job's events, once per provider and reason, and counted by
// provider and reason when bidding closes ("refused the bids of 3
// providers (not staked: 2 providers, no payout wallet: 1 provider)"): a
// provider bids again on a rebid or an invitation, and counting its bids
// would count it twice.

// Why a staked job refuses a bid (Stats.Refused labels too).
const (
	refusedNoWallet    = "no_payout_wallet"
	refusedBadWallet   = "bad_payout_wallet"
	refusedNotStaked   = "not_staked"
	refusedStakeUnread = "stake_unread"
)

// refusalWords are the refusal labels as the job's events say them.
var refusalWords = map[string]string{
	refusedNoWallet:    "no payout wallet",
	refusedBadWallet:   "bad payout wallet proof",
	refusedNotStaked:   "not staked",
	refusedStakeUnread: "stake unreadable on chain",
}

// stakeTimeout bounds one eligibility read on chain.
const stakeTimeout = 5 * time.Second

// ErrNoStakeCheck says a job asks for staked providers on a node that
// cannot read stakes: settlement off, or no chain client.
var ErrNoStakeCheck = errors.New("staked: this node cannot check stakes (settlement needs a contract and a chain client: [settlement] and anchor.rpc_url)")

// checkStakeable refuses, before anything is published, a staked job on a
// node that cannot check stakes.
func (r *requester) checkStakeable(spec Spec) error {
	if !spec.Staked {
		return nil
	}
	if st := r.d.Settle; st == nil || st.Stake == nil {
		return fmt.Errorf("%w: %w", ErrBadSpec, ErrNoStakeCheck)
	}
	return nil
}

// bidWallet is the payout wallet b names, checked against its proof for
// p; the zero address when it names none.
func bidWallet(p peer.ID, b *gossip.Bid) (common.Address, error) {
	return offers.VerifyPayout(p, b.Wallet, b.WalletSig)
}

// screenStake checks the bid b from p for job j when j asks for staked
// providers: it returns the refusal label, or "" to take the bid. A bad
// wallet proof is a violation; the others are the provider's choice.
func (r *requester) screenStake(j *job, p peer.ID, b *gossip.Bid) string {
	if !j.staked() {
		return ""
	}
	wallet, err := bidWallet(p, b)
	switch {
	case err != nil:
		r.d.Book.Record(p, reputation.Violation, "bid: "+err.Error())
		return j.refuse(p, refusedBadWallet, err.Error())
	case wallet == (common.Address{}):
		return j.refuse(p, refusedNoWallet, "")
	}
	if ok, known := j.stakeKnown(wallet); known {
		if !ok {
			return j.refuse(p, refusedNotStaked, wallet.Hex())
		}
		return ""
	}
	ctx, cancel := r.life.Context(context.Background())
	defer cancel()
	ctx, cancelRead := context.WithTimeout(ctx, stakeTimeout)
	defer cancelRead()
	ok, err := r.d.Settle.Stake.IsEligible(ctx, wallet)
	if err != nil {
		r.log.Warn("stake unreadable; bid refused", "job", j.req.ID, "wallet", wallet.Hex(), "err", err)
		return j.refuse(p, refusedStakeUnread, err.Error())
	}
	j.knowStake(wallet, ok)
	if !ok {
		return j.refuse(p, refusedNotStaked, wallet.Hex())
	}
	return ""
}

// staked reports whether j asks for staked providers.
func (j *job) staked() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.view.Spec.Staked
}

// stakeKnown is what j already read of wallet's eligibility.
func (j *job) stakeKnown(wallet common.Address) (eligible, known bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	eligible, known = j.stakes[wallet]
	return eligible, known
}

// knowStake keeps wallet's eligibility for the rest of j's bidding.
func (j *job) knowStake(wallet common.Address, eligible bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stakes == nil {
		j.stakes = map[common.Address]bool{}
	}
	j.stakes[wallet] = eligible
}

// refuse records that j refused p's bid under label, notes it in j's
// events the first time for p and label, and returns label.
func (j *job) refuse(p peer.ID, label, detail string) string {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.refused == nil {
		j.refused = map[string]map[peer.ID]bool{}
	}
	if j.refused[label] == nil {
		j.refused[label] = map[peer.ID]bool{}
	}
	if !j.refused[label][p] {
		j.refused[label][p] = true
		j.event("bid_refused", p, "bid from %s refused: %s%s", short(p), refusalWords[label], paren(detail))
	}
	return label
}

// refusalSummary says whose bids j refused, providers counted by reason,
// most first; "" for none. j.mu must be held.
func (j *job) refusalSummary() string {
	if len(j.refused) == 0 {
		return ""
	}
	labels := make([]string, 0, len(j.refused))
	who := map[peer.ID]bool{}
	for l, ps := range j.refused {
		labels = append(labels, l)
		for p := range ps {
			who[p] = true
		}
	}
	sort.Slice(labels, func(a, b int) bool {
		if na, nb := len(j.refused[labels[a]]), len(j.refused[labels[b]]); na != nb {
			return na > nb
		}
		return labels[a] < labels[b]
	})
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = fmt.Sprintf("%s: %s", refusalWords[l], human.Plural(len(j.refused[l]), "provider"))
	}
	return fmt.Sprintf("refused the bids of %s (%s)", human.Plural(len(who), "provider"), strings.Join(parts, ", "))
}

// payoutProof is this node's payout wallet and its proof for self, as
// bids carry them; empty when the proof cannot be made (it is signed once).
func (s *Settlement) payoutProof(self peer.ID) (wallet, sig string) {
	s.proofOnce.Do(func() {
		w, sg, err := offers.SignPayout(s.Wallet, self)
		if err == nil {
			s.proofWallet, s.proofSig = w, sg
		}
	})
	return s.proofWallet, s.proofSig
}
