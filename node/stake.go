package node

import (
	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/scheduler/offers"
)

// Staked providers (issue 24): a provider names its payout wallet, with
// the wallet's proof, in its capacity record and bids; a requester checks
// the wallet's stake through the settlement chain client.

// stakeChecker is the chain client's isEligible, or nil when settlement
// is off or its chain client cannot read stakes.
func (n *Node) stakeChecker() offers.StakeChecker {
	if n.settlement == nil || n.settlement.chain == nil {
		return nil
	}
	sc, _ := n.settlement.chain.(offers.StakeChecker)
	return sc
}

// withPayout names this node's payout wallet in r when settlement is on.
func (n *Node) withPayout(r *capacity.Record) {
	if n.settlement == nil {
		return
	}
	w, sig, err := offers.SignPayout(n.settlement.market.Wallet, n.PeerID())
	if err != nil {
		n.log.Warn("capacity record without a payout wallet", "err", err)
		return
	}
	r.Wallet, r.WalletSig = w, sig
}
