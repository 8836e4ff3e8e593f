package node

import (
	"context"
	"fmt"
	"math/big"

	"github.com/gpumesh/gpumesh/node/api"
)

// settleNow redeems every held voucher with anything outstanding, for
// POST /api/v1/settle; a failed redemption is named in the answer's
// entries and Error, next to those that went through.
func (n *Node) settleNow(ctx context.Context) (api.Settlement, error) {
	if n.settlement == nil || n.settlement.chain == nil {
		_, err := n.Redeem(ctx, true) // says why: settlement off, or no chain
		return api.Settlement{}, fmt.Errorf("%w: %w", api.ErrConflict, err)
	}
	res, err := n.Redeem(ctx, true)
	if err != nil && res == nil {
		return api.Settlement{}, err
	}
	out := api.Settlement{
		Token: n.cfg.Settlement.TokenAddress().Hex(), Decimals: n.cfg.Settlement.TokenDecimals,
		Redemptions: make([]api.Redemption, 0, len(res)),
	}
	if err != nil {
		out.Error = err.Error()
	}
	for _, r := range res {
		out.Redemptions = append(out.Redemptions, api.Redemption{
			Channel: r.Channel, Redeemed: r.Redeemed, Amount: bigString(r.Amount), Paid: bigString(r.Paid),
			RequesterFee: bigString(r.RequesterFee), ProviderFee: bigString(r.ProviderFee),
			Tx: r.Tx, Reason: r.Reason, Err: r.Err,
		})
	}
	return out, nil
}

// bigString is v in decimal, "" for nil.
func bigString(v *big.Int) string {
	if v == nil {
		return ""
	}
	return v.String()
}
