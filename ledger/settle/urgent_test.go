package settle

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// TestRedeemUrgent: a channel whose requester is not urgent is left to the
// policy; once urgent it is redeemed at once, once, with the reason; a
// failing check names the channel and redeems nothing.
func TestRedeemUrgent(t *testing.T) {
	ctx := context.Background()
	h := newHeldLedger(t)
	chain := newFakeChain()
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for range 3 {
		h.add(t, 1)
	}
	asked := 0
	urgent := func(withdrawing bool, err error) Urgent {
		return func(context.Context, common.Address, common.Address) (bool, string, error) {
			asked++
			return withdrawing, "asked its escrow back", err
		}
	}
	if res, err := RedeemUrgent(ctx, h.l, chain, urgent(false, nil), now); err != nil || len(res) != 0 || chain.submits != 0 {
		t.Fatalf("not urgent: %+v, %v, %d submissions; want nothing", res, err, chain.submits)
	}
	boom := errors.New("rpc down")
	if res, err := RedeemUrgent(ctx, h.l, chain, urgent(true, boom), now); !errors.Is(err, boom) || len(res) != 0 || chain.submits != 0 {
		t.Fatalf("check failed: %+v, %v, %d submissions; want the error and nothing sent", res, err, chain.submits)
	}
	res, err := RedeemUrgent(ctx, h.l, chain, urgent(true, nil), now)
	if err != nil || len(res) != 1 || !res[0].Redeemed || res[0].Reason != "asked its escrow back" || res[0].Amount.Cmp(h.totalUnits) != 0 {
		t.Fatalf("urgent: %+v, %v", res, err)
	}
	if chain.submits != 1 || chain.paid.Cmp(h.totalUnits) != 0 {
		t.Errorf("%d submissions paid %s, want 1 paying %s", chain.submits, chain.paid, h.totalUnits)
	}
	before := asked
	if res, err := RedeemUrgent(ctx, h.l, chain, urgent(true, nil), now); err != nil || len(res) != 0 || chain.submits != 1 || asked != before {
		t.Errorf("again: %+v, %v, %d submissions, asked %d more times; want nothing, not even a question", res, err, chain.submits, asked-before)
	}
	chans, err := HeldChannels(h.l)
	if err != nil || len(chans) != 1 || chans[0].Outstanding.Sign() != 0 {
		t.Errorf("channels after: %+v, %v", chans, err)
	}
}
