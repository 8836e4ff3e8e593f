package evm

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/triedb"
	"github.com/holiman/uint256"
)

// devConfig is the dev chain's rules: every fork through Prague from
// genesis (post-merge), as anvil runs by default; not Osaka.
func devConfig(id *big.Int) *params.ChainConfig {
	zero := uint64(0)
	return &params.ChainConfig{
		ChainID: id, HomesteadBlock: new(big.Int), EIP150Block: new(big.Int), EIP155Block: new(big.Int),
		EIP158Block: new(big.Int), ByzantiumBlock: new(big.Int), ConstantinopleBlock: new(big.Int),
		PetersburgBlock: new(big.Int), IstanbulBlock: new(big.Int), MuirGlacierBlock: new(big.Int),
		BerlinBlock: new(big.Int), LondonBlock: new(big.Int), TerminalTotalDifficulty: new(big.Int),
		ShanghaiTime: &zero, CancunTime: &zero, PragueTime: &zero,
		BlobScheduleConfig: &params.BlobScheduleConfig{Cancun: params.DefaultCancunBlobConfig, Prague: params.DefaultPragueBlobConfig},
	}
}

// newMemoryStateDB is a state database on an in-memory key-value store with
// the hash-based trie database: committed tries stay in its memory, so
// every block's state stays readable (a reorg only moves the head).
func newMemoryStateDB() state.Database {
	kv := rawdb.NewMemoryDatabase()
	return state.NewDatabase(triedb.NewDatabase(kv, nil), state.NewCodeDB(kv))
}

// rules is the fork rules of the block h.
func (c *devChain) rules(h *types.Header) params.Rules {
	return c.config.Rules(h.Number, true, h.Time)
}

// stateAt opens the state after block h.
func (c *devChain) stateAt(h *types.Header) (*state.StateDB, error) {
	st, err := state.New(h.Root, c.db)
	if err != nil {
		return nil, fmt.Errorf("dev chain: state of block %d: %w", h.Number, err)
	}
	return st, nil
}

// blockContext is the EVM's view of the block h. The coinbase is the zero
// address; BLOCKHASH answers for the chain's blocks before h.
func (c *devChain) blockContext(h *types.Header) vm.BlockContext {
	random := common.Hash{}
	blocks := c.blocks // the caller holds the lock for the whole execution
	return vm.BlockContext{
		CanTransfer: core.CanTransfer, Transfer: core.Transfer,
		GetHash: func(n uint64) common.Hash {
			if n >= h.Number.Uint64() || n >= uint64(len(blocks)) {
				return common.Hash{}
			}
			return blocks[n].header.Hash()
		},
		GasLimit: h.GasLimit, BlockNumber: new(big.Int).Set(h.Number), Time: h.Time, Difficulty: new(big.Int),
		BaseFee: new(big.Int).Set(h.BaseFee), BlobBaseFee: big.NewInt(params.BlobTxMinBlobGasprice), Random: &random,
	}
}

// header returns the block number names (nil or negative: the head), or
// ethereum.NotFound.
func (c *devChain) header(number *big.Int) (*types.Header, error) {
	if number == nil || number.Sign() < 0 {
		return c.head(), nil
	}
	if !number.IsUint64() || number.Uint64() >= uint64(len(c.blocks)) {
		return nil, ethereum.NotFound
	}
	return c.blocks[number.Uint64()].header, nil
}

// simulate runs msg with gas on the state after block at, in a block after
// it, and throws the result away: what eth_call and eth_estimateGas run. Gas
// is free (price zero, no base fee), the nonce is not checked, and the
// sender may have code.
func (c *devChain) simulate(at *types.Header, msg ethereum.CallMsg, gas uint64) (*core.ExecutionResult, error) {
	st, err := c.stateAt(at)
	if err != nil {
		return nil, err
	}
	value := new(uint256.Int)
	if msg.Value != nil {
		var overflow bool
		if value, overflow = uint256.FromBig(msg.Value); overflow || msg.Value.Sign() < 0 {
			return nil, errNegativeValue
		}
	}
	m := &core.Message{
		From: msg.From, To: msg.To, Nonce: st.GetNonce(msg.From), Value: value, GasLimit: gas,
		GasPrice: new(uint256.Int), GasFeeCap: new(uint256.Int), GasTipCap: new(uint256.Int),
		Data: msg.Data, AccessList: msg.AccessList,
	}
	m.SkipNonceCheck().SkipEOACheck()
	h := newHeader(at, max(c.nextTime(at), at.Time+1), nextBaseFee(at))
	evm := vm.NewEVM(c.blockContext(h), st, c.config, vm.Config{NoBaseFee: true})
	return core.ApplyMessage(evm, m, core.NewGasPool(gas))
}

// revertError is a call's revert as go-ethereum's RPC server reports it:
// "execution reverted" with the revert data as hex in ErrorData (an
// rpc.DataError), which the contract bindings decode.
type revertError struct{ data []byte }

func (e *revertError) Error() string { return "execution reverted" }

// ErrorCode is JSON-RPC's code for a revert.
func (e *revertError) ErrorCode() int { return 3 }

// ErrorData is the revert data, 0x-prefixed hex.
func (e *revertError) ErrorData() any { return "0x" + hex.EncodeToString(e.data) }

// resultErr is the error a failed execution reports: a *revertError for a
// revert, else the EVM's error.
func resultErr(res *core.ExecutionResult) error {
	if errors.Is(res.Err, vm.ErrExecutionReverted) {
		return &revertError{data: append([]byte(nil), res.Revert()...)}
	}
	return res.Err
}

// CallContract runs msg on the state after block number (nil: the head)
// and returns what it returned, or its revert as an rpc.DataError.
func (c *devChain) CallContract(ctx context.Context, msg ethereum.CallMsg, number *big.Int) ([]byte, error) {
	if err := c.lock(ctx); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	at, err := c.header(number)
	if err != nil {
		return nil, err
	}
	gas := msg.Gas
	if gas == 0 || gas > devGasLimit {
		gas = devGasLimit
	}
	res, err := c.simulate(at, msg, gas)
	if err != nil {
		return nil, err
	}
	if res.Failed() {
		return nil, resultErr(res)
	}
	return res.Return(), nil
}

// EstimateGas implements client: the least gas with which msg succeeds on
// the head's state (a binary search, as geth's), its revert as an
// rpc.DataError when it fails with all it may use (msg.Gas, or the block's
// limit).
func (c *devChain) EstimateGas(ctx context.Context, msg ethereum.CallMsg) (uint64, error) {
	if err := c.lock(ctx); err != nil {
		return 0, err
	}
	defer c.mu.Unlock()
	head := c.head()
	switch {
	case msg.To != nil && isSystemContract(*msg.To):
		return 0, fmt.Errorf("a call to the system contract %s, which the dev chain does not deploy, is %w", msg.To, errUnsupported)
	case msg.Value != nil && msg.Value.Sign() < 0:
		return 0, errNegativeValue
	}
	if msg.Value != nil {
		st, err := c.stateAt(head)
		if err != nil {
			return 0, err
		}
		if st.GetBalance(msg.From).ToBig().Cmp(msg.Value) < 0 {
			return 0, fmt.Errorf("%w: address %v", errInsufficientFundsForTransfer, msg.From.Hex())
		}
	}
	hi := uint64(devGasLimit)
	if msg.Gas != 0 && msg.Gas < hi {
		hi = msg.Gas
	}
	res, err := c.simulate(head, msg, hi)
	if err != nil {
		if msg.Gas != 0 && (errors.Is(err, core.ErrIntrinsicGas) || errors.Is(err, core.ErrFloorDataGas)) {
			return 0, fmt.Errorf("gas required exceeds allowance (%d)", msg.Gas)
		}
		return 0, err
	}
	if res.Failed() {
		if errors.Is(res.Err, vm.ErrExecutionReverted) {
			return 0, resultErr(res)
		}
		return 0, fmt.Errorf("gas required exceeds allowance (%d): %w", hi, res.Err)
	}
	return c.searchGas(head, msg, res.MaxUsedGas-1, hi)
}

// searchGas is the least gas in (lo, hi] with which msg succeeds, given
// that it succeeds with hi; it first tries a little above lo+1, which is
// nearly always enough (the 63/64 rule and the call stipend aside).
func (c *devChain) searchGas(head *types.Header, msg ethereum.CallMsg, lo, hi uint64) (uint64, error) {
	ok := func(gas uint64) bool {
		res, err := c.simulate(head, msg, gas)
		return err == nil && !res.Failed()
	}
	if guess := (lo + 1 + params.CallStipend) * 64 / 63; guess < hi && ok(guess) {
		hi = guess
	}
	for lo+1 < hi {
		mid := lo + (hi-lo)/2
		if ok(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, nil
}
