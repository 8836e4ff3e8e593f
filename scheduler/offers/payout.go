package offers

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/p2p/capacity"
)

// A provider names its payout wallet in its capacity record and its bids
// with a proof that it holds the wallet's key: the wallet's EIP-191
// signature (personal_sign) of PayoutMessage(its peer ID). Without the
// proof any provider could name a staked wallet it does not own; with it,
// a wallet vouches for exactly the peer IDs it signed for, and the record
// or bid around it is signed by that peer's key.

// ErrBadPayout is wrapped by every refusal of a payout wallet's proof.
var ErrBadPayout = errors.New("bad payout wallet proof")

// StakeChecker says whether a wallet's stake makes it eligible for jobs
// that ask for staked providers: the Settlement contract's
// isEligible(provider), through the node's chain client.
type StakeChecker interface {
	// IsEligible reports whether provider's stake, less any pending
	// unstaking, reaches the contract's minimum.
	IsEligible(ctx context.Context, provider common.Address) (bool, error)
}

// PayoutMessage is the text a payout wallet signs for peer p.
func PayoutMessage(p peer.ID) string {
	return "gpumesh payout wallet of peer " + p.String()
}

// SignPayout is wallet's proof, for p, as Bid.WalletSig and
// capacity.Record.WalletSig carry it (0x and 130 hex digits), with the
// wallet's address.
func SignPayout(wallet *ecdsa.PrivateKey, p peer.ID) (address, sig string, err error) {
	s, err := crypto.Sign(accounts.TextHash([]byte(PayoutMessage(p))), wallet)
	if err != nil {
		return "", "", fmt.Errorf("sign the payout wallet's proof: %w", err)
	}
	s[64] += 27
	return crypto.PubkeyToAddress(wallet.PublicKey).Hex(), "0x" + hex.EncodeToString(s), nil
}

// VerifyPayout checks that sig is wallet's proof for p and returns the
// wallet. Empty wallet and sig give the zero address and no error: the
// provider named none.
func VerifyPayout(p peer.ID, wallet, sig string) (common.Address, error) {
	if wallet == "" && sig == "" {
		return common.Address{}, nil
	}
	if err := capacity.ValidPayout(wallet, sig); err != nil {
		return common.Address{}, fmt.Errorf("%w: %w", ErrBadPayout, err)
	}
	raw, err := hex.DecodeString(strings.TrimPrefix(sig, "0x"))
	if err != nil || len(raw) != crypto.SignatureLength {
		return common.Address{}, fmt.Errorf("%w: signature is not 65 bytes of hex", ErrBadPayout)
	}
	if raw[64] != 27 && raw[64] != 28 {
		return common.Address{}, fmt.Errorf("%w: signature's v is %d, not 27 or 28", ErrBadPayout, raw[64])
	}
	raw[64] -= 27
	pub, err := crypto.SigToPub(accounts.TextHash([]byte(PayoutMessage(p))), raw)
	if err != nil {
		return common.Address{}, fmt.Errorf("%w: %w", ErrBadPayout, err)
	}
	want := common.HexToAddress(wallet)
	if got := crypto.PubkeyToAddress(*pub); got != want || want == (common.Address{}) {
		return common.Address{}, fmt.Errorf("%w: signed by %s, not the wallet %s", ErrBadPayout, got.Hex(), want.Hex())
	}
	return want, nil
}

// stakes checks wallets' eligibility once each during one search.
type stakes struct {
	chain StakeChecker
	seen  map[common.Address]bool
	err   error // the first chain error, reported with the result
}

// eligible is whether wallet is eligible; a chain error counts as not.
func (s *stakes) eligible(ctx context.Context, wallet common.Address) bool {
	if ok, done := s.seen[wallet]; done {
		return ok
	}
	ok, err := s.chain.IsEligible(ctx, wallet)
	if err != nil {
		if s.err == nil {
			s.err = fmt.Errorf("check the stake of %s: %w", wallet.Hex(), err)
		}
		return false // not cached: the next offer of the wallet tries again
	}
	s.seen[wallet] = ok
	return ok
}
