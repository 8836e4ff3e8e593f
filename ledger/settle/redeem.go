package settle

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/gpumesh/gpumesh/ledger"
)

// Policy says when a provider redeems a channel's latest voucher.
type Policy struct {
	// Threshold redeems as soon as this many base units are outstanding;
	// nil or zero redeems by Interval only.
	Threshold *big.Int
	// Interval redeems whatever is outstanding at least this often; 0 by Threshold only.
	Interval time.Duration
}

// PolicyOf is c's redemption policy in base units.
func PolicyOf(c Config) (Policy, error) {
	t, err := ToUnits(c.Threshold(), c.TokenDecimals)
	if err != nil {
		return Policy{}, err
	}
	return Policy{Threshold: t, Interval: time.Duration(c.RedeemInterval)}, nil
}

// Due decides whether to redeem outstanding units now, given the last
// redemption (or, for a channel never redeemed, when the node started
// watching it); it returns the reason. A pure function.
func (p Policy) Due(outstanding *big.Int, last, now time.Time) (bool, string) {
	switch {
	case outstanding == nil || outstanding.Sign() <= 0:
		return false, "nothing outstanding"
	case p.Threshold != nil && p.Threshold.Sign() > 0 && outstanding.Cmp(p.Threshold) >= 0:
		return true, fmt.Sprintf("%s outstanding, threshold %s", outstanding, p.Threshold)
	case p.Interval > 0 && !now.Before(last.Add(p.Interval)):
		return true, fmt.Sprintf("%s outstanding, last redeemed %s ago", outstanding, now.Sub(last).Round(time.Second))
	}
	return false, "below threshold, interval not over"
}

// ChannelState is one channel as a provider holds it: its latest voucher,
// what was redeemed of it, and what is outstanding.
type ChannelState struct {
	// Latest is the channel's latest held voucher.
	Latest ledger.VoucherRecord `json:"latest"`
	// Redeemed is the cumulative amount recorded as redeemed, in base units.
	Redeemed *big.Int `json:"redeemed"`
	// Outstanding is Latest's cumulative minus Redeemed.
	Outstanding *big.Int `json:"outstanding"`
	// Redemption is the last redemption record, if any.
	Redemption *ledger.Redemption `json:"redemption,omitempty"`
}

// HeldChannels returns every channel this provider holds vouchers on.
func HeldChannels(l *ledger.Log) ([]ChannelState, error) {
	latest, err := l.LatestVouchers(ledger.VoucherHeld)
	if err != nil {
		return nil, err
	}
	out := make([]ChannelState, 0, len(latest))
	for _, v := range latest {
		cs := ChannelState{Latest: v, Redeemed: new(big.Int)}
		r, found, err := l.RedemptionOf(v.Channel)
		if err != nil {
			return nil, err
		}
		if found {
			cs.Redemption = &r
			if r.State == ledger.RedeemDone {
				cs.Redeemed, _ = new(big.Int).SetString(r.Cumulative, 10)
			}
		}
		cum, ok := new(big.Int).SetString(v.Cumulative, 10)
		if !ok || cs.Redeemed == nil {
			return nil, fmt.Errorf("%w: channel %s: bad cumulative", ledger.ErrCorrupt, v.Channel)
		}
		cs.Outstanding = new(big.Int).Sub(cum, cs.Redeemed)
		out = append(out, cs)
	}
	return out, nil
}

// Result is what one channel's redemption did.
type Result struct {
	// Channel is the channel.
	Channel string `json:"channel"`
	// Redeemed is true when the chain now holds the voucher's cumulative.
	Redeemed bool `json:"redeemed"`
	// Amount is what this redemption paid, in base units (before fees).
	Amount *big.Int `json:"amount,omitempty"`
	// Tx is the transaction's hash, when one was sent.
	Tx string `json:"tx,omitempty"`
	// Reason says why it was (or was not) redeemed.
	Reason string `json:"reason"`
	// Err is why it failed, if it did.
	Err string `json:"error,omitempty"`
}

// RedeemDue redeems, through r, the latest held voucher of every channel
// the policy says is due at now (force: every channel with anything
// outstanding). since is when the node started watching: the "last
// redemption" of a channel never redeemed. It records each redemption in
// the ledger before submitting (RedeemSubmitting) and after
// (RedeemDone), so that after a crash between the two the chain is asked
// what it holds and nothing is submitted twice.
func RedeemDue(ctx context.Context, l *ledger.Log, r Redeemer, p Policy, since, now time.Time, force bool) ([]Result, error) {
	chans, err := HeldChannels(l)
	if err != nil {
		return nil, err
	}
	var out []Result
	var errs []error
	for _, cs := range chans {
		res, err := redeemOne(ctx, l, r, p, cs, since, now, force)
		if err != nil {
			res.Err = err.Error()
			errs = append(errs, fmt.Errorf("redeem %s: %w", cs.Latest.Channel, err))
		}
		if res.Reason != "" {
			out = append(out, res)
		}
	}
	return out, errors.Join(errs...)
}

// redeemOne redeems one channel if due.
func redeemOne(ctx context.Context, l *ledger.Log, r Redeemer, p Policy, cs ChannelState, since, now time.Time, force bool) (Result, error) {
	res := Result{Channel: cs.Latest.Channel}
	sv, err := DecodeSignedVoucher(cs.Latest.Voucher)
	if err != nil {
		return res, err
	}
	v := sv.Voucher
	onChain, err := r.Redeemed(ctx, v.Requester, v.Provider, v.Token)
	if err != nil {
		return res, fmt.Errorf("read what is redeemed: %w", err)
	}
	if pending := cs.Redemption; pending != nil && pending.State == ledger.RedeemSubmitting {
		// A submission whose outcome was not recorded: the chain says.
		if cum, ok := new(big.Int).SetString(pending.Cumulative, 10); ok && onChain.Cmp(cum) >= 0 {
			done := *pending
			done.State, done.Time = ledger.RedeemDone, now
			if err := l.PutRedemption(done); err != nil {
				return res, err
			}
			cs.Redeemed = cum
			cs.Outstanding = new(big.Int).Sub(v.Cumulative, cum)
			res.Redeemed, res.Reason = true, "found redeemed on chain after an unrecorded submission"
		}
	}
	if onChain.Cmp(v.Cumulative) >= 0 {
		if !res.Redeemed && (cs.Redemption == nil || cs.Redemption.State != ledger.RedeemDone || cs.Redemption.Cumulative != v.Cumulative.String()) {
			if err := l.PutRedemption(ledger.Redemption{Channel: res.Channel, State: ledger.RedeemDone, Nonce: v.Nonce, Cumulative: v.Cumulative.String(), Time: now}); err != nil {
				return res, err
			}
			res.Redeemed, res.Reason = true, "already redeemed on chain"
		}
		return res, nil
	}
	last := since
	if cs.Redemption != nil && cs.Redemption.State == ledger.RedeemDone && cs.Redemption.Time.After(since) {
		last = cs.Redemption.Time
	}
	outstanding := new(big.Int).Sub(v.Cumulative, onChain)
	due, why := p.Due(outstanding, last, now)
	if force && outstanding.Sign() > 0 {
		due, why = true, fmt.Sprintf("%s outstanding, redeemed on request", outstanding)
	}
	if !due {
		return res, nil
	}
	res.Reason, res.Amount = why, outstanding
	rec := ledger.Redemption{Channel: res.Channel, State: ledger.RedeemSubmitting, Nonce: v.Nonce, Cumulative: v.Cumulative.String(), Time: now}
	if err := l.PutRedemption(rec); err != nil {
		return res, err
	}
	tx, err := r.Redeem(ctx, sv)
	if err != nil {
		return res, fmt.Errorf("submit: %w", err)
	}
	rec.State, rec.Tx = ledger.RedeemDone, tx.Hex()
	if err := l.PutRedemption(rec); err != nil {
		return res, err
	}
	res.Redeemed, res.Tx = true, tx.Hex()
	return res, nil
}
