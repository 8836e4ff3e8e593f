package node

import (
	"context"
	"errors"

	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/node/config"
)

// SettlementChain is the chain client settlement uses: it reads balances
// and escrow and redeems vouchers. The client over the Settlement contract's
// bindings (ledger/settle/contracts) implements it.
type SettlementChain interface {
	settle.BalanceReader
	settle.EscrowReader
	settle.Redeemer
}

// ErrNoSettlementChain says this build has no settlement chain client to
// open the configured chain with.
var ErrNoSettlementChain = errors.New("no settlement chain client in this build")

// OpenSettlementChain opens the settlement chain client for c: the chain at
// c.Anchor.RPCURL, the contract at c.Settlement.Contract. It is set where the
// chain client is built in (after ledger/settle/contracts is merged); until
// then it is nil, and callers report ErrNoSettlementChain. close releases
// the client.
var OpenSettlementChain func(ctx context.Context, c config.Config) (chain SettlementChain, close func(), err error)

// openSettlementChain is OpenSettlementChain, or ErrNoSettlementChain when unset.
func openSettlementChain(ctx context.Context, c config.Config) (SettlementChain, func(), error) {
	if OpenSettlementChain == nil {
		return nil, nil, ErrNoSettlementChain
	}
	return OpenSettlementChain(ctx, c)
}

// OpenSettlementBalances opens what `gpumesh wallet` reads balances through.
func OpenSettlementBalances(ctx context.Context, c config.Config) (settle.BalanceReader, func(), error) {
	chain, closeChain, err := openSettlementChain(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	return chain, closeChain, nil
}
