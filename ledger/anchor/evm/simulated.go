package evm

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/gpumesh/gpumesh/ledger/anchor"
)

// SimulatedChainID is the chain ID of the simulated chain.
const SimulatedChainID = 1337

// devFunds is the dev account's balance at genesis: 1000 ether.
var devFunds = new(big.Int).Mul(big.NewInt(1000), big.NewInt(1e18))

// Simulated is an anchor.Backend on an in-process dev chain (chain ID 1337),
// for the demo and tests: a dev account funded at genesis pays, and every
// transaction is checked as a real node checks it, executed by go-ethereum's
// EVM and mined into its own block at once; Chain gives the same chain as a
// contract backend (deploy, call, transact, fund accounts, move the clock). Nothing leaves the process and nothing survives Close.
type Simulated struct {
	*EVM
	chain *devChain
}

// NewSimulated starts a simulated chain with a fresh dev key funded at
// genesis. Of cfg only Timeout is used (it bounds each call).
func NewSimulated(cfg anchor.Config) (*Simulated, error) {
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("simulated chain: dev key: %w", err)
	}
	from := crypto.PubkeyToAddress(key.PublicKey)
	chain, err := newDevChain(SimulatedChainID, map[common.Address]*big.Int{from: devFunds})
	if err != nil {
		return nil, fmt.Errorf("simulated chain: %w", err)
	}
	cfg = cfg.WithDefaults()
	cfg.ChainID = 0
	return &Simulated{EVM: newEVM(chain, key, cfg, "simulated"), chain: chain}, nil
}

// Commit seals an empty block, moving the chain on by one (one more
// confirmation for every anchor). It does nothing after Close.
func (s *Simulated) Commit() {
	_ = s.chain.commit()
}

// Reorg replaces the last depth blocks with depth+1 new ones, as a chain
// reorganisation does: the transactions in them leave the chain. With
// keepTxs they are mined again (in new blocks); without, they are gone.
func (s *Simulated) Reorg(ctx context.Context, depth uint64, keepTxs bool) error {
	return s.chain.reorg(ctx, depth, keepTxs)
}

// Close stops the chain.
func (s *Simulated) Close() error {
	return errors.Join(s.EVM.Close(), s.chain.close())
}
