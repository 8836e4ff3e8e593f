package node

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/node/api"
)

// walletReadTimeout bounds the chain reads behind one GET /api/v1/balances:
// the dashboard polls it, and a slow RPC must not hold the page.
const walletReadTimeout = 3 * time.Second

// walletBalances is the settlement wallet with what the chain holds for it,
// for GET /api/v1/balances (and the dashboard's Ledger page); nil when
// settlement is off.
func (n *Node) walletBalances(ctx context.Context) *api.WalletBalances {
	st := n.settlement
	if st == nil {
		return nil
	}
	m := st.market
	self := settle.Address(m.Wallet)
	out := &api.WalletBalances{Address: self.Hex(), Token: m.Token.Hex(), Decimals: m.Decimals,
		ChainID: fmt.Sprint(m.Domain.ChainID), Contract: m.Domain.Contract.Hex()}
	if st.chain == nil {
		out.ChainError = ErrNoSettlementChain.Error()
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, walletReadTimeout)
	defer cancel()
	b, err := st.chain.Balances(ctx, self, m.Token)
	if err != nil {
		out.ChainError = fmt.Sprintf("read balances: %v", err)
		return out
	}
	out.Balance, out.Escrow = decimal(b.Wallet), decimal(b.Escrow)
	out.PendingWithdrawal, out.Stake = decimal(b.PendingWithdrawal), decimal(b.Stake)
	if sc := n.stakeChecker(); sc != nil {
		ok, err := sc.IsEligible(ctx, self)
		if err != nil {
			out.ChainError = fmt.Sprintf("read eligibility: %v", err)
		} else {
			out.Eligible = &ok
		}
	}
	return out
}

// decimal is v in decimal, "" for nil.
func decimal(v *big.Int) string {
	if v == nil {
		return ""
	}
	return v.String()
}
