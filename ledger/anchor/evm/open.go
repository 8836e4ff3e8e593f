package evm

import (
	"context"
	"errors"

	"github.com/gpumesh/gpumesh/ledger/anchor"
)

// Chain is a Backend the caller must close.
type Chain interface {
	anchor.Backend
	Close() error
}

// ErrOff means cfg names no chain: anchoring is off (cfg.OffReason says so).
var ErrOff = errors.New("anchoring off: no chain configured ([anchor] rpc_url)")

// Open returns the chain cfg names: the simulated chain when cfg.Simulated,
// the JSON-RPC node at cfg.RPCURL (Dial) otherwise, and ErrOff when neither
// is set. getenv reads the key's environment variable (os.Getenv).
func Open(ctx context.Context, cfg anchor.Config, getenv func(string) string) (Chain, error) {
	switch {
	case cfg.Simulated && cfg.RPCURL == "":
		if err := cfg.Validate("anchor"); err != nil {
			return nil, err
		}
		return NewSimulated(cfg)
	case cfg.RPCURL != "":
		return Dial(ctx, cfg, getenv)
	}
	return nil, ErrOff
}
