package evm

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
)

// probeRuntime is a contract, hand-assembled: called with a word it stores
// it in slot 0, logs it (LOG1, topic 0xaa) and returns it; called with no
// data it reverts with 0xdeadbeef.
var probeRuntime = common.FromHex("0x3615601b57600035806000556000526" + "0aa60206000a160206000f35b63deadbeef60005260046" + "01cfd")

// probeInit deploys probeRuntime.
var probeInit = append(common.FromHex("0x6029600c60003960296000f3"), probeRuntime...)

var probeTopic = common.Hash{31: 0xaa}

// devTx signs and sends a transaction from key on d with gas (estimated when
// 0) and returns its receipt.
func devTx(t *testing.T, d *DevChain, key txEnv, to *common.Address, data []byte, gas uint64) *types.Receipt {
	t.Helper()
	ctx := context.Background()
	if gas == 0 {
		var err error
		if gas, err = d.EstimateGas(ctx, ethereum.CallMsg{From: key.from(), To: to, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	tx := key.sign(t, &types.DynamicFeeTx{ChainID: key.id, Nonce: key.nonce, GasTipCap: devTip, GasFeeCap: key.feeCap(), Gas: gas, To: to, Value: new(big.Int), Data: data})
	if err := d.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	r, err := d.TransactionReceipt(ctx, tx.Hash())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestDevChainExecutes deploys a contract on the dev chain and calls it:
// code, storage, logs, reverts, gas estimation (the least gas that works),
// a failed transaction mined with status 0, and a reorg that undoes state.
func TestDevChainExecutes(t *testing.T) {
	c, keys := newDev(t, 1)
	d := &DevChain{c: c}
	ctx := context.Background()

	r := devTx(t, d, envOf(t, c, keys[0]), nil, probeInit, 0)
	from := crypto.PubkeyToAddress(keys[0].PublicKey)
	if r.Status != types.ReceiptStatusSuccessful || r.ContractAddress != crypto.CreateAddress(from, 0) {
		t.Fatalf("deployment receipt %+v", r)
	}
	probe := r.ContractAddress
	if code, err := d.CodeAt(ctx, probe, nil); err != nil || !bytes.Equal(code, probeRuntime) {
		t.Fatalf("code %x, %v", code, err)
	}
	if code, err := d.CodeAt(ctx, probe, big.NewInt(0)); err != nil || len(code) != 0 {
		t.Fatalf("code at genesis %x, %v", code, err)
	}

	word := common.Hash{31: 7}
	if out, err := d.CallContract(ctx, ethereum.CallMsg{From: from, To: &probe, Data: word[:]}, nil); err != nil || !bytes.Equal(out, word[:]) {
		t.Fatalf("call = %x, %v", out, err)
	}
	wantRevert := func(what string, err error) {
		t.Helper()
		var de rpc.DataError
		if !errors.As(err, &de) || de.ErrorData() != "0xdeadbeef" {
			t.Fatalf("%s: %v, want a revert with data 0xdeadbeef", what, err)
		}
	}
	_, err := d.CallContract(ctx, ethereum.CallMsg{From: from, To: &probe}, nil)
	wantRevert("call without data", err)
	_, err = d.EstimateGas(ctx, ethereum.CallMsg{From: from, To: &probe})
	wantRevert("estimate without data", err)

	gas, err := d.EstimateGas(ctx, ethereum.CallMsg{From: from, To: &probe, Data: word[:]})
	if err != nil {
		t.Fatal(err)
	}
	// One gas less runs out (mined, status 0, state unchanged); the estimate works.
	if r := devTx(t, d, envOf(t, c, keys[0]), &probe, word[:], gas-1); r.Status != types.ReceiptStatusFailed || r.GasUsed != gas-1 || len(r.Logs) != 0 {
		t.Fatalf("with %d gas: receipt %+v, want a failure using all of it", gas-1, r)
	}
	r = devTx(t, d, envOf(t, c, keys[0]), &probe, word[:], gas)
	if r.Status != types.ReceiptStatusSuccessful || len(r.Logs) != 1 {
		t.Fatalf("with %d gas: receipt %+v", gas, r)
	}
	l := r.Logs[0]
	if l.Address != probe || len(l.Topics) != 1 || l.Topics[0] != probeTopic || !bytes.Equal(l.Data, word[:]) ||
		l.BlockHash != r.BlockHash || l.TxHash != r.TxHash || l.BlockNumber != r.BlockNumber.Uint64() {
		t.Fatalf("log %+v of receipt %+v", l, r)
	}
	if h, _ := d.HeaderByNumber(ctx, r.BlockNumber); h.Bloom != r.Bloom || !types.BloomLookup(h.Bloom, probeTopic) {
		t.Fatal("the block's bloom does not hold the log's topic")
	}
	if v, err := d.StorageAt(ctx, probe, common.Hash{}, nil); err != nil || !bytes.Equal(v, word[:]) {
		t.Fatalf("slot 0 = %x, %v", v, err)
	}
	q := ethereum.FilterQuery{Addresses: []common.Address{probe}, Topics: [][]common.Hash{{probeTopic}}}
	if logs, err := d.FilterLogs(ctx, q); err != nil || len(logs) != 1 || logs[0].TxHash != r.TxHash {
		t.Fatalf("FilterLogs = %v, %v", logs, err)
	}
	if logs, _ := d.FilterLogs(ctx, ethereum.FilterQuery{Topics: [][]common.Hash{{{1}}}}); len(logs) != 0 {
		t.Fatalf("another topic matched %v", logs)
	}

	// A reorg that drops the call takes its storage and log with it.
	if err := c.reorg(ctx, 1, false); err != nil {
		t.Fatal(err)
	}
	if v, _ := d.StorageAt(ctx, probe, common.Hash{}, nil); !bytes.Equal(v, make([]byte, 32)) {
		t.Fatalf("slot 0 = %x after the reorg, want zero", v)
	}
	if logs, _ := d.FilterLogs(ctx, q); len(logs) != 0 {
		t.Fatalf("logs after the reorg: %v", logs)
	}
	if _, err := d.TransactionReceipt(ctx, r.TxHash); !errors.Is(err, ethereum.NotFound) {
		t.Fatalf("receipt after the reorg: %v", err)
	}
}

// TestDevChainFundAndTime: Fund sets a balance, AdjustTime moves the clock.
func TestDevChainFundAndTime(t *testing.T) {
	d, err := NewDevChain(SimulatedChainID, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx := context.Background()
	a := common.Address{1}
	if err := d.Fund(ctx, a, tenEther); err != nil {
		t.Fatal(err)
	}
	if b, err := d.BalanceAt(ctx, a, nil); err != nil || b.Cmp(tenEther) != 0 {
		t.Fatalf("balance %v, %v", b, err)
	}
	if err := d.Fund(ctx, a, big.NewInt(-1)); err == nil {
		t.Fatal("a negative balance was set")
	}
	before, _ := d.HeaderByNumber(ctx, nil)
	if err := d.AdjustTime(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	after, _ := d.HeaderByNumber(ctx, nil)
	if after.Time < before.Time+3600 {
		t.Fatalf("time %d after %d and an hour", after.Time, before.Time)
	}
	if err := d.AdjustTime(ctx, -time.Second); err == nil {
		t.Fatal("the clock went back")
	}
	if _, err := d.SubscribeFilterLogs(ctx, ethereum.FilterQuery{}, nil); !errors.Is(err, errUnsupported) {
		t.Fatalf("SubscribeFilterLogs = %v", err)
	}
}
