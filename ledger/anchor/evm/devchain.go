package evm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"
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
	// (contract creation, calls to code, blob and set-code transactions).
	errUnsupported = errors.New("not supported by the dev chain")
	errDevClosed   = errors.New("dev chain closed")
)

const (
	devGasLimit = 30_000_000 // each block's gas limit, as anvil's
	maxTxSize   = 128 * 1024 // geth's pool limit on a transaction's encoding
)

// devTip is the tip SuggestGasTipCap suggests: 1 gwei, as anvil does.
var devTip = big.NewInt(params.GWei)

// devChain is a small in-process EVM chain that implements client for the
// transactions an anchor sends: value transfers with calldata between
// accounts without code. It checks each transaction as a Prague node does
// (sender recovered with the chain's signer, nonce, intrinsic gas with the
// EIP-7623 floor, fees against the base fee, balance) and refuses what it
// does not model with errUnsupported. Each accepted transaction is mined at
// once into its own block; base fees follow EIP-1559 from 1 gwei at genesis.
//
// It runs no EVM code, so a transaction's gas is its intrinsic gas (or the
// calldata floor); it keeps no state trie, so a header's Root is a Keccak
// digest of the accounts rather than a Merkle-Patricia root (the
// transactions and receipts roots are real). It is safe for concurrent use.
type devChain struct {
	chainID *big.Int
	signer  types.Signer

	mu      sync.Mutex
	closed  bool
	blocks  []devBlock
	txs     map[common.Hash]uint64 // tx hash -> number of its block
	state   map[common.Address]account
	minTime uint64 // the next block's earliest time (set by a reorg)
}

// account is an account's state. Its balance is never changed in place.
type account struct {
	nonce   uint64
	balance *big.Int // nil is zero
}

// devBlock is a block of at most one transaction, with what undoes it.
type devBlock struct {
	header  *types.Header
	tx      *types.Transaction // nil in an empty block
	receipt *types.Receipt
	undo    map[common.Address]account // the accounts it changed, as they were before
}

// newDevChain starts a chain with chain ID id whose genesis funds alloc.
func newDevChain(id uint64, alloc map[common.Address]*big.Int) *devChain {
	c := &devChain{
		chainID: new(big.Int).SetUint64(id),
		signer:  types.LatestSignerForChainID(new(big.Int).SetUint64(id)),
		txs:     map[common.Hash]uint64{},
		state:   map[common.Address]account{},
	}
	for a, b := range alloc {
		c.state[a] = account{balance: new(big.Int).Set(b)}
	}
	genesis := newHeader(nil, uint64(time.Now().Unix()), big.NewInt(params.InitialBaseFee))
	genesis.Root = c.stateDigest()
	c.blocks = []devBlock{{header: genesis}}
	return c
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

// hasCode reports whether a real chain runs code at a: the precompiles
// (0x01-0x11, and P256VERIFY at 0x100) and Prague's system contracts. The
// dev chain runs none, so it refuses calls to them.
func hasCode(a common.Address) bool {
	switch a {
	case params.BeaconRootsAddress, params.HistoryStorageAddress, params.WithdrawalQueueAddress, params.ConsolidationQueueAddress:
		return true
	}
	if !bytes.Equal(a[:18], make([]byte, 18)) {
		return false
	}
	n := uint16(a[18])<<8 | uint16(a[19])
	return n >= 1 && n <= 0x11 || n == 0x100
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

// check validates tx for the next block, whose base fee is baseFee, as
// geth's pool and state transition do. It returns the sender and the gas
// the transaction uses.
func (c *devChain) check(tx *types.Transaction, baseFee *big.Int) (common.Address, uint64, error) {
	var from common.Address
	switch tx.Type() {
	case types.LegacyTxType, types.AccessListTxType, types.DynamicFeeTxType:
	default:
		return from, 0, fmt.Errorf("%w: type %d (%w)", types.ErrTxTypeNotSupported, tx.Type(), errUnsupported)
	}
	switch {
	case tx.Type() == types.LegacyTxType && !tx.Protected():
		return from, 0, errUnprotected
	case tx.Size() > maxTxSize:
		return from, 0, errOversizedData
	case tx.To() == nil:
		return from, 0, fmt.Errorf("contract creation %w", errUnsupported)
	case hasCode(*tx.To()):
		return from, 0, fmt.Errorf("a call to %s, which has code on a real chain, is %w", tx.To(), errUnsupported)
	case tx.Value().Sign() < 0:
		return from, 0, errNegativeValue
	case tx.Gas() > devGasLimit:
		return from, 0, errGasLimit
	case tx.GasFeeCapIntCmp(tx.GasTipCap()) < 0:
		return from, 0, errTipAboveFeeCap
	}
	from, err := types.Sender(c.signer, tx)
	if err != nil {
		return from, 0, fmt.Errorf("%w: %v", errInvalidSender, err)
	}
	std, floor := intrinsicGas(tx.Data(), tx.AccessList())
	if tx.Gas() < std {
		return from, 0, fmt.Errorf("%w: gas %v, minimum needed %v", errIntrinsicGas, tx.Gas(), std)
	}
	if tx.Gas() < floor {
		return from, 0, fmt.Errorf("%w: gas %v, minimum needed %v", errFloorDataGas, tx.Gas(), floor)
	}
	acc := c.state[from]
	if tx.Nonce() < acc.nonce {
		return from, 0, fmt.Errorf("%w: next nonce %v, tx nonce %v", errNonceTooLow, acc.nonce, tx.Nonce())
	}
	if tx.Nonce() > acc.nonce {
		return from, 0, fmt.Errorf("%w: next nonce %v, tx nonce %v", errNonceTooHigh, acc.nonce, tx.Nonce())
	}
	if tx.GasFeeCapIntCmp(baseFee) < 0 {
		return from, 0, fmt.Errorf("%w: address %v, maxFeePerGas: %s, baseFee: %s", errFeeCapTooLow, from.Hex(), tx.GasFeeCap(), baseFee)
	}
	bal := balanceOf(acc)
	if cost := tx.Cost(); bal.Cmp(cost) < 0 {
		return from, 0, fmt.Errorf("%w: balance %v, tx cost %v, overshot %v", errInsufficientFunds, bal, cost, new(big.Int).Sub(cost, bal))
	}
	return from, max(std, floor), nil
}

func balanceOf(a account) *big.Int {
	if a.balance == nil {
		return new(big.Int)
	}
	return a.balance
}

// mine checks tx and mines it into a new block.
func (c *devChain) mine(tx *types.Transaction) error {
	parent := c.head()
	baseFee := nextBaseFee(parent)
	from, gas, err := c.check(tx, baseFee)
	if err != nil {
		return err
	}
	price := new(big.Int).Add(baseFee, tx.GasTipCap())
	if tx.GasFeeCapIntCmp(price) < 0 {
		price.Set(tx.GasFeeCap())
	}
	r := &types.Receipt{Type: tx.Type(), Status: types.ReceiptStatusSuccessful, CumulativeGasUsed: gas, Logs: []*types.Log{}}
	r.Bloom = types.CreateBloom(r)
	txEnc, err := tx.MarshalBinary()
	if err != nil {
		return err
	}
	rEnc, err := r.MarshalBinary()
	if err != nil {
		return err
	}

	used := new(big.Int).SetUint64(gas)
	undo := map[common.Address]account{}
	c.add(undo, from, new(big.Int).Neg(new(big.Int).Add(new(big.Int).Mul(used, price), tx.Value())), 1)
	c.add(undo, *tx.To(), tx.Value(), 0)
	c.add(undo, common.Address{}, new(big.Int).Mul(used, new(big.Int).Sub(price, baseFee)), 0) // the tip, to the coinbase; the base fee is burnt

	h := newHeader(parent, c.nextTime(parent), baseFee)
	h.GasUsed, h.Root, h.Bloom = gas, c.stateDigest(), r.Bloom
	h.TxHash, h.ReceiptHash = oneItemRoot(txEnc), oneItemRoot(rEnc)
	r.TxHash, r.GasUsed, r.EffectiveGasPrice = tx.Hash(), gas, price
	r.BlockHash, r.BlockNumber, r.TransactionIndex = h.Hash(), new(big.Int).Set(h.Number), 0
	c.blocks = append(c.blocks, devBlock{header: h, tx: tx, receipt: r, undo: undo})
	c.txs[tx.Hash()] = h.Number.Uint64()
	return nil
}

// add adds delta to a's balance and bump to its nonce, noting a's state
// before the block in undo.
func (c *devChain) add(undo map[common.Address]account, a common.Address, delta *big.Int, bump uint64) {
	old := c.state[a]
	if _, ok := undo[a]; !ok {
		undo[a] = old
	}
	c.state[a] = account{nonce: old.nonce + bump, balance: new(big.Int).Add(balanceOf(old), delta)}
}

// seal mines an empty block.
func (c *devChain) seal() {
	parent := c.head()
	h := newHeader(parent, c.nextTime(parent), nextBaseFee(parent))
	h.Root = c.stateDigest()
	c.blocks = append(c.blocks, devBlock{header: h})
}

// nextTime is the time of the block after parent: now, but later than
// parent and no earlier than minTime.
func (c *devChain) nextTime(parent *types.Header) uint64 {
	return max(uint64(time.Now().Unix()), parent.Time+1, c.minTime)
}

// stateDigest is the Keccak hash of the accounts, sorted by address: a
// commitment to the state, not a Merkle-Patricia root.
func (c *devChain) stateDigest() common.Hash {
	type entry struct {
		Addr    common.Address
		Nonce   uint64
		Balance *big.Int
	}
	var list []entry
	for _, a := range slices.SortedFunc(maps.Keys(c.state), common.Address.Cmp) {
		list = append(list, entry{a, c.state[a].nonce, balanceOf(c.state[a])})
	}
	enc, _ := rlp.EncodeToBytes(list) // balances are never negative
	return crypto.Keccak256Hash(enc)
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
	c.seal()
	return nil
}

// reorg replaces the last depth blocks with depth+1 new ones, later than the
// old head: with keepTxs their transactions are mined again (each in its own
// block, while still valid), the rest are empty; without, the transactions
// are gone.
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
		maps.Copy(c.state, b.undo)
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
		c.seal()
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
	return c.state[a].nonce, nil
}

// EstimateGas implements client: the gas msg would use, which for a call to
// an account without code is its intrinsic gas or the calldata floor.
func (c *devChain) EstimateGas(ctx context.Context, msg ethereum.CallMsg) (uint64, error) {
	if err := c.lock(ctx); err != nil {
		return 0, err
	}
	defer c.mu.Unlock()
	switch {
	case msg.To == nil:
		return 0, fmt.Errorf("contract creation %w", errUnsupported)
	case hasCode(*msg.To):
		return 0, fmt.Errorf("a call to %s, which has code on a real chain, is %w", msg.To, errUnsupported)
	case msg.Value != nil && balanceOf(c.state[msg.From]).Cmp(msg.Value) < 0:
		return 0, fmt.Errorf("%w: address %v", errInsufficientFundsForTransfer, msg.From.Hex())
	}
	std, floor := intrinsicGas(msg.Data, msg.AccessList)
	gas := max(std, floor)
	if msg.Gas != 0 && msg.Gas < gas {
		return 0, fmt.Errorf("gas required exceeds allowance (%d)", msg.Gas)
	}
	return gas, nil
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
	r.Logs = []*types.Log{}
	return &r, nil
}

var _ client = (*devChain)(nil)
