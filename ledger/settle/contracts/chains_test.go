package contracts_test

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/gpumesh/gpumesh/ledger/anchor/evm"
	"github.com/gpumesh/gpumesh/ledger/anchor/evm/evmtest"
	"github.com/gpumesh/gpumesh/ledger/settle/contracts"
)

// Both chains the tests run on are contract backends.
var (
	_ contracts.Backend = (*evm.DevChain)(nil)
	_ contracts.Backend = (*ethclient.Client)(nil)
)

// testChain is a chain the contract tests deploy on: the in-process dev
// chain (go-ethereum's EVM in this process; always there) or anvil at
// GPUMESH_EVM_RPC (when it answers).
type testChain struct {
	backend contracts.Backend
	url     string        // anvil's JSON-RPC URL; "" on the dev chain
	dev     *evm.DevChain // nil on anvil
}

// onChains runs test on a fresh in-process dev chain (subtest "dev") and on
// anvil (subtest "anvil", which skips, saying why, when no anvil answers,
// and fails instead under GPUMESH_REQUIRE_EVM=1): the settlement paths are
// tested even where anvil is missing.
func onChains(t *testing.T, test func(t *testing.T, ch *testChain)) {
	t.Run("dev", func(t *testing.T) { test(t, devChain(t)) })
	t.Run("anvil", func(t *testing.T) { test(t, anvilChain(t)) })
}

// devChain starts an in-process dev chain, closed when t ends.
func devChain(t *testing.T) *testChain {
	t.Helper()
	d, err := evm.NewDevChain(evm.SimulatedChainID, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return &testChain{backend: d, dev: d}
}

// anvilChain connects to anvil (evmtest.RPC skips without one).
func anvilChain(t *testing.T) *testChain {
	t.Helper()
	url := evmtest.RPC(t)
	ec, err := ethclient.DialContext(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ec.Close)
	return &testChain{backend: ec, url: url}
}

// tenEther is what fundedKey gives each fresh account.
var tenEther = new(big.Int).Mul(big.NewInt(10), big.NewInt(1e18))

// fundedKey returns a fresh key holding 10 ETH on the chain.
func (c *testChain) fundedKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ethcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	c.fund(t, addr(k))
	return k
}

// fund gives a 10 ETH (anvil_setBalance on anvil).
func (c *testChain) fund(t testing.TB, a common.Address) {
	t.Helper()
	ctx := context.Background()
	if c.dev != nil {
		if err := c.dev.Fund(ctx, a, tenEther); err != nil {
			t.Fatal(err)
		}
		return
	}
	rc, err := rpc.DialContext(ctx, c.url)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := rc.CallContext(ctx, nil, "anvil_setBalance", a, (*hexutil.Big)(tenEther)); err != nil {
		t.Fatalf("fund %s: %v", a, err)
	}
}

// increaseTime moves the chain's clock on by d and mines a block.
func (c *testChain) increaseTime(ctx context.Context, t testing.TB, d time.Duration) {
	t.Helper()
	if c.dev != nil {
		if err := c.dev.AdjustTime(ctx, d); err != nil {
			t.Fatal(err)
		}
		return
	}
	rc, err := rpc.DialContext(ctx, c.url)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out any
	if err := rc.CallContext(ctx, &out, "evm_increaseTime", int64(d/time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := rc.CallContext(ctx, &out, "evm_mine"); err != nil {
		t.Fatal(err)
	}
}
