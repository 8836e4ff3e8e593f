package contracts

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/gpumesh/gpumesh/ledger/settle"
)

// ErrWrongDomain: a voucher signed for another chain or contract than the
// client's; it is refused before anything is sent.
var ErrWrongDomain = errors.New("voucher is for another chain or contract")

// Chain is a Client seen through ledger/settle's interfaces: the node reads
// balances and escrow and redeems vouchers through it.
type Chain struct {
	c  *Client
	mu sync.Mutex // guards last
	// last is the most recent redemption's figures, kept for the caller
	// that wants the fees as well as the hash (see Redemption).
	last map[common.Hash]*Redemption
}

// NewChain returns c as a settle.BalanceReader, EscrowReader and Redeemer.
func NewChain(c *Client) *Chain { return &Chain{c: c, last: map[common.Hash]*Redemption{}} }

// Client returns the client underneath.
func (ch *Chain) Client() *Client { return ch.c }

// Domain returns the EIP-712 domain vouchers for this contract are signed in.
func (ch *Chain) Domain() settle.Domain {
	return settle.Domain{ChainID: ch.c.chainID.Uint64(), Contract: ch.c.addr}
}

// Close closes the connection the client's Dial opened.
func (ch *Chain) Close() { ch.c.Close() }

// Balances implements settle.BalanceReader: owner's wallet balance of
// token, its escrow and pending withdrawal in token, and its stake (in the
// stake token).
func (ch *Chain) Balances(ctx context.Context, owner, token common.Address) (settle.Balances, error) {
	var b settle.Balances
	var err error
	if b.Wallet, err = ch.c.BalanceOf(ctx, token, owner); err != nil {
		return b, err
	}
	if b.Escrow, err = ch.c.Escrow(ctx, owner, token); err != nil {
		return b, fmt.Errorf("read escrow: %w", err)
	}
	p, err := ch.c.PendingWithdrawal(ctx, owner, token)
	if err != nil {
		return b, fmt.Errorf("read pending withdrawal: %w", err)
	}
	b.PendingWithdrawal = p.Amount
	if b.Stake, err = ch.c.StakeOf(ctx, owner); err != nil {
		return b, fmt.Errorf("read stake: %w", err)
	}
	if b.Allowance, err = ch.c.Allowance(ctx, token, owner); err != nil {
		return b, err
	}
	return b, nil
}

// Escrow implements settle.EscrowReader.
func (ch *Chain) Escrow(ctx context.Context, requester, token common.Address) (*big.Int, error) {
	return ch.c.Escrow(ctx, requester, token)
}

// PendingWithdrawal returns requester's pending withdrawal of token (zero
// amount when none).
func (ch *Chain) PendingWithdrawal(ctx context.Context, requester, token common.Address) (Pending, error) {
	return ch.c.PendingWithdrawal(ctx, requester, token)
}

// Redeemed implements settle.Redeemer.
func (ch *Chain) Redeemed(ctx context.Context, requester, provider, token common.Address) (*big.Int, error) {
	return ch.c.Redeemed(ctx, requester, provider, token)
}

// Redeem implements settle.Redeemer: it submits sv, waits until it is
// mined and returns its hash. A voucher signed for another chain or
// contract is refused before anything is sent (ErrWrongDomain).
func (ch *Chain) Redeem(ctx context.Context, sv *settle.SignedVoucher) (common.Hash, error) {
	if sv == nil {
		return common.Hash{}, errors.New("redeem: no voucher")
	}
	if sv.Domain != ch.Domain() {
		return common.Hash{}, fmt.Errorf("redeem: %w (voucher chain %d contract %s; client chain %s contract %s)",
			ErrWrongDomain, sv.Domain.ChainID, sv.Domain.Contract.Hex(), ch.c.chainID, ch.c.addr.Hex())
	}
	r, err := ch.c.Redeem(ctx, VoucherOf(sv.Voucher), sv.Sig)
	if err != nil {
		return common.Hash{}, err
	}
	ch.mu.Lock()
	ch.last[r.Receipt.TxHash] = r
	ch.mu.Unlock()
	return r.Receipt.TxHash, nil
}

// Redemption returns what the redemption in transaction tx paid and its
// fees, when this Chain submitted it, and forgets it; false otherwise.
// The node asks once per redemption, so what is kept stays small.
func (ch *Chain) Redemption(tx common.Hash) (*Redemption, bool) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	r, ok := ch.last[tx]
	delete(ch.last, tx)
	return r, ok
}

// WorkOf converts a Work signed by ledger/settle into the contract's form.
func WorkOf(w settle.Work) Work {
	return Work{Job: w.Job, Rank: w.Rank, Result: w.Result, Amount: w.Amount, Token: w.Token, Requester: w.Requester}
}

// VoucherOf converts a Voucher signed by ledger/settle into the contract's form.
func VoucherOf(v settle.Voucher) Voucher {
	return Voucher{Requester: v.Requester, Provider: v.Provider, Token: v.Token, Cumulative: v.Cumulative, Nonce: v.Nonce}
}

// Now returns the chain's time: the latest block's timestamp, which the
// contract compares a notice's ready time with.
func (ch *Chain) Now(ctx context.Context) (time.Time, error) {
	h, err := ch.c.backend.HeaderByNumber(ctx, nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("read the latest block: %w", err)
	}
	return time.Unix(int64(h.Time), 0), nil
}

// Fee returns token's fee on each side, in basis points.
func (ch *Chain) Fee(ctx context.Context, token common.Address) (requesterBP, providerBP uint16, err error) {
	return ch.c.Fee(ctx, token)
}
