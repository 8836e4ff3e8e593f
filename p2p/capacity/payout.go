package capacity

import (
	"errors"
	"fmt"
	"regexp"
)

var (
	walletPattern    = regexp.MustCompile(`^0x[0-9a-fA-F]{40}$`)
	walletSigPattern = regexp.MustCompile(`^0x[0-9a-f]{130}$`)
)

// ValidPayout checks the shape of an optional payout wallet and its
// proof, in a capacity record or a bid: both empty, or an address (0x and
// 40 hex digits) and a 65-byte signature (0x and 130 lowercase hex
// digits). Whether the signature is right is the reader's check
// (scheduler/offers VerifyPayout): it needs the signer's peer ID.
func ValidPayout(wallet, sig string) error {
	switch {
	case wallet == "" && sig == "":
		return nil
	case wallet == "" || sig == "":
		return errors.New("payout wallet and its signature go together")
	case !walletPattern.MatchString(wallet):
		return fmt.Errorf("payout wallet %.50q is not 0x and 40 hex digits", wallet)
	case !walletSigPattern.MatchString(sig):
		return fmt.Errorf("payout wallet signature of %d bytes is not 0x and 130 lowercase hex digits", len(sig))
	}
	return nil
}
