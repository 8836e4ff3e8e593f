package evm

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"

	"github.com/gpumesh/gpumesh/ledger/anchor"
)

// SimulatedChainID is the chain ID of the simulated chain.
const SimulatedChainID = 1337

// devFunds is the dev account's balance at genesis: 1000 ether.
var devFunds = new(big.Int).Mul(big.NewInt(1000), big.NewInt(1e18))

// Simulated is an anchor.Backend on go-ethereum's in-process simulated chain
// (chain ID 1337), for the demo and tests: a dev account funded at genesis
// pays, and every transaction is mined into its own block at once. Nothing
// leaves the process and nothing survives Close.
type Simulated struct {
	*EVM
	mu  sync.Mutex // Send and Commit in one step
	sim *simulated.Backend
}

// NewSimulated starts a simulated chain with a fresh dev key funded at
// genesis. Of cfg only Timeout is used (it bounds each call).
func NewSimulated(cfg anchor.Config) (*Simulated, error) {
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("simulated chain: dev key: %w", err)
	}
	from := crypto.PubkeyToAddress(key.PublicKey)
	sim := simulated.NewBackend(types.GenesisAlloc{from: {Balance: devFunds}})
	cfg = cfg.WithDefaults()
	cfg.ChainID = 0
	return &Simulated{EVM: newEVM(sim.Client(), key, cfg, "simulated"), sim: sim}, nil
}

// Send implements anchor.Backend: EVM.Send, then a block is sealed with the
// transaction in it.
func (s *Simulated) Send(ctx context.Context, data []byte) (anchor.TxHash, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, err := s.EVM.Send(ctx, data)
	if err == nil {
		s.sim.Commit()
	}
	return h, err
}

// Commit seals a block, moving the chain on by one (one more confirmation
// for every anchor).
func (s *Simulated) Commit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sim.Commit()
}

// Reorg replaces the last depth blocks with depth+1 empty ones, as a chain
// reorganisation does: the transactions in them leave the chain. With
// keepTxs they go back to the pool and the next block mines them again (in
// a new block); without, they are gone.
func (s *Simulated) Reorg(ctx context.Context, depth uint64, keepTxs bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	head, err := s.sim.Client().BlockNumber(ctx)
	if err != nil {
		return err
	}
	if depth == 0 || depth > head {
		return fmt.Errorf("reorg depth %d of a chain of %d blocks", depth, head)
	}
	parent, err := s.sim.Client().HeaderByNumber(ctx, new(big.Int).SetUint64(head-depth))
	if err != nil {
		return err
	}
	if err := s.sim.Fork(parent.Hash()); err != nil {
		return err
	}
	if !keepTxs {
		s.sim.Rollback()
	}
	for range depth + 1 {
		s.sim.Commit()
	}
	return nil
}

// Close stops the chain.
func (s *Simulated) Close() error {
	return errors.Join(s.EVM.Close(), s.sim.Close())
}
