package settle

import "errors"

// Sentinel errors, matched with errors.Is.
var (
	// ErrInvalid marks a voucher, work or field that is malformed or out of bounds.
	ErrInvalid = errors.New("invalid")
	// ErrSignature marks a signature that is malformed or not by the expected key.
	ErrSignature = errors.New("bad signature")
	// ErrMalleable marks a signature whose s is in the upper half of the curve order.
	ErrMalleable = errors.New("malleable signature")
	// ErrDomain marks a voucher or work for another chain or contract.
	ErrDomain = errors.New("wrong chain or contract")
	// ErrCumulative marks a voucher whose cumulative amount is not the
	// previous one plus what the new receipt adds (lower, or not the sum).
	ErrCumulative = errors.New("wrong cumulative amount")
	// ErrNonce marks a voucher whose nonce is not the previous one plus one.
	ErrNonce = errors.New("wrong nonce")
	// ErrParties marks a voucher for another requester, provider or token than expected.
	ErrParties = errors.New("wrong requester, provider or token")
	// ErrDecimals marks a token with fewer than 6 or implausibly many decimals.
	ErrDecimals = errors.New("unsupported token decimals")
)
