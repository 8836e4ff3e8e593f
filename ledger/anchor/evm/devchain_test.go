package evm

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/trie"

	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/ledger/anchor/evm/evmtest"
)

// tenEther is what test accounts start with.
var tenEther = new(big.Int).Mul(big.NewInt(10), big.NewInt(params.Ether))

// anchorData is an anchor's calldata: 83 bytes, 7 of them zero (the size's
// high bytes) when the hashes have none.
var anchorData = anchor.Commitment{Size: 8, Root: [32]byte(bytes.Repeat([]byte{0xab}, 32)), Log: [32]byte(bytes.Repeat([]byte{0xcd}, 32))}.Encode()

// newDev starts a dev chain with n accounts holding ten ether each.
func newDev(t *testing.T, n int) (*devChain, []*ecdsa.PrivateKey) {
	t.Helper()
	alloc := map[common.Address]*big.Int{}
	var keys []*ecdsa.PrivateKey
	for range n {
		k, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
		alloc[crypto.PubkeyToAddress(k.PublicKey)] = tenEther
	}
	c, err := newDevChain(SimulatedChainID, alloc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.close() })
	return c, keys
}

func balanceAt(c *devChain, a common.Address) *big.Int {
	b, err := (&DevChain{c: c}).BalanceAt(context.Background(), a, nil)
	if err != nil {
		panic(err)
	}
	return b
}

// txEnv is what a transaction is built from, as a chain reports it.
type txEnv struct {
	id      *big.Int          // the chain's ID
	key     *ecdsa.PrivateKey // a funded account's key
	nonce   uint64            // its next nonce
	baseFee *big.Int          // the head's base fee
}

func envOf(t *testing.T, c client, key *ecdsa.PrivateKey) txEnv {
	t.Helper()
	ctx := context.Background()
	id, err := c.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nonce, err := c.PendingNonceAt(ctx, crypto.PubkeyToAddress(key.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	head, err := c.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return txEnv{id: id, key: key, nonce: nonce, baseFee: head.BaseFee}
}

func (e txEnv) from() common.Address { return crypto.PubkeyToAddress(e.key.PublicKey) }

// feeCap is what EVM.Send offers: twice the base fee plus the tip.
func (e txEnv) feeCap() *big.Int {
	return new(big.Int).Add(new(big.Int).Mul(e.baseFee, common.Big2), devTip)
}

func (e txEnv) sign(t *testing.T, txdata types.TxData) *types.Transaction {
	t.Helper()
	tx, err := types.SignNewTx(e.key, types.LatestSignerForChainID(e.id), txdata)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// call is an EIP-1559 transaction to the sender itself, as an anchor is.
func (e txEnv) call(data []byte, gas uint64) *types.DynamicFeeTx {
	to := e.from()
	return &types.DynamicFeeTx{ChainID: e.id, Nonce: e.nonce, GasTipCap: devTip, GasFeeCap: e.feeCap(), Gas: gas, To: &to, Value: new(big.Int), Data: data}
}

// txCase is a transaction and what the dev chain does with it: the gas it
// uses, or the error it refuses it with. Cases marked devOnly are ones a
// real node answers differently (the reason is in note).
type txCase struct {
	name    string
	build   func(t *testing.T, e txEnv) *types.Transaction
	gas     uint64 // used, when accepted
	want    error  // the refusal, or nil
	devOnly string // why a real node differs, if it does
}

func txCases() []txCase {
	zeros := make([]byte, 200)
	al := types.AccessList{{Address: common.HexToAddress("0x1234"), StorageKeys: []common.Hash{{1}, {2}}}}
	other := common.HexToAddress("0x00000000000000000000000000000000000beef1")
	return []txCase{
		// 7 zero and 76 non-zero bytes: the EIP-7623 floor, 21000 + 10*(7+4*76).
		{name: "anchor", gas: 24110, build: func(t *testing.T, e txEnv) *types.Transaction {
			return e.sign(t, e.call(anchorData, 24110))
		}},
		{name: "gas limit above use", gas: 24110, build: func(t *testing.T, e txEnv) *types.Transaction {
			return e.sign(t, e.call(anchorData, 100_000))
		}},
		// Standard 21000+4*200 = 21800, floor 21000+10*200 = 23000.
		{name: "zero calldata", gas: 23000, build: func(t *testing.T, e txEnv) *types.Transaction {
			return e.sign(t, e.call(zeros, 23000))
		}},
		// Standard 21000 + 16*76 + 4*7 + 2400 + 2*1900 = 28444 over the floor 24110.
		{name: "access list", gas: 28444, build: func(t *testing.T, e txEnv) *types.Transaction {
			to := e.from()
			return e.sign(t, &types.AccessListTx{ChainID: e.id, Nonce: e.nonce, GasPrice: e.feeCap(), Gas: 28444, To: &to, Value: new(big.Int), Data: anchorData, AccessList: al})
		}},
		{name: "legacy EIP-155", gas: 24110, build: func(t *testing.T, e txEnv) *types.Transaction {
			to := e.from()
			return e.sign(t, &types.LegacyTx{Nonce: e.nonce, GasPrice: e.feeCap(), Gas: 24110, To: &to, Value: new(big.Int), Data: anchorData})
		}},
		{name: "value to another account", gas: 21000, build: func(t *testing.T, e txEnv) *types.Transaction {
			d := e.call(nil, 21000)
			d.To, d.Value = &other, big.NewInt(1)
			return e.sign(t, d)
		}},
		{name: "wrong chain id", want: errInvalidSender, build: func(t *testing.T, e txEnv) *types.Transaction {
			e.id = new(big.Int).Add(e.id, common.Big1)
			return e.sign(t, e.call(anchorData, 24110))
		}},
		{name: "high-s signature", want: errInvalidSender, devOnly: "anvil mines it (the same sender recovers); geth refuses it (EIP-2)", build: func(t *testing.T, e txEnv) *types.Transaction {
			tx := e.sign(t, e.call(anchorData, 24110))
			v, r, s := tx.RawSignatureValues()
			// The same point with the other s: valid before EIP-2.
			return withSig(t, e, tx, r, new(big.Int).Sub(crypto.S256().Params().N, s), new(big.Int).Xor(v, common.Big1))
		}},
		{name: "signature of another tx", want: errInsufficientFunds, build: func(t *testing.T, e txEnv) *types.Transaction {
			// It recovers to some other account, which has nothing (and
			// whose next nonce is 0).
			e.nonce = 0
			v, r, s := e.sign(t, e.call([]byte("other"), 24110)).RawSignatureValues()
			return withSig(t, e, e.sign(t, e.call(anchorData, 24110)), r, s, v)
		}},
		{name: "zero r", want: errInvalidSender, build: func(t *testing.T, e txEnv) *types.Transaction {
			tx := e.sign(t, e.call(anchorData, 24110))
			v, _, s := tx.RawSignatureValues()
			return withSig(t, e, tx, new(big.Int), s, v)
		}},
		{name: "replayed nonce", want: errNonceTooLow, build: func(t *testing.T, e txEnv) *types.Transaction {
			e.nonce--
			return e.sign(t, e.call(anchorData, 24110))
		}},
		{name: "gas below intrinsic", want: errIntrinsicGas, build: func(t *testing.T, e txEnv) *types.Transaction {
			return e.sign(t, e.call(anchorData, 21000+16*76+4*7-1))
		}},
		{name: "gas below the calldata floor", want: errFloorDataGas, build: func(t *testing.T, e txEnv) *types.Transaction {
			return e.sign(t, e.call(anchorData, 24109))
		}},
		{name: "fee cap below base fee", want: errFeeCapTooLow, build: func(t *testing.T, e txEnv) *types.Transaction {
			d := e.call(anchorData, 24110)
			d.GasFeeCap, d.GasTipCap = big.NewInt(1), big.NewInt(1)
			return e.sign(t, d)
		}},
		{name: "tip above fee cap", want: errTipAboveFeeCap, build: func(t *testing.T, e txEnv) *types.Transaction {
			d := e.call(anchorData, 24110)
			d.GasTipCap = new(big.Int).Add(d.GasFeeCap, common.Big1)
			return e.sign(t, d)
		}},
		{name: "unfunded sender", want: errInsufficientFunds, build: func(t *testing.T, e txEnv) *types.Transaction {
			k, err := crypto.GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			e.key, e.nonce = k, 0
			return e.sign(t, e.call(anchorData, 24110))
		}},
		{name: "gas above the block's limit", want: errGasLimit, build: func(t *testing.T, e txEnv) *types.Transaction {
			return e.sign(t, e.call(anchorData, devGasLimit+1))
		}},
		{name: "nonce too high", want: errNonceTooHigh, devOnly: "a node queues it until the gap fills", build: func(t *testing.T, e txEnv) *types.Transaction {
			e.nonce++
			return e.sign(t, e.call(anchorData, 24110))
		}},
		{name: "unprotected legacy", want: errUnprotected, devOnly: "anvil accepts it; geth refuses it over RPC", build: func(t *testing.T, e txEnv) *types.Transaction {
			to := e.from()
			tx, err := types.SignNewTx(e.key, types.HomesteadSigner{}, &types.LegacyTx{Nonce: e.nonce, GasPrice: e.feeCap(), Gas: 24110, To: &to, Value: new(big.Int), Data: anchorData})
			if err != nil {
				t.Fatal(err)
			}
			return tx
		}},
		// 53000 + 4 (one zero byte of init code) + 2 (one word of init
		// code, EIP-3860); the init code STOPs, so nothing more.
		{name: "contract creation", gas: 53006, build: func(t *testing.T, e txEnv) *types.Transaction {
			d := e.call([]byte{0x00}, 100_000)
			d.To = nil
			return e.sign(t, d)
		}},
		// The anchor's floor; SHA-256 of 83 bytes (60 + 12*3 = 96) runs
		// within the standard gas, which stays under the floor.
		{name: "call to a precompile", gas: 24110, build: func(t *testing.T, e txEnv) *types.Transaction {
			d := e.call(anchorData, 100_000)
			d.To = &common.Address{19: 2} // SHA-256
			return e.sign(t, d)
		}},
		{name: "call to a system contract", want: errUnsupported, devOnly: "the dev chain does not deploy Prague's system contracts", build: func(t *testing.T, e txEnv) *types.Transaction {
			d := e.call(anchorData, 100_000)
			to := params.HistoryStorageAddress
			d.To = &to
			return e.sign(t, d)
		}},
		{name: "set-code transaction", want: errUnsupported, devOnly: "a node applies the delegation", build: func(t *testing.T, e txEnv) *types.Transaction {
			// Built from JSON: its fields are uint256s, a module this one does not require.
			js := fmt.Sprintf(`{"type":"0x4","chainId":"0x%x","nonce":"0x%x","maxPriorityFeePerGas":"0x1","maxFeePerGas":"0x%x","gas":"0x186a0","to":"%s","value":"0x0","input":"0x","accessList":[],
				"authorizationList":[{"chainId":"0x0","address":"%[4]s","nonce":"0x0","yParity":"0x0","r":"0x1","s":"0x1"}],"v":"0x0","r":"0x0","s":"0x0"}`, e.id, e.nonce, e.feeCap(), e.from())
			tx := new(types.Transaction)
			if err := tx.UnmarshalJSON([]byte(js)); err != nil {
				t.Fatal(err)
			}
			tx, err := types.SignTx(tx, types.LatestSignerForChainID(e.id), e.key)
			if err != nil {
				t.Fatal(err)
			}
			return tx
		}},
	}
}

// withSig is tx with the signature r, s, v (v the y parity).
func withSig(t *testing.T, e txEnv, tx *types.Transaction, r, s, v *big.Int) *types.Transaction {
	t.Helper()
	sig := make([]byte, 65)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:64])
	sig[64] = byte(v.Uint64())
	tx, err := tx.WithSignature(types.LatestSignerForChainID(e.id), sig)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// TestDevChainChecksLikeANode sends each case to a dev chain: accepted ones
// use the gas they should, refused ones are refused with geth's error and
// change nothing.
func TestDevChainChecksLikeANode(t *testing.T) {
	c, keys := newDev(t, 1)
	ctx := context.Background()
	for _, tc := range txCases() {
		e := envOf(t, c, keys[0])
		head, _ := c.BlockNumber(ctx)
		bal := balanceAt(c, e.from())
		tx := tc.build(t, e)
		err := c.SendTransaction(ctx, tx)
		if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("%s: SendTransaction = %v, want %v", tc.name, err, tc.want)
			continue
		}
		after, _ := c.BlockNumber(ctx)
		if err != nil {
			t.Logf("%s: %v", tc.name, err)
			if _, _, err := c.TransactionByHash(ctx, tx.Hash()); err != ethereum.NotFound {
				t.Errorf("%s: a refused tx is looked up with %v, want ethereum.NotFound", tc.name, err)
			}
			if n, _ := c.PendingNonceAt(ctx, e.from()); after != head || n != e.nonce || balanceAt(c, e.from()).Cmp(bal) != 0 {
				t.Errorf("%s: refused, yet the chain moved to block %d from %d, nonce %d from %d", tc.name, after, head, n, e.nonce)
			}
			continue
		}
		r, err := c.TransactionReceipt(ctx, tx.Hash())
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if after != head+1 || r.GasUsed != tc.gas {
			t.Errorf("%s: block %d after %d, gas used %d, want %d", tc.name, after, head, r.GasUsed, tc.gas)
		}
		if est, err := c.EstimateGas(ctx, ethereum.CallMsg{From: e.from(), To: tx.To(), Data: tx.Data(), Value: tx.Value(), AccessList: tx.AccessList()}); err != nil || est != tc.gas {
			t.Errorf("%s: EstimateGas = %d, %v, want %d", tc.name, est, err, tc.gas)
		}
	}
}

// TestDevChainBlocks checks the block and receipt of an accepted
// transaction and the accounts it changed.
func TestDevChainBlocks(t *testing.T) {
	c, keys := newDev(t, 1)
	ctx := context.Background()
	c.commit() // a block before, so that the base fee has moved
	e := envOf(t, c, keys[0])
	parent, _ := c.HeaderByNumber(ctx, nil)
	tx := e.sign(t, e.call(anchorData, 30_000))
	if err := c.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	h, err := c.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantFee := big.NewInt(765_625_000) // 1 gwei at genesis, then two blocks under the target: 7/8 each
	if h.Number.Uint64() != 2 || h.ParentHash != parent.Hash() || h.Time <= parent.Time || h.BaseFee.Cmp(wantFee) != 0 ||
		h.GasLimit != devGasLimit || h.GasUsed != 24110 || h.Bloom != (types.Bloom{}) {
		t.Fatalf("header %+v after %+v", h, parent)
	}
	if got, err := c.HeaderByNumber(ctx, big.NewInt(2)); err != nil || got.Hash() != h.Hash() {
		t.Fatalf("block 2 by number: %v", err)
	}
	if _, err := c.HeaderByNumber(ctx, big.NewInt(3)); err != ethereum.NotFound {
		t.Fatalf("block 3 = %v, want ethereum.NotFound", err)
	}
	// The transactions and receipts roots are the tries' (as a stack trie
	// derives them).
	r, err := c.TransactionReceipt(ctx, tx.Hash())
	if err != nil {
		t.Fatal(err)
	}
	if want := types.DeriveSha(types.Transactions{tx}, trie.NewStackTrie(nil)); h.TxHash != want {
		t.Fatalf("tx root %s, want %s", h.TxHash, want)
	}
	if want := types.DeriveSha(types.Receipts{r}, trie.NewStackTrie(nil)); h.ReceiptHash != want {
		t.Fatalf("receipt root %s, want %s", h.ReceiptHash, want)
	}
	price := new(big.Int).Add(wantFee, devTip) // under the fee cap
	if r.Status != types.ReceiptStatusSuccessful || r.GasUsed != 24110 || r.CumulativeGasUsed != 24110 ||
		r.EffectiveGasPrice.Cmp(price) != 0 || r.BlockHash != h.Hash() || r.BlockNumber.Uint64() != 2 ||
		r.TxHash != tx.Hash() || r.TransactionIndex != 0 || r.Type != types.DynamicFeeTxType || len(r.Logs) != 0 {
		t.Fatalf("receipt %+v", r)
	}
	got, pending, err := c.TransactionByHash(ctx, tx.Hash())
	if err != nil || pending || got.Hash() != tx.Hash() {
		t.Fatalf("TransactionByHash = %v, %v, %v", got, pending, err)
	}
	if _, _, err := c.TransactionByHash(ctx, common.Hash{1}); err != ethereum.NotFound {
		t.Fatalf("an unknown tx: %v, want ethereum.NotFound", err)
	}
	if _, err := c.TransactionReceipt(ctx, common.Hash{1}); err != ethereum.NotFound {
		t.Fatalf("an unknown receipt: %v, want ethereum.NotFound", err)
	}
	// The sender paid gas used (not the gas limit) times the price; the
	// coinbase got the tip.
	paid := new(big.Int).Mul(big.NewInt(24110), price)
	if got := new(big.Int).Sub(tenEther, balanceAt(c, e.from())); got.Cmp(paid) != 0 {
		t.Fatalf("the sender paid %s, want %s", got, paid)
	}
	if got, want := balanceAt(c, common.Address{}), new(big.Int).Mul(big.NewInt(24110), devTip); got.Cmp(want) != 0 {
		t.Fatalf("the coinbase got %s, want %s", got, want)
	}
	if n, _ := c.PendingNonceAt(ctx, e.from()); n != 1 {
		t.Fatalf("next nonce %d, want 1", n)
	}
}

func TestIntrinsicGas(t *testing.T) {
	al := types.AccessList{{Address: common.Address{1}, StorageKeys: []common.Hash{{1}, {2}}}}
	for _, tc := range []struct {
		name       string
		data       []byte
		al         types.AccessList
		std, floor uint64
	}{
		{"empty", nil, nil, 21000, 21000},
		{"one non-zero byte", []byte{1}, nil, 21016, 21040},
		{"one zero byte", []byte{0}, nil, 21004, 21010},
		{"anchor", anchorData, nil, 21000 + 16*76 + 4*7, 24110},
		{"access list", make([]byte, 10), al, 21040 + 2400 + 3800, 21100},
	} {
		if std, floor := intrinsicGas(tc.data, tc.al); std != tc.std || floor != tc.floor {
			t.Errorf("%s: intrinsic %d, floor %d; want %d, %d", tc.name, std, floor, tc.std, tc.floor)
		}
	}
}

func TestNextBaseFee(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fee, used uint64
		want      int64
	}{
		{"empty", 1e9, 0, 875_000_000},
		{"at target", 1e9, devGasLimit / 2, 1e9},
		{"full", 1e9, devGasLimit, 1_125_000_000},
		{"small, empty: no change below 8 wei", 7, 0, 7},
		{"small, over target: at least 1 wei more", 7, devGasLimit/2 + 1, 8},
	} {
		parent := &types.Header{GasLimit: devGasLimit, GasUsed: tc.used, BaseFee: new(big.Int).SetUint64(tc.fee)}
		if got := nextBaseFee(parent); got.Cmp(big.NewInt(tc.want)) != 0 {
			t.Errorf("%s: %s, want %d", tc.name, got, tc.want)
		}
	}
}

// TestDevChainReorgUndoes: a reorg that drops a transaction gives its fees
// back and forgets it; one that keeps it mines it again in a new block.
func TestDevChainReorgUndoes(t *testing.T) {
	ctx := context.Background()
	for _, keep := range []bool{false, true} {
		c, keys := newDev(t, 1)
		e := envOf(t, c, keys[0])
		tx := e.sign(t, e.call(anchorData, 24110))
		if err := c.SendTransaction(ctx, tx); err != nil {
			t.Fatal(err)
		}
		before, _ := c.TransactionReceipt(ctx, tx.Hash())
		c.commit()
		if err := c.reorg(ctx, 2, keep); err != nil {
			t.Fatal(err)
		}
		if n, _ := c.BlockNumber(ctx); n != 3 {
			t.Fatalf("keep %v: head %d after a reorg of 2 of 2 blocks, want 3", keep, n)
		}
		for i := int64(1); i <= 3; i++ {
			h, _ := c.HeaderByNumber(ctx, big.NewInt(i))
			p, _ := c.HeaderByNumber(ctx, big.NewInt(i-1))
			if h.ParentHash != p.Hash() {
				t.Fatalf("keep %v: block %d does not follow block %d", keep, i, i-1)
			}
		}
		r, err := c.TransactionReceipt(ctx, tx.Hash())
		nonce, _ := c.PendingNonceAt(ctx, e.from())
		if !keep {
			if err != ethereum.NotFound || nonce != 0 || balanceAt(c, e.from()).Cmp(tenEther) != 0 || balanceAt(c, common.Address{}).Sign() != 0 {
				t.Fatalf("after dropping the tx: receipt %v, nonce %d, balance %s", err, nonce, balanceAt(c, e.from()))
			}
			continue
		}
		if err != nil || r.BlockHash == before.BlockHash || r.BlockNumber.Uint64() != 1 || nonce != 1 {
			t.Fatalf("after keeping the tx: receipt %+v, %v, nonce %d", r, err, nonce)
		}
	}
	c, _ := newDev(t, 1)
	if err := c.reorg(ctx, 1, false); err == nil {
		t.Fatal("a reorg deeper than the chain was done")
	}
}

// TestDevChainConcurrent: accounts sending at once all land, each in its
// own block, with their nonces in order.
func TestDevChainConcurrent(t *testing.T) {
	const senders, each = 4, 10
	c, keys := newDev(t, senders)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, senders*each)
	for _, k := range keys {
		wg.Go(func() {
			for range each {
				e := envOf(t, c, k)
				if err := c.SendTransaction(ctx, e.sign(t, e.call(anchorData, 24110))); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, _ := c.BlockNumber(ctx); n != senders*each {
		t.Fatalf("head %d, want %d", n, senders*each)
	}
	for _, k := range keys {
		if n, _ := c.PendingNonceAt(ctx, crypto.PubkeyToAddress(k.PublicKey)); n != each {
			t.Fatalf("nonce %d, want %d", n, each)
		}
	}
}

func TestDevChainClosed(t *testing.T) {
	c, _ := newDev(t, 1)
	c.close()
	if _, err := c.BlockNumber(context.Background()); !errors.Is(err, errDevClosed) {
		t.Fatalf("BlockNumber after close = %v", err)
	}
}

// TestDevChainMatchesAnvil sends the same transactions to the dev chain
// and to anvil (GPUMESH_EVM_RPC) from the same account: an anchor uses the
// same gas on both, and both accept or both refuse each case.
func TestDevChainMatchesAnvil(t *testing.T) {
	url := evmtest.RPC(t)
	ctx := context.Background()
	keyHex := evmtest.FundedKey(t, url)
	key, err := crypto.HexToECDSA(keyHex)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ethclient.DialContext(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	dev, err := newDevChain(SimulatedChainID, map[common.Address]*big.Int{crypto.PubkeyToAddress(key.PublicKey): tenEther})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.close()

	t.Run("anchor through EVM", func(t *testing.T) {
		cfg := anchor.DefaultConfig()
		cfg.RPCURL, cfg.Timeout = url, anchor.Duration(10*time.Second)
		onAnvil, err := Dial(ctx, cfg, func(string) string { return keyHex })
		if err != nil {
			t.Fatal(err)
		}
		defer onAnvil.Close()
		sim, err := NewSimulated(anchor.Config{Timeout: anchor.Duration(10 * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		defer sim.Close()
		var gas [2]uint64
		for i, b := range []anchor.Backend{onAnvil, sim} {
			h, err := b.Send(ctx, anchorData)
			if err != nil {
				t.Fatal(err)
			}
			tx := waitMined(t, b, h)
			if !bytes.Equal(tx.Data, anchorData) || tx.Failed {
				t.Fatalf("%v: %+v", b, tx)
			}
			gas[i] = tx.GasUsed
		}
		if gas[0] != gas[1] || gas[0] != 24110 {
			t.Fatalf("an anchor used %d gas on anvil and %d on the dev chain, want 24110 on both", gas[0], gas[1])
		}
		t.Logf("an anchor (%d bytes of calldata) used %d gas on anvil and on the dev chain", len(anchorData), gas[0])
	})

	for _, tc := range txCases() {
		if tc.devOnly != "" {
			continue
		}
		var errs [2]error
		var gas [2]uint64
		for i, c := range []client{ec, dev} {
			tx := tc.build(t, envOf(t, c, key))
			gas[i], errs[i] = sendAndWait(t, c, tx)
		}
		switch {
		case (errs[0] == nil) != (errs[1] == nil):
			t.Errorf("%s: anvil says %v, the dev chain %v", tc.name, errs[0], errs[1])
		case errs[0] == nil && (gas[0] != gas[1] || gas[1] != tc.gas):
			t.Errorf("%s: gas used %d on anvil, %d on the dev chain, want %d", tc.name, gas[0], gas[1], tc.gas)
		case errs[0] == nil:
			t.Logf("%s: both accept, %d gas", tc.name, gas[0])
		default:
			t.Logf("%s: both refuse: anvil %q; dev chain %q", tc.name, errs[0], errs[1])
		}
	}
}

// errNotMined: the node took the transaction but did not mine it (anvil
// takes, and never mines, one with too little gas).
var errNotMined = errors.New("accepted but not mined")

// sendAndWait sends tx and returns the gas it used once mined; a
// transaction not mined within two seconds (both chains mine at once) is
// errNotMined.
func sendAndWait(t *testing.T, c client, tx *types.Transaction) (uint64, error) {
	t.Helper()
	ctx := context.Background()
	if err := c.SendTransaction(ctx, tx); err != nil {
		return 0, err
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		r, err := c.TransactionReceipt(ctx, tx.Hash())
		if err == nil {
			if r.Status != types.ReceiptStatusSuccessful {
				t.Fatalf("tx %s failed", tx.Hash())
			}
			return r.GasUsed, nil
		}
		if !errors.Is(err, ethereum.NotFound) {
			t.Fatalf("receipt of %s: %v", tx.Hash(), err)
		}
		if time.Now().After(deadline) {
			return 0, errNotMined
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitMined looks h up on b until it is mined.
func waitMined(t *testing.T, b anchor.Backend, h anchor.TxHash) anchor.Tx {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tx, err := b.Lookup(context.Background(), h)
		if err == nil && !tx.Pending {
			return tx
		}
		if (err != nil && !errors.Is(err, anchor.ErrNotFound)) || time.Now().After(deadline) {
			t.Fatalf("lookup %s: %+v, %v", h, tx, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
