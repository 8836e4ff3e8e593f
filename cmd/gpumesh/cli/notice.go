package cli

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/core/types"

	"github.com/gpumesh/gpumesh/ledger/settle/contracts"
)

// noticed is a take-back that waits out the contract's notice period: an
// escrow withdrawal or an unstaking. Run once it asks; run again it says
// when the request is ready, or completes it once the notice is over.
type noticed struct {
	verb     string // "withdraw", "unstake": the actions' prefix and the errors' first word
	done     string // the action once completed: "withdrawn", "unstaked"
	command  string // what to run again, for the messages
	what     string // "withdrawal", "unstaking"
	holds    string // what is held, before its amount: "the escrow holds", "the stake is"
	askedFmt string // the message when asked, with the amount's %s
	doneFmt  string // the message when completed, with the amount's %s
	empty    string // the refusal when there is nothing to take back

	money    func(*big.Int) string
	pending  func(context.Context) (contracts.Pending, error)
	balance  func(context.Context) (*big.Int, error)
	complete func(context.Context) (*types.Receipt, error)
	request  func(context.Context, *big.Int) (*types.Receipt, error)
}

// run completes, reports or asks, as the type's doc says; want nil means
// all that is held.
func (n noticed) run(ctx context.Context, now time.Time, want *big.Int) (chainOut, error) {
	pending, err := n.pending(ctx)
	if err != nil {
		return chainOut{}, err
	}
	if want == nil && pending.Amount != nil && pending.Amount.Sign() > 0 {
		return n.finish(ctx, now, pending)
	}
	held, err := n.balance(ctx)
	if err != nil {
		return chainOut{}, err
	}
	if want == nil {
		want = held
	}
	if want.Sign() == 0 {
		return chainOut{}, errors.New(n.verb + ": " + n.empty)
	}
	if want.Cmp(held) > 0 {
		return chainOut{}, fmt.Errorf("%s %s: %s %s", n.verb, n.money(want), n.holds, n.money(held))
	}
	rcpt, err := n.request(ctx, want)
	if err != nil {
		return chainOut{}, fmt.Errorf("request %s: %w", n.what, err)
	}
	p, err := n.pending(ctx)
	if err != nil {
		return chainOut{}, err
	}
	ready := time.Unix(int64(p.ReadyAt), 0).UTC()
	msg := fmt.Sprintf(n.askedFmt, n.money(want), ready.Format(time.RFC3339))
	if pending.Amount != nil && pending.Amount.Sign() > 0 {
		msg += fmt.Sprintf("; it replaces the pending request for %s", n.money(pending.Amount))
	}
	return chainOut{Action: n.verb + "_requested", Amount: n.money(want), Units: want.String(), Tx: rcpt.TxHash.Hex(), ReadyAt: &ready, Message: msg}, nil
}

// finish completes pending once its notice is over, or says when it will be.
func (n noticed) finish(ctx context.Context, now time.Time, pending contracts.Pending) (chainOut, error) {
	ready := time.Unix(int64(pending.ReadyAt), 0).UTC()
	if now.Before(ready) {
		return chainOut{Action: n.verb + "_waiting", Amount: n.money(pending.Amount), Units: pending.Amount.String(), ReadyAt: &ready,
			Message: fmt.Sprintf("%s of %s waits out the notice: ready at %s (in %s); run `%s` again then",
				n.what, n.money(pending.Amount), ready.Format(time.RFC3339), ready.Sub(now).Round(time.Second), n.command)}, nil
	}
	before, err := n.balance(ctx)
	if err != nil {
		return chainOut{}, err
	}
	rcpt, err := n.complete(ctx)
	if err != nil {
		return chainOut{}, fmt.Errorf("%s: %w", n.verb, err)
	}
	after, err := n.balance(ctx)
	if err != nil {
		return chainOut{}, err
	}
	got := new(big.Int).Sub(before, after)
	return chainOut{Action: n.done, Amount: n.money(got), Units: got.String(), Tx: rcpt.TxHash.Hex(),
		Message: fmt.Sprintf(n.doneFmt, n.money(got))}, nil
}
