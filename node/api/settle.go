package api

import (
	"context"
	"net/http"
	"time"
)

// SettlePath is where `gpumesh settle` asks the node to redeem now (POST,
// needs the token).
const SettlePath = "/api/v1/settle"

// settleTimeout bounds a redemption round: each voucher waits to be mined.
const settleTimeout = 10 * time.Minute

// Settlement is the answer to POST /api/v1/settle: what redeeming every
// held voucher with anything outstanding did.
type Settlement struct {
	// Token is the settlement token's address; Decimals its decimals.
	Token    string `json:"token"`
	Decimals uint8  `json:"decimals"`
	// Redemptions has one entry per channel that had anything to do.
	Redemptions []Redemption `json:"redemptions"`
	// Error says why some redemptions failed (each also names its own).
	Error string `json:"error,omitempty"`
}

// Redemption is one channel's redemption. Amounts are base units of the
// token, as decimal strings.
type Redemption struct {
	// Channel is the (requester, provider, token) channel.
	Channel string `json:"channel"`
	// Redeemed is true when the chain now holds the voucher's cumulative.
	Redeemed bool `json:"redeemed"`
	// Amount is what the redemption settled, before fees.
	Amount string `json:"amount,omitempty"`
	// Paid is what the provider received, after its fee.
	Paid string `json:"paid,omitempty"`
	// RequesterFee is charged to the requester's escrow on top of Amount.
	RequesterFee string `json:"requester_fee,omitempty"`
	// ProviderFee is taken out of the provider's part.
	ProviderFee string `json:"provider_fee,omitempty"`
	// Tx is the transaction's hash, when one was sent.
	Tx string `json:"tx,omitempty"`
	// Reason says why it was (or was not) redeemed.
	Reason string `json:"reason"`
	// Err says why it failed, if it did.
	Err string `json:"error,omitempty"`
}

// SettleHandler answers POST /api/v1/settle with settle, run under a
// deadline; an error wrapping ErrConflict (settlement off, no chain) is a 409.
func SettleHandler(settle func(ctx context.Context) (Settlement, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), settleTimeout)
		defer cancel()
		v, err := settle(ctx)
		writeControlResult(w, v, err)
	})
}

// Settle posts to /api/v1/settle (needs the token): the node redeems every
// held voucher with anything outstanding now.
func (c *Client) Settle(ctx context.Context) (Settlement, error) {
	ctx, cancel := context.WithTimeout(ctx, settleTimeout+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+SettlePath, http.NoBody)
	if err != nil {
		return Settlement{}, err
	}
	var out Settlement
	err = c.do(req, http.StatusOK, &out)
	return out, err
}
