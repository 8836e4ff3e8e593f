package settle

import (
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// Balances is what a wallet holds, in token base units.
type Balances struct {
	// Wallet is the token (or native coin) the wallet itself holds.
	Wallet *big.Int `json:"wallet"`
	// Escrow is what the wallet deposited in the contract as a requester, unspent.
	Escrow *big.Int `json:"escrow"`
	// PendingWithdrawal is the part of Escrow asked back and waiting out the notice period.
	PendingWithdrawal *big.Int `json:"pending_withdrawal"`
	// Stake is what the wallet staked as a provider.
	Stake *big.Int `json:"stake"`
	// Allowance is how much of the token the wallet lets the contract take
	// (approved for deposits and stake; zero for the native coin).
	Allowance *big.Int `json:"allowance"`
}

// BalanceReader reads a wallet's balances from the chain; the chain client
// in ledger/settle/contracts implements it.
type BalanceReader interface {
	// Balances returns owner's balances in token.
	Balances(ctx context.Context, owner, token common.Address) (Balances, error)
}

// EscrowReader reads a requester's unspent escrow, which must cover a job's
// cap before either side runs it.
type EscrowReader interface {
	// Escrow returns requester's unspent escrow in token, in base units.
	Escrow(ctx context.Context, requester, token common.Address) (*big.Int, error)
}

// Redeemer submits a provider's latest voucher to the contract.
type Redeemer interface {
	// Redeemed returns the cumulative amount the contract recorded as
	// redeemed for (requester, provider, token).
	Redeemed(ctx context.Context, requester, provider, token common.Address) (*big.Int, error)
	// Redeem submits sv and waits until it is mined, returning the
	// transaction's hash. The contract refuses a voucher whose cumulative is
	// not above what it recorded, so submitting one twice pays once.
	Redeem(ctx context.Context, sv *SignedVoucher) (common.Hash, error)
}
