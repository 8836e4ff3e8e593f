package evm

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"
)

// DevChain is the in-process dev chain under a Simulated backend, as a
// contract backend: what go-ethereum's abigen v2 bindings (bind.Backend)
// and the settlement client need (reads and calls at a block, gas
// estimation with execution, receipts with logs, log filtering), plus the
// dev-only controls a test chain offers (Fund, AdjustTime, Commit). It is
// safe for concurrent use.
type DevChain struct {
	c *devChain
}

// NewDevChain starts a dev chain with chain ID id whose genesis funds alloc
// (balances in wei). Close it when done.
func NewDevChain(id uint64, alloc map[common.Address]*big.Int) (*DevChain, error) {
	c, err := newDevChain(id, alloc)
	if err != nil {
		return nil, err
	}
	return &DevChain{c: c}, nil
}

// Chain returns the dev chain the simulated backend anchors on, to deploy
// and call contracts on it. Its Close stops the simulated backend's chain
// too; close the Simulated instead.
func (s *Simulated) Chain() *DevChain { return &DevChain{c: s.chain} }

// Close stops the chain: every later call fails.
func (d *DevChain) Close() error { return d.c.close() }

// Commit mines an empty block.
func (d *DevChain) Commit() error { return d.c.commit() }

// Fund sets a's balance to wei in a new empty block (anvil_setBalance's
// counterpart; the dev chain has no faucet otherwise).
func (d *DevChain) Fund(ctx context.Context, a common.Address, wei *big.Int) error {
	bal, overflow := uint256.FromBig(wei)
	if overflow || wei.Sign() < 0 {
		return fmt.Errorf("fund %s: balance %s out of range", a, wei)
	}
	if err := d.c.lock(ctx); err != nil {
		return err
	}
	defer d.c.mu.Unlock()
	return d.c.seal(func(st *state.StateDB) { st.SetBalance(a, bal, tracing.BalanceChangeUnspecified) })
}

// AdjustTime moves the chain's clock on by by (whole seconds) and mines an
// empty block at the new time (evm_increaseTime and evm_mine's
// counterpart): notice periods pass without waiting.
func (d *DevChain) AdjustTime(ctx context.Context, by time.Duration) error {
	if by < 0 {
		return fmt.Errorf("adjust time by %v: the clock only moves on", by)
	}
	if err := d.c.lock(ctx); err != nil {
		return err
	}
	defer d.c.mu.Unlock()
	d.c.skew += uint64(by / time.Second)
	d.c.minTime = max(d.c.minTime, d.c.head().Time+uint64(by/time.Second))
	return d.c.seal(nil)
}

// ChainID returns the chain's ID.
func (d *DevChain) ChainID(ctx context.Context) (*big.Int, error) { return d.c.ChainID(ctx) }

// BlockNumber returns the head's number.
func (d *DevChain) BlockNumber(ctx context.Context) (uint64, error) { return d.c.BlockNumber(ctx) }

// HeaderByNumber returns block number's header (nil: the head).
func (d *DevChain) HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error) {
	return d.c.HeaderByNumber(ctx, number)
}

// PendingNonceAt returns a's next nonce.
func (d *DevChain) PendingNonceAt(ctx context.Context, a common.Address) (uint64, error) {
	return d.c.PendingNonceAt(ctx, a)
}

// NonceAt returns a's nonce after block number (nil: the head).
func (d *DevChain) NonceAt(ctx context.Context, a common.Address, number *big.Int) (uint64, error) {
	st, unlock, err := d.stateAt(ctx, number)
	if err != nil {
		return 0, err
	}
	defer unlock()
	return st.GetNonce(a), nil
}

// BalanceAt returns a's balance in wei after block number (nil: the head).
func (d *DevChain) BalanceAt(ctx context.Context, a common.Address, number *big.Int) (*big.Int, error) {
	st, unlock, err := d.stateAt(ctx, number)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return st.GetBalance(a).ToBig(), nil
}

// CodeAt returns a's code after block number (nil: the head).
func (d *DevChain) CodeAt(ctx context.Context, a common.Address, number *big.Int) ([]byte, error) {
	st, unlock, err := d.stateAt(ctx, number)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return slices.Clone(st.GetCode(a)), nil
}

// PendingCodeAt returns a's code at the head (every accepted transaction
// is mined).
func (d *DevChain) PendingCodeAt(ctx context.Context, a common.Address) ([]byte, error) {
	return d.CodeAt(ctx, a, nil)
}

// StorageAt returns a's storage slot key after block number (nil: the head).
func (d *DevChain) StorageAt(ctx context.Context, a common.Address, key common.Hash, number *big.Int) ([]byte, error) {
	st, unlock, err := d.stateAt(ctx, number)
	if err != nil {
		return nil, err
	}
	defer unlock()
	v := st.GetState(a, key)
	return v[:], nil
}

// stateAt locks the chain and opens the state after block number; the
// caller calls unlock when done with it.
func (d *DevChain) stateAt(ctx context.Context, number *big.Int) (*state.StateDB, func(), error) {
	if err := d.c.lock(ctx); err != nil {
		return nil, nil, err
	}
	h, err := d.c.header(number)
	if err == nil {
		var st *state.StateDB
		if st, err = d.c.stateAt(h); err == nil {
			return st, d.c.mu.Unlock, nil
		}
	}
	d.c.mu.Unlock()
	return nil, nil, err
}

// CallContract runs msg on the state after block number (nil: the head);
// a revert comes back as an rpc.DataError holding its data.
func (d *DevChain) CallContract(ctx context.Context, msg ethereum.CallMsg, number *big.Int) ([]byte, error) {
	return d.c.CallContract(ctx, msg, number)
}

// PendingCallContract runs msg on the head's state.
func (d *DevChain) PendingCallContract(ctx context.Context, msg ethereum.CallMsg) ([]byte, error) {
	return d.c.CallContract(ctx, msg, nil)
}

// EstimateGas returns the least gas with which msg succeeds.
func (d *DevChain) EstimateGas(ctx context.Context, msg ethereum.CallMsg) (uint64, error) {
	return d.c.EstimateGas(ctx, msg)
}

// SuggestGasPrice returns the head's base fee plus a 1 gwei tip.
func (d *DevChain) SuggestGasPrice(ctx context.Context) (*big.Int, error) {
	return d.c.SuggestGasPrice(ctx)
}

// SuggestGasTipCap returns 1 gwei.
func (d *DevChain) SuggestGasTipCap(ctx context.Context) (*big.Int, error) {
	return d.c.SuggestGasTipCap(ctx)
}

// SendTransaction checks tx, executes it and mines it into a new block, or
// returns why not.
func (d *DevChain) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	return d.c.SendTransaction(ctx, tx)
}

// TransactionByHash returns a mined transaction (never pending).
func (d *DevChain) TransactionByHash(ctx context.Context, h common.Hash) (*types.Transaction, bool, error) {
	return d.c.TransactionByHash(ctx, h)
}

// TransactionReceipt returns a mined transaction's receipt, logs included.
func (d *DevChain) TransactionReceipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	return d.c.TransactionReceipt(ctx, h)
}

// FilterLogs returns the logs q matches, in chain order (q.BlockHash, or
// q.FromBlock to q.ToBlock, nil meaning genesis and the head).
func (d *DevChain) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	if err := d.c.lock(ctx); err != nil {
		return nil, err
	}
	defer d.c.mu.Unlock()
	from, to := uint64(0), d.c.head().Number.Uint64()
	if q.FromBlock != nil && q.FromBlock.Sign() >= 0 {
		from = q.FromBlock.Uint64()
	}
	if q.ToBlock != nil && q.ToBlock.Sign() >= 0 && q.ToBlock.Uint64() < to {
		to = q.ToBlock.Uint64()
	}
	var out []types.Log
	for n := from; n <= to && n < uint64(len(d.c.blocks)); n++ {
		b := d.c.blocks[n]
		if b.receipt == nil || (q.BlockHash != nil && b.header.Hash() != *q.BlockHash) {
			continue
		}
		for _, l := range b.receipt.Logs {
			if logMatches(l, q) {
				out = append(out, *l)
			}
		}
	}
	return out, nil
}

// logMatches reports whether l is from one of q's addresses (any when none)
// and has, at each position, one of q's topics there (any when none).
func logMatches(l *types.Log, q ethereum.FilterQuery) bool {
	if len(q.Addresses) > 0 && !slices.Contains(q.Addresses, l.Address) {
		return false
	}
	if len(q.Topics) > len(l.Topics) {
		return false
	}
	for i, want := range q.Topics {
		if len(want) > 0 && !slices.Contains(want, l.Topics[i]) {
			return false
		}
	}
	return true
}

// SubscribeFilterLogs is not supported: the dev chain has no subscriptions
// (poll FilterLogs).
func (d *DevChain) SubscribeFilterLogs(context.Context, ethereum.FilterQuery, chan<- types.Log) (ethereum.Subscription, error) {
	return nil, fmt.Errorf("log subscriptions %w", errUnsupported)
}
