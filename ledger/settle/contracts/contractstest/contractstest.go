// Package contractstest deploys the Settlement contract and a 6-decimals
// test stablecoin on the dev chain that scripts/test.sh starts (anvil, see
// ledger/anchor/evm/evmtest), for tests outside ledger/settle/contracts:
// the node's and the CLI's.
package contractstest

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/gpumesh/gpumesh/ledger/anchor/evm/evmtest"
	"github.com/gpumesh/gpumesh/ledger/settle/contracts"
)

// Rig is one fresh Settlement deployment with a test stablecoin (6
// decimals, anyone may mint) and a treasury that holds nothing but fees.
type Rig struct {
	// URL is the dev chain's JSON-RPC URL.
	URL string
	// Owner is a client for the contract sending with the deployer's key.
	Owner *contracts.Client
	// Token is the test stablecoin's address.
	Token common.Address
	// Treasury receives the fees.
	Treasury common.Address
	// Notice is the deployment's notice period.
	Notice time.Duration
	ec     *ethclient.Client
}

// Deploy deploys a token and a Settlement on the dev chain (skipping the
// test, saying why, when none answers; failing it under
// GPUMESH_REQUIRE_EVM=1), with the default fees, a notice of notice and
// the test token as the stake token with no minimum.
func Deploy(t testing.TB, notice time.Duration) *Rig {
	t.Helper()
	url := evmtest.RPC(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ec, err := ethclient.DialContext(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ec.Close)
	owner := FundedKey(t, url)
	chainID, err := ec.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := contracts.DeployCode(ctx, ec, owner, chainID, common.FromHex(contracts.TestTokenMetaData.Bin), nil)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := ethcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	treasury := ethcrypto.PubkeyToAddress(tk.PublicKey)
	p := contracts.DefaultParams(treasury, ethcrypto.PubkeyToAddress(owner.PublicKey))
	p.Notice, p.StakeToken = notice, token
	c, _, err := contracts.Deploy(ctx, ec, owner, p)
	if err != nil {
		t.Fatal(err)
	}
	return &Rig{URL: url, Owner: c, Token: token, Treasury: treasury, Notice: notice, ec: ec}
}

// FundedKey returns a fresh key holding 10 ETH on the dev chain at url.
func FundedKey(t testing.TB, url string) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ethcrypto.HexToECDSA(evmtest.FundedKey(t, url))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Mint gives who amount base units of the test token.
func (r *Rig) Mint(t testing.TB, who common.Address, amount int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := r.Owner.Send(ctx, r.Token, contracts.NewTestToken().PackMint(who, big.NewInt(amount))); err != nil {
		t.Fatal(err)
	}
}

// Balance returns who's balance of the test token.
func (r *Rig) Balance(t testing.TB, who common.Address) *big.Int {
	t.Helper()
	b, err := r.Owner.BalanceOf(context.Background(), r.Token, who)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Escrow returns requester's escrow in the test token.
func (r *Rig) Escrow(t testing.TB, requester common.Address) *big.Int {
	t.Helper()
	b, err := r.Owner.Escrow(context.Background(), requester, r.Token)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// IncreaseTime moves the dev chain's clock on by d and mines a block.
func (r *Rig) IncreaseTime(t testing.TB, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := rpc.DialContext(ctx, r.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out any
	if err := c.CallContext(ctx, &out, "evm_increaseTime", int64(d/time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := c.CallContext(ctx, &out, "evm_mine"); err != nil {
		t.Fatal(err)
	}
}

// ChainID returns the dev chain's ID.
func (r *Rig) ChainID() uint64 { return r.Owner.ChainID().Uint64() }

// Fund gives who 10 ETH on the dev chain (anvil_setBalance), for gas.
func (r *Rig) Fund(t testing.TB, who common.Address) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := rpc.DialContext(ctx, r.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out any
	if err := c.CallContext(ctx, &out, "anvil_setBalance", who.Hex(), "0x8AC7230489E80000"); err != nil {
		t.Fatalf("fund %s: %v", who.Hex(), err)
	}
}

// Deposit funds key's account, mints it amount of the test token and
// deposits it all into its escrow.
func (r *Rig) Deposit(t testing.TB, key *ecdsa.PrivateKey, amount int64) {
	t.Helper()
	who := ethcrypto.PubkeyToAddress(key.PublicKey)
	r.Fund(t, who)
	r.Mint(t, who, amount)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := r.Owner.With(key).Deposit(ctx, r.Token, big.NewInt(amount)); err != nil {
		t.Fatalf("deposit: %v", err)
	}
}
