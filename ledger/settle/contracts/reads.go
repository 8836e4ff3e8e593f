package contracts

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Pending is a withdrawal or unstaking waiting out its notice.
type Pending struct {
	Amount  *big.Int
	ReadyAt uint64 // unix seconds, chain time
}

// Escrow returns requester's escrow in token.
func (c *Client) Escrow(ctx context.Context, requester, token common.Address) (*big.Int, error) {
	return call(ctx, c, c.s.PackEscrow(requester, token), c.s.UnpackEscrow)
}

// PendingWithdrawal returns requester's pending withdrawal of token.
func (c *Client) PendingWithdrawal(ctx context.Context, requester, token common.Address) (Pending, error) {
	out, err := call(ctx, c, c.s.PackPendingWithdrawal(requester, token), c.s.UnpackPendingWithdrawal)
	return Pending{Amount: out.Amount, ReadyAt: out.ReadyAt}, err
}

// Redeemed returns the cumulative amount redeemed so far from requester to
// provider in token.
func (c *Client) Redeemed(ctx context.Context, requester, provider, token common.Address) (*big.Int, error) {
	return call(ctx, c, c.s.PackRedeemed(requester, provider, token), c.s.UnpackRedeemed)
}

// StakeOf returns provider's stake, a pending unstaking included.
func (c *Client) StakeOf(ctx context.Context, provider common.Address) (*big.Int, error) {
	return call(ctx, c, c.s.PackStakeOf(provider), c.s.UnpackStakeOf)
}

// PendingUnstake returns provider's pending unstaking.
func (c *Client) PendingUnstake(ctx context.Context, provider common.Address) (Pending, error) {
	out, err := call(ctx, c, c.s.PackPendingUnstake(provider), c.s.UnpackPendingUnstake)
	return Pending{Amount: out.Amount, ReadyAt: out.ReadyAt}, err
}

// IsEligible reports whether provider's stake, less a pending unstaking,
// reaches the minimum stake.
func (c *Client) IsEligible(ctx context.Context, provider common.Address) (bool, error) {
	return call(ctx, c, c.s.PackIsEligible(provider), c.s.UnpackIsEligible)
}

// Fee returns token's fee on each side, in basis points.
func (c *Client) Fee(ctx context.Context, token common.Address) (requesterBP, providerBP uint16, err error) {
	out, err := call(ctx, c, c.s.PackFee(token), c.s.UnpackFee)
	return out.RequesterBP, out.ProviderBP, err
}

// VoucherDigest returns the EIP-712 digest the contract checks v's
// signature against.
func (c *Client) VoucherDigest(ctx context.Context, v Voucher) ([32]byte, error) {
	return call(ctx, c, c.s.PackVoucherDigest(v), c.s.UnpackVoucherDigest)
}

// WorkDigest returns the EIP-712 digest the contract checks w's signature
// against.
func (c *Client) WorkDigest(ctx context.Context, w Work) ([32]byte, error) {
	return call(ctx, c, c.s.PackWorkDigest(w), c.s.UnpackWorkDigest)
}

// AuditDigest returns the digest an auditor signs for a, as the contract
// computes it.
func (c *Client) AuditDigest(ctx context.Context, a Audit) ([32]byte, error) {
	return call(ctx, c, c.s.PackAuditDigest(a), c.s.UnpackAuditDigest)
}

// BalanceOf returns who's balance of token (NativeToken: the coin).
func (c *Client) BalanceOf(ctx context.Context, token, who common.Address) (*big.Int, error) {
	if token == NativeToken {
		b, err := c.backend.BalanceAt(ctx, who, nil)
		if err != nil {
			return nil, fmt.Errorf("read balance of %s: %w", who, err)
		}
		return b, nil
	}
	b, err := bind.Call(c.erc20.Instance(c.backend, token), &bind.CallOpts{Context: ctx}, c.erc20.PackBalanceOf(who), c.erc20.UnpackBalanceOf)
	if err != nil {
		return nil, fmt.Errorf("read %s balance of %s: %w", token, who, revertOf(err))
	}
	return b, nil
}

// Send sends data to the contract at to from the client's key and waits
// for a successful receipt: for calls the client has no method for (a test
// token's mint, say).
func (c *Client) Send(ctx context.Context, to common.Address, data []byte) (*types.Receipt, error) {
	return c.transactOn(ctx, bind.NewBoundContract(to, abi.ABI{}, c.backend, c.backend, c.backend), "send", data, nil)
}

// Allowance returns how much of token owner lets the contract take (what a
// deposit or stake may pull without a new approval); zero for the native
// coin, which needs none.
func (c *Client) Allowance(ctx context.Context, token, owner common.Address) (*big.Int, error) {
	if token == NativeToken {
		return new(big.Int), nil
	}
	have, err := bind.Call(c.erc20.Instance(c.backend, token), &bind.CallOpts{Context: ctx, From: owner}, c.erc20.PackAllowance(owner, c.addr), c.erc20.UnpackAllowance)
	if err != nil {
		return nil, fmt.Errorf("read allowance of %s: %w", token, revertOf(err))
	}
	return have, nil
}

// approve lets the contract take amount of token from the sender, when its
// allowance is short.
func (c *Client) approve(ctx context.Context, token common.Address, amount *big.Int) error {
	have, err := c.Allowance(ctx, token, c.from)
	if err != nil {
		return err
	}
	if amount == nil || have.Cmp(amount) >= 0 {
		return nil
	}
	_, err = c.transactOn(ctx, c.erc20.Instance(c.backend, token), "approve", c.erc20.PackApprove(c.addr, amount), nil)
	return err
}

// call makes one read-only call to the contract and unpacks its result.
func call[T any](ctx context.Context, c *Client, data []byte, unpack func([]byte) (T, error)) (T, error) {
	out, err := bind.Call(c.bound, &bind.CallOpts{Context: ctx, From: c.from}, data, unpack)
	if err != nil {
		return out, fmt.Errorf("call settlement %s: %w", c.addr, revertOf(err))
	}
	return out, nil
}

// transact sends data (with value, may be nil) to the contract and waits
// for its receipt.
func (c *Client) transact(ctx context.Context, what string, data []byte, value *big.Int) (*types.Receipt, error) {
	return c.transactOn(ctx, c.bound, what, data, value)
}

// transactOn sends data to inst from the client's key, one at a time, and
// waits for the receipt. A revert found while estimating gas comes back as
// a *RevertError; a mined failure as ErrTxFailed.
func (c *Client) transactOn(ctx context.Context, inst *bind.BoundContract, what string, data []byte, value *big.Int) (*types.Receipt, error) {
	opts := bind.NewKeyedTransactor(c.key, c.chainID)
	opts.Context = ctx
	opts.Value = value
	c.send.Lock()
	tx, err := bind.Transact(inst, opts, data)
	c.send.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, revertOf(err))
	}
	rcpt, err := waitMined(ctx, c.backend, tx.Hash())
	if err != nil {
		return nil, fmt.Errorf("%s: wait for %s: %w", what, tx.Hash(), err)
	}
	if rcpt.Status != types.ReceiptStatusSuccessful {
		return rcpt, fmt.Errorf("%s: %s: %w", what, tx.Hash(), ErrTxFailed)
	}
	return rcpt, nil
}

// waitMined polls for tx's receipt, from 25 ms doubling to 1 s between
// tries (bind.WaitMined waits a whole second before its second look, which
// is most of a dev chain's time), until ctx ends.
func waitMined(ctx context.Context, b bind.DeployBackend, tx common.Hash) (*types.Receipt, error) {
	wait := 25 * time.Millisecond
	for {
		rcpt, err := b.TransactionReceipt(ctx, tx)
		if err == nil {
			return rcpt, nil
		}
		if !errors.Is(err, ethereum.NotFound) {
			return nil, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
}
