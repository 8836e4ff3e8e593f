package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/gpumesh/gpumesh/ledger/settle/contracts"
)

// b12Receipts is how many receipts the large voucher covers.
const b12Receipts = 1000

// b12RPC is the chain B12 measures on: GPUMESH_EVM_RPC (scripts/test.sh
// sets it once anvil answers), else anvil's default address.
func b12RPC() string {
	if u := os.Getenv("GPUMESH_EVM_RPC"); u != "" {
		return u
	}
	return "http://127.0.0.1:8545"
}

// benchGas is B12: the gas of the settlement contract's transactions on a
// dev chain (anvil): deploy, deposit, redeem of a voucher covering one
// receipt and one covering b12Receipts (the same: a voucher is cumulative,
// one signature and one storage write whatever it covers), stake and a
// conflict slash. It skips, saying why, when no chain answers or the chain
// cannot fund fresh accounts (anvil_setBalance).
func benchGas(url string) Result {
	res := Result{ID: "B12", Name: "settlement gas on an EVM dev chain", Unit: "gas",
		Params: map[string]any{"rpc": url, "receipts": b12Receipts},
		Target: "a redemption costs the same for 1 receipt or 1,000 (within 1 %)"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	figs, err := measureGas(ctx, url)
	if err != nil {
		res.Skipped = err.Error()
		return res
	}
	res.Figures = figs
	one, many := figs["redeem_1_receipt"], figs[fmt.Sprintf("redeem_%d_receipts", b12Receipts)]
	res.Verdict = "met"
	if d := many - one; d > one/100 || -d > one/100 {
		res.Verdict = fmt.Sprintf("not met: %.0f vs %.0f", one, many)
	}
	return res
}

// gasRig is B12's accounts and contracts on the chain.
type gasRig struct {
	ec                        *ethclient.Client
	rc                        *rpc.Client
	chainID                   *big.Int
	owner, requester, slasher *ecdsa.PrivateKey
	token                     common.Address
	settle                    *contracts.Client
	figs                      map[string]float64
}

// measureGas runs B12's transactions and returns their gas by name.
func measureGas(ctx context.Context, url string) (map[string]float64, error) {
	rc, err := rpc.DialContext(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("no EVM chain at %s: %w", url, err)
	}
	defer rc.Close()
	g := &gasRig{ec: ethclient.NewClient(rc), rc: rc, figs: map[string]float64{}}
	if g.chainID, err = g.ec.ChainID(ctx); err != nil {
		return nil, fmt.Errorf("no EVM chain answers at %s (start anvil, or set GPUMESH_EVM_RPC): %w", url, err)
	}
	for _, k := range []**ecdsa.PrivateKey{&g.owner, &g.requester, &g.slasher} {
		if *k, err = g.fundedKey(ctx); err != nil {
			return nil, err
		}
	}
	if err := g.deploy(ctx); err != nil {
		return nil, err
	}
	if err := g.escrowAndRedeem(ctx); err != nil {
		return nil, err
	}
	if err := g.stakeAndSlash(ctx); err != nil {
		return nil, err
	}
	return g.figs, nil
}

// fundedKey makes a fresh key holding 10 ETH (anvil_setBalance).
func (g *gasRig) fundedKey(ctx context.Context) (*ecdsa.PrivateKey, error) {
	k, err := ethcrypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	a := ethcrypto.PubkeyToAddress(k.PublicKey)
	ten := (*hexutil.Big)(new(big.Int).Mul(big.NewInt(10), big.NewInt(1e18)))
	if err := g.rc.CallContext(ctx, nil, "anvil_setBalance", a, ten); err != nil {
		return nil, fmt.Errorf("fund a fresh account (needs anvil's anvil_setBalance): %w", err)
	}
	return k, nil
}

// deploy deploys the test stablecoin and a Settlement staking it.
func (g *gasRig) deploy(ctx context.Context) error {
	_, tok, err := contracts.DeployCode(ctx, g.ec, g.owner, g.chainID, common.FromHex(contracts.TestTokenMetaData.Bin), nil)
	if err != nil {
		return fmt.Errorf("deploy test token: %w", err)
	}
	g.token = tok
	p := contracts.DefaultParams(common.Address{0xfe}, ethcrypto.PubkeyToAddress(g.owner.PublicKey))
	p.StakeToken = tok
	p.MinStake = big.NewInt(100_000_000)
	c, rcpt, err := contracts.Deploy(ctx, g.ec, g.owner, p)
	if err != nil {
		return err
	}
	g.settle = c
	g.figs["deploy_settlement"] = float64(rcpt.GasUsed)
	return nil
}

// mint gives who amount of the test token, sent by the owner.
func (g *gasRig) mint(ctx context.Context, who common.Address, amount int64) error {
	t := contracts.NewTestToken()
	_, err := g.settle.Send(ctx, g.token, t.PackMint(who, big.NewInt(amount)))
	return err
}

// escrowAndRedeem measures deposits and redemptions of a voucher covering
// one receipt and one covering b12Receipts, each the first redemption of
// its (requester, provider) pair so the storage they touch starts alike.
func (g *gasRig) escrowAndRedeem(ctx context.Context) error {
	req := g.settle.With(g.requester)
	reqAddr := ethcrypto.PubkeyToAddress(g.requester.PublicKey)
	if err := g.mint(ctx, reqAddr, 1_000_000_000_000); err != nil {
		return err
	}
	rcpt, err := req.Deposit(ctx, g.token, big.NewInt(500_000_000_000))
	if err != nil {
		return err
	}
	g.figs["deposit_erc20_first"] = float64(rcpt.GasUsed)
	if rcpt, err = req.Deposit(ctx, g.token, big.NewInt(400_000_000_000)); err != nil {
		return err
	}
	g.figs["deposit_erc20"] = float64(rcpt.GasUsed)
	if rcpt, err = req.Deposit(ctx, contracts.NativeToken, big.NewInt(1e17)); err != nil {
		return err
	}
	g.figs["deposit_native_first"] = float64(rcpt.GasUsed)

	// A receipt of 1.234567 $ each: the large voucher's cumulative amount
	// is b12Receipts of them. The first redemption ever (n = 0, not
	// reported) also pays the treasury's first token balance, a cold
	// storage slot that no later redemption pays again.
	for _, n := range []int64{0, 1, b12Receipts} {
		prov, err := ethcrypto.GenerateKey()
		if err != nil {
			return err
		}
		v := contracts.Voucher{Requester: reqAddr, Provider: ethcrypto.PubkeyToAddress(prov.PublicKey), Token: g.token,
			Cumulative: big.NewInt(1_234_567 * max(n, 1)), Nonce: uint64(n)}
		red, err := g.redeem(ctx, v)
		if err != nil {
			return err
		}
		name := "redeem_1_receipt"
		if n == 0 {
			g.figs["redeem_first_ever"] = float64(red.Receipt.GasUsed)
			continue
		}
		if n > 1 {
			name = fmt.Sprintf("redeem_%d_receipts", n)
		}
		g.figs[name] = float64(red.Receipt.GasUsed)
		if n > 1 { // the next voucher to the same provider: its slots are warm
			v.Cumulative = big.NewInt(1_234_567 * (n + 1))
			v.Nonce++
			if red, err = g.redeem(ctx, v); err != nil {
				return err
			}
			g.figs["redeem_next"] = float64(red.Receipt.GasUsed)
		}
	}
	return nil
}

// redeem signs v with the requester's key over the contract's own digest
// and submits it from the slasher's account (anyone may).
func (g *gasRig) redeem(ctx context.Context, v contracts.Voucher) (*contracts.Redemption, error) {
	d, err := g.settle.VoucherDigest(ctx, v)
	if err != nil {
		return nil, err
	}
	sig, err := ethcrypto.Sign(d[:], g.requester)
	if err != nil {
		return nil, err
	}
	sig[64] += 27
	return g.settle.With(g.slasher).Redeem(ctx, v, sig)
}

// stakeAndSlash measures a provider's stake and a conflict slash of it.
func (g *gasRig) stakeAndSlash(ctx context.Context) error {
	prov, err := g.fundedKey(ctx)
	if err != nil {
		return err
	}
	pc := g.settle.With(prov)
	if err := g.mint(ctx, pc.From(), 150_000_000); err != nil {
		return err
	}
	rcpt, err := pc.Stake(ctx, big.NewInt(150_000_000))
	if err != nil {
		return err
	}
	g.figs["stake_first"] = float64(rcpt.GasUsed)
	works := make([]contracts.Work, 2)
	sigs := make([][]byte, 2)
	for i := range works {
		works[i] = contracts.Work{Job: ethcrypto.Keccak256Hash([]byte("b12-job")), Rank: 0, Result: [32]byte{byte(i + 1)},
			Amount: big.NewInt(1_234_567), Token: g.token, Requester: ethcrypto.PubkeyToAddress(g.requester.PublicKey)}
		d, err := g.settle.WorkDigest(ctx, works[i])
		if err != nil {
			return err
		}
		if sigs[i], err = ethcrypto.Sign(d[:], prov); err != nil {
			return err
		}
		sigs[i][64] += 27
	}
	sl, err := g.settle.With(g.slasher).SlashConflict(ctx, works[0], sigs[0], works[1], sigs[1])
	if err != nil {
		return err
	}
	if sl.Amount.Cmp(big.NewInt(150_000_000)) != 0 {
		return errors.New("B12: the slash did not take the whole stake")
	}
	g.figs["slash_conflict"] = float64(sl.Receipt.GasUsed)
	return nil
}
