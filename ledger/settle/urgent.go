package settle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/gpumesh/gpumesh/ledger"
)

// Urgent says whether the channels paid by requester in token must be
// redeemed now, whatever the policy (a requester that asked for its escrow
// back, say), and why.
type Urgent func(ctx context.Context, requester, token common.Address) (bool, string, error)

// RedeemUrgent redeems at once, through r, the latest held voucher of
// every channel with anything outstanding whose requester urgent names,
// recording each as RedeemDue does. Each requester is asked once.
func RedeemUrgent(ctx context.Context, l *ledger.Log, r Redeemer, urgent Urgent, now time.Time) ([]Result, error) {
	chans, err := HeldChannels(l)
	if err != nil {
		return nil, err
	}
	type payer struct{ requester, token common.Address }
	asked := map[payer]string{} // "" = not urgent
	var out []Result
	var errs []error
	for _, cs := range chans {
		if cs.Outstanding.Sign() <= 0 {
			continue
		}
		sv, err := DecodeSignedVoucher(cs.Latest.Voucher)
		if err != nil {
			errs = append(errs, fmt.Errorf("redeem %s: %w", cs.Latest.Channel, err))
			continue
		}
		p := payer{sv.Voucher.Requester, sv.Voucher.Token}
		why, seen := asked[p]
		if !seen {
			ok, reason, err := urgent(ctx, p.requester, p.token)
			if err != nil {
				errs = append(errs, fmt.Errorf("redeem %s: %w", cs.Latest.Channel, err))
				continue
			}
			if ok {
				why = reason
			}
			asked[p] = why
		}
		if why == "" {
			continue
		}
		res, err := redeemOne(ctx, l, r, Policy{}, cs, now, now, true)
		if err != nil {
			res.Err = err.Error()
			errs = append(errs, fmt.Errorf("redeem %s: %w", cs.Latest.Channel, err))
		}
		if res.Tx != "" || res.Err != "" {
			res.Reason = why
		}
		if res.Reason != "" {
			out = append(out, res)
		}
	}
	return out, errors.Join(errs...)
}
