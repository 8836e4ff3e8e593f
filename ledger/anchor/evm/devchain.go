package evm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/holiman/uint256"
)

// The dev chain refuses transactions with these errors; their texts are
// geth's (core and core/txpool), so a caller reads the same refusal on the
// dev chain as on a real node.
var (
	errNonceTooLow                  = errors.New("nonce too low")
	errNonceTooHigh                 = errors.New("nonce too high")
	errIntrinsicGas                 = errors.New("intrinsic gas too low")
	errFloorDataGas                 = errors.New("insufficient gas for floor data gas cost")
	errFeeCapTooLow                 = errors.New("max fee per gas less than block base fee")
	errTipAboveFeeCap               = errors.New("max priority fee per gas higher than max fee per gas")
	errInsufficientFunds            = errors.New("insufficient funds for gas * price + value")
	errInsufficientFundsForTransfer = errors.New("insufficient funds for transfer")
	errInvalidSender                = errors.New("invalid sender")
	errGasLimit                     = errors.New("exceeds block gas limit")
	errOversizedData                = errors.New("oversized data")
	errNegativeValue                = errors.New("negative value")
	errUnprotected                  = errors.New("only replay-protected (EIP-155) transactions allowed over RPC")
	// errUnsupported: what a real chain runs but the dev chain does not
	// (blob and set-code transactions, calls to the system contracts).
	errUnsupported = errors.New("not supported by the dev chain")
	errDevClosed   = errors.New("dev chain closed")
)

const (
	devGasLimit = 30_000_000 // each block's gas limit, as anvil's
	maxTxSize   = 128 * 1024 // geth's pool limit on a transaction's encoding
)

// devTip is the tip SuggestGasTipCap suggests: 1 gwei, as anvil does.
var devTip = big.NewInt(params.GWei)

// devChain is a small in-process EVM chain that implements client, and
// (through DevChain) what go-ethereum's contract bindings need. It checks
// each transaction as a Prague node does (sender recovered with the chain's
// signer, nonce, intrinsic gas with the EIP-7623 floor, fees against the
// base fee, balance), then executes it with go-ethereum's EVM
// (core.ApplyMessage over core/state on an in-memory trie database):
// contract creation, calls into code, precompiles, logs and reverts as on a
// real node. It refuses what it does not model (blob and set-code
// transactions, calls to Prague's system contracts, which it does not
// deploy) with errUnsupported. Each accepted transaction is mined at once
// into its own block; base fees follow EIP-1559 from 1 gwei at genesis.
// Headers carry the real state, transactions and receipts roots. The
// beacon-root and block-hash system calls are not made. It is safe for
// concurrent use.
type devChain struct {
	chainID *big.Int
	signer  types.Signer
	config  *params.ChainConfig
	db      state.Database // every block's state stays readable (nothing is pruned)

	mu      sync.Mutex
	closed  bool
	blocks  []devBlock
	txs     map[common.Hash]uint64 // tx hash -> number of its block
	minTime uint64                 // the next block's earliest time (set by a reorg)
	skew    uint64                 // seconds added to the clock (AdjustTime)
}

// devBlock is a block of at most one transaction.
type devBlock struct {
	header  *types.Header
	tx      *types.Transaction // nil in an empty block
	receipt *types.Receipt
}

// newDevChain starts a chain with chain ID id whose genesis funds alloc.
func newDevChain(id uint64, alloc map[common.Address]*big.Int) (*devChain, error) {
	c := &devChain{
		chainID: new(big.Int).SetUint64(id),
		signer:  types.LatestSignerForChainID(new(big.Int).SetUint64(id)),
		config:  devConfig(new(big.Int).SetUint64(id)),
		db:      newMemoryStateDB(),
		txs:     map[common.Hash]uint64{},
	}
	genesis := newHeader(nil, uint64(time.Now().Unix()), big.NewInt(params.InitialBaseFee))
	st, err := state.New(types.EmptyRootHash, c.db)
	if err != nil {
		return nil, fmt.Errorf("dev chain genesis: %w", err)
	}
	for a, b := range alloc {
		bal, overflow := uint256.FromBig(b)
		if overflow || b.Sign() < 0 {
			return nil, fmt.Errorf("dev chain genesis: balance %s of %s out of range", b, a)
		}
		st.SetBalance(a, bal, tracing.BalanceIncreaseGenesisBalance)
	}
	if genesis.Root, err = st.Commit(c.rules(genesis), 0); err != nil {
		return nil, fmt.Errorf("dev chain genesis: %w", err)
	}
	c.blocks = []devBlock{{header: genesis}}
	return c, nil
}

// newHeader returns the header of an empty block after parent (nil for
// genesis), with Prague's fields: no withdrawals, blobs or requests.
func newHeader(parent *types.Header, t uint64, baseFee *big.Int) *types.Header {
	h := &types.Header{
		UncleHash: types.EmptyUncleHash, TxHash: types.EmptyTxsHash, ReceiptHash: types.EmptyReceiptsHash,
		Difficulty: new(big.Int), Number: new(big.Int), GasLimit: devGasLimit, Time: t, BaseFee: baseFee,
		WithdrawalsHash: new(types.EmptyWithdrawalsHash), BlobGasUsed: new(uint64), ExcessBlobGas: new(uint64),
		ParentBeaconRoot: new(common.Hash), RequestsHash: new(types.EmptyRequestsHash),
	}
	if parent != nil {
		h.ParentHash, h.Number = parent.Hash(), new(big.Int).Add(parent.Number, common.Big1)
	}
	return h
}

// nextBaseFee is the EIP-1559 base fee of the block after parent.
func nextBaseFee(parent *types.Header) *big.Int {
	target := parent.GasLimit / params.DefaultElasticityMultiplier
	fee := new(big.Int).Set(parent.BaseFee)
	if parent.GasUsed == target {
		return fee
	}
	d := new(big.Int)
	if parent.GasUsed > target {
		d.SetUint64(parent.GasUsed - target)
	} else {
		d.SetUint64(target - parent.GasUsed)
	}
	d.Mul(d, parent.BaseFee)
	d.Div(d, new(big.Int).SetUint64(target))
	d.Div(d, big.NewInt(params.DefaultBaseFeeChangeDenominator))
	if parent.GasUsed > target {
		return fee.Add(fee, bigMax(d, common.Big1))
	}
	return fee.Sub(fee, d) // d <= fee/8
}

func bigMax(a, b *big.Int) *big.Int {
	if a.Cmp(b) < 0 {
		return b
	}
	return a
}

// intrinsicGas is a call's gas before execution under Prague: the standard
// intrinsic gas and the EIP-7623 calldata floor. A call to an account
// without code uses max(std, floor).
func intrinsicGas(data []byte, al types.AccessList) (std, floor uint64) {
	z := uint64(bytes.Count(data, []byte{0}))
	nz := uint64(len(data)) - z
	std = params.TxGas + nz*params.TxDataNonZeroGasEIP2028 + z*params.TxDataZeroGas +
		uint64(len(al))*params.TxAccessListAddressGas + uint64(al.StorageKeys())*params.TxAccessListStorageKeyGas
	floor = params.TxGas + (z+nz*params.TxTokenPerNonZeroByte)*params.TxCostFloorPerToken
	return std, floor
}

// isSystemContract reports whether a is one of Prague's system contracts,
// which a real chain runs and the dev chain does not deploy: calls to them
// are refused rather than answered differently.
func isSystemContract(a common.Address) bool {
	switch a {
	case params.BeaconRootsAddress, params.HistoryStorageAddress, params.WithdrawalQueueAddress, params.ConsolidationQueueAddress:
		return true
	}
	return false
}

// lock locks the chain unless ctx is done or the chain closed.
func (c *devChain) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errDevClosed
	}
	return nil
}

func (c *devChain) head() *types.Header { return c.blocks[len(c.blocks)-1].header }

// check validates tx for the next block, whose base fee is baseFee, on the
// state st, as geth's pool and state transition do. It returns the sender.
func (c *devChain) check(st *state.StateDB, tx *types.Transaction, h *types.Header) (common.Address, error) {
	var from common.Address
	switch tx.Type() {
	case types.LegacyTxType, types.AccessListTxType, types.DynamicFeeTxType:
	default:
		return from, fmt.Errorf("%w: type %d (%w)", types.ErrTxTypeNotSupported, tx.Type(), errUnsupported)
	}
	switch {
	case tx.Type() == types.LegacyTxType && !tx.Protected():
		return from, errUnprotected
	case tx.Size() > maxTxSize:
		return from, errOversizedData
	case tx.To() != nil && isSystemContract(*tx.To()):
		return from, fmt.Errorf("a call to the system contract %s, which the dev chain does not deploy, is %w", tx.To(), errUnsupported)
	case tx.Value().Sign() < 0:
		return from, errNegativeValue
	case tx.Gas() > devGasLimit:
		return from, errGasLimit
	case tx.GasFeeCapIntCmp(tx.GasTipCap()) < 0:
		return from, errTipAboveFeeCap
	}
	from, err := types.Sender(c.signer, tx)
	if err != nil {
		return from, fmt.Errorf("%w: %v", errInvalidSender, err)
	}
	std, floor, err := c.txIntrinsicGas(tx, from, h)
	if err != nil {
		return from, err
	}
	if tx.Gas() < std {
		return from, fmt.Errorf("%w: gas %v, minimum needed %v", errIntrinsicGas, tx.Gas(), std)
	}
	if tx.Gas() < floor {
		return from, fmt.Errorf("%w: gas %v, minimum needed %v", errFloorDataGas, tx.Gas(), floor)
	}
	if next := st.GetNonce(from); tx.Nonce() < next {
		return from, fmt.Errorf("%w: next nonce %v, tx nonce %v", errNonceTooLow, next, tx.Nonce())
	} else if tx.Nonce() > next {
		return from, fmt.Errorf("%w: next nonce %v, tx nonce %v", errNonceTooHigh, next, tx.Nonce())
	}
	if tx.GasFeeCapIntCmp(h.BaseFee) < 0 {
		return from, fmt.Errorf("%w: address %v, maxFeePerGas: %s, baseFee: %s", errFeeCapTooLow, from.Hex(), tx.GasFeeCap(), h.BaseFee)
	}
	bal := st.GetBalance(from).ToBig()
	if cost := tx.Cost(); bal.Cmp(cost) < 0 {
		return from, fmt.Errorf("%w: balance %v, tx cost %v, overshot %v", errInsufficientFunds, bal, cost, new(big.Int).Sub(cost, bal))
	}
	return from, nil
}

// txIntrinsicGas is tx's intrinsic gas and EIP-7623 floor: intrinsicGas's
// for a call, go-ethereum's (with the creation and init-code costs) for a
// contract creation.
func (c *devChain) txIntrinsicGas(tx *types.Transaction, from common.Address, h *types.Header) (std, floor uint64, err error) {
	if tx.To() != nil {
		std, floor = intrinsicGas(tx.Data(), tx.AccessList())
		return std, floor, nil
	}
	value, _ := uint256.FromBig(tx.Value()) // checked non-negative; Cost bounds it by the balance later
	rules := c.rules(h)
	if std, err = core.IntrinsicGas(tx.Data(), tx.AccessList(), nil, from, nil, value, rules); err != nil {
		return 0, 0, fmt.Errorf("%w: %v", errIntrinsicGas, err)
	}
	if floor, err = core.FloorDataGas(rules, from, nil, value, tx.Data(), tx.AccessList()); err != nil {
		return 0, 0, fmt.Errorf("%w: %v", errFloorDataGas, err)
	}
	return std, floor, nil
}

// mine checks tx, executes it on the head's state and mines it into a new
// block. A transaction the EVM refuses to start (not one that reverts,
// which is mined with status 0) changes nothing.
func (c *devChain) mine(tx *types.Transaction) error {
	parent := c.head()
	h := newHeader(parent, c.nextTime(parent), nextBaseFee(parent))
	st, err := c.stateAt(parent)
	if err != nil {
		return err
	}
	if _, err := c.check(st, tx, h); err != nil {
		return err
	}
	msg, err := core.TransactionToMessage(tx, c.signer, h.BaseFee)
	if err != nil {
		return fmt.Errorf("%w: %v", errInvalidSender, err)
	}
	st.SetTxContext(tx.Hash(), 0, 1)
	evm := vm.NewEVM(c.blockContext(h), st, c.config, vm.Config{})
	res, err := core.ApplyMessage(evm, msg, core.NewGasPool(h.GasLimit))
	if err != nil {
		return err
	}
	r := &types.Receipt{Type: tx.Type(), Status: types.ReceiptStatusSuccessful, CumulativeGasUsed: res.UsedGas}
	if res.Failed() {
		r.Status = types.ReceiptStatusFailed
	}
	if tx.To() == nil {
		r.ContractAddress = crypto.CreateAddress(msg.From, tx.Nonce())
	}
	r.Logs = st.GetLogs(tx.Hash(), h.Number.Uint64(), common.Hash{}, h.Time)
	r.Bloom = types.CreateBloom(r)
	if h.Root, err = st.Commit(c.rules(h), h.Number.Uint64()); err != nil {
		return fmt.Errorf("dev chain: commit block %d: %w", h.Number, err)
	}
	txEnc, err := tx.MarshalBinary()
	if err != nil {
		return err
	}
	rEnc, err := r.MarshalBinary()
	if err != nil {
		return err
	}
	h.GasUsed, h.Bloom = res.UsedGas, r.Bloom
	h.TxHash, h.ReceiptHash = oneItemRoot(txEnc), oneItemRoot(rEnc)
	r.TxHash, r.GasUsed, r.EffectiveGasPrice = tx.Hash(), res.UsedGas, msg.GasPrice.ToBig()
	r.BlockHash, r.BlockNumber, r.TransactionIndex = h.Hash(), new(big.Int).Set(h.Number), 0
	for _, l := range r.Logs {
		l.BlockHash = r.BlockHash
	}
	c.blocks = append(c.blocks, devBlock{header: h, tx: tx, receipt: r})
	c.txs[tx.Hash()] = h.Number.Uint64()
	return nil
}

// seal mines an empty block on the head's state (root), changed by edit
// when not nil.
func (c *devChain) seal(edit func(*state.StateDB)) error {
	parent := c.head()
	h := newHeader(parent, c.nextTime(parent), nextBaseFee(parent))
	h.Root = parent.Root
	if edit != nil {
		st, err := c.stateAt(parent)
		if err != nil {
			return err
		}
		edit(st)
		if h.Root, err = st.Commit(c.rules(h), h.Number.Uint64()); err != nil {
			return fmt.Errorf("dev chain: commit block %d: %w", h.Number, err)
		}
	}
	c.blocks = append(c.blocks, devBlock{header: h})
	return nil
}

// nextTime is the time of the block after parent: now (plus the skew
// AdjustTime added), but later than parent and no earlier than minTime.
func (c *devChain) nextTime(parent *types.Header) uint64 {
	return max(uint64(time.Now().Unix())+c.skew, parent.Time+1, c.minTime)
}

// oneItemRoot is the root of the Merkle-Patricia trie of a block's list of
// one item, encoded enc (types.DeriveSha of that list): the hash of a single
// leaf whose key is rlp(0) = 0x80, hex-prefixed as an even-length leaf path.
func oneItemRoot(enc []byte) common.Hash {
	node, _ := rlp.EncodeToBytes([][]byte{{0x20, 0x80}, enc})
	return crypto.Keccak256Hash(node)
}

// commit mines an empty block.
func (c *devChain) commit() error {
	if err := c.lock(context.Background()); err != nil {
		return err
	}
	defer c.mu.Unlock()
	return c.seal(nil)
}

// reorg replaces the last depth blocks with depth+1 new ones, later than the
// old head: with keepTxs their transactions are mined again (each in its own
// block, while still valid), the rest are empty; without, the transactions
// are gone. The state goes back with the blocks: each block keeps its root.
func (c *devChain) reorg(ctx context.Context, depth uint64, keepTxs bool) error {
	if err := c.lock(ctx); err != nil {
		return err
	}
	defer c.mu.Unlock()
	head := c.head().Number.Uint64()
	if depth == 0 || depth > head {
		return fmt.Errorf("reorg depth %d of a chain of %d blocks", depth, head)
	}
	c.minTime = c.head().Time + 1
	var kept []*types.Transaction
	for range depth {
		b := c.blocks[len(c.blocks)-1]
		if b.tx != nil {
			delete(c.txs, b.tx.Hash())
			kept = append(kept, b.tx)
		}
		c.blocks = c.blocks[:len(c.blocks)-1]
	}
	mined := uint64(0)
	if keepTxs {
		for _, tx := range slices.Backward(kept) {
			if c.mine(tx) == nil {
				mined++
			}
		}
	}
	for ; mined < depth+1; mined++ {
		if err := c.seal(nil); err != nil {
			return err
		}
	}
	return nil
}

// close stops the chain: every later call fails.
func (c *devChain) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

// ChainID implements client.
func (c *devChain) ChainID(ctx context.Context) (*big.Int, error) {
	if err := c.lock(ctx); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	return new(big.Int).Set(c.chainID), nil
}

// BlockNumber implements client: the head's number.
func (c *devChain) BlockNumber(ctx context.Context) (uint64, error) {
	if err := c.lock(ctx); err != nil {
		return 0, err
	}
	defer c.mu.Unlock()
	return c.head().Number.Uint64(), nil
}

// HeaderByNumber implements client: nil or a negative number (ethclient's
// latest, pending, safe, finalized) is the head; past the head is
// ethereum.NotFound.
func (c *devChain) HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error) {
	if err := c.lock(ctx); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if number == nil || number.Sign() < 0 {
		return types.CopyHeader(c.head()), nil
	}
	if !number.IsUint64() || number.Uint64() >= uint64(len(c.blocks)) {
		return nil, ethereum.NotFound
	}
	return types.CopyHeader(c.blocks[number.Uint64()].header), nil
}

// PendingNonceAt implements client: every accepted transaction is mined, so
// this is the account's next nonce.
func (c *devChain) PendingNonceAt(ctx context.Context, a common.Address) (uint64, error) {
	if err := c.lock(ctx); err != nil {
		return 0, err
	}
	defer c.mu.Unlock()
	st, err := c.stateAt(c.head())
	if err != nil {
		return 0, err
	}
	return st.GetNonce(a), nil
}

// SuggestGasPrice implements client: the head's base fee plus the tip.
func (c *devChain) SuggestGasPrice(ctx context.Context) (*big.Int, error) {
	if err := c.lock(ctx); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	return new(big.Int).Add(c.head().BaseFee, devTip), nil
}

// SuggestGasTipCap implements client: 1 gwei.
func (c *devChain) SuggestGasTipCap(ctx context.Context) (*big.Int, error) {
	if err := c.lock(ctx); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	return new(big.Int).Set(devTip), nil
}

// SendTransaction implements client: it checks tx and mines it into a new
// block, or returns why not.
func (c *devChain) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	if err := c.lock(ctx); err != nil {
		return err
	}
	defer c.mu.Unlock()
	return c.mine(tx)
}

// TransactionByHash implements client: a known transaction is always mined
// (pending false); an unknown one is ethereum.NotFound.
func (c *devChain) TransactionByHash(ctx context.Context, h common.Hash) (*types.Transaction, bool, error) {
	if err := c.lock(ctx); err != nil {
		return nil, false, err
	}
	defer c.mu.Unlock()
	n, ok := c.txs[h]
	if !ok {
		return nil, false, ethereum.NotFound
	}
	return c.blocks[n].tx, false, nil
}

// TransactionReceipt implements client: an unknown transaction's receipt is
// ethereum.NotFound.
func (c *devChain) TransactionReceipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	if err := c.lock(ctx); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	n, ok := c.txs[h]
	if !ok {
		return nil, ethereum.NotFound
	}
	r := *c.blocks[n].receipt
	r.BlockNumber = new(big.Int).Set(r.BlockNumber)
	r.EffectiveGasPrice = new(big.Int).Set(r.EffectiveGasPrice)
	r.Logs = make([]*types.Log, len(r.Logs))
	for i, l := range c.blocks[n].receipt.Logs {
		cp := *l
		r.Logs[i] = &cp
	}
	return &r, nil
}

var _ client = (*devChain)(nil)
