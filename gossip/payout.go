package gossip

import "github.com/gpumesh/gpumesh/p2p/capacity"

// A provider may name its payout wallet in its bids (Bid.Wallet), so a
// requester whose job asks for staked providers can check the wallet's
// stake on chain before it awards. WalletSig proves the provider holds the
// wallet's key: without it a provider could name any staked wallet as its
// own. Both are optional (bids before them stay valid) and travel
// together; the requester checks the signature (scheduler/offers
// VerifyPayout), Validate the shape.

// validPayout checks the shape of a bid's optional payout wallet and proof.
func validPayout(wallet, sig string) error { return capacity.ValidPayout(wallet, sig) }
