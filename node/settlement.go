package node

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/scheduler/market"
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

// settlement is the node's settlement when [settlement] names a contract.
type settlement struct {
	market *market.Settlement
	chain  SettlementChain // nil: no chain client; escrow is not checked, nothing is redeemed
	close  func()          // releases chain when the node opened it
}

// openSettlement loads (or creates) the wallet and opens the chain client
// when settlement is on, and returns what the market settles with; nil
// when settlement is off. A build without a chain client settles vouchers
// all the same (they are redeemable later) and says that it checks no
// escrow and redeems nothing.
func (n *Node) openSettlement(ctx context.Context) (*market.Settlement, error) {
	c := n.cfg.Settlement
	if !c.Enabled() {
		return nil, nil
	}
	chainID := c.ChainID
	if chainID == 0 {
		chainID = n.cfg.Anchor.ChainID
	}
	if chainID == 0 {
		return nil, errors.New("settlement.chain_id: 0 and anchor.chain_id 0: vouchers are signed for one chain; set either")
	}
	key, created, err := settle.LoadOrCreateWallet(filepath.Join(n.opts.DataDir, settle.WalletFile))
	if err != nil {
		return nil, err
	}
	st := &settlement{market: &market.Settlement{
		Domain: settle.Domain{ChainID: chainID, Contract: c.ContractAddress()},
		Token:  c.TokenAddress(), Decimals: c.TokenDecimals, Wallet: key,
	}, close: func() {}}
	switch {
	case n.opts.SettlementChain != nil:
		st.chain = n.opts.SettlementChain
	default:
		chain, closeChain, err := openSettlementChain(ctx, n.cfg)
		if errors.Is(err, ErrNoSettlementChain) {
			n.log.Warn("settlement without a chain client: vouchers are signed and kept, escrow is not checked, nothing is redeemed", "err", err)
		} else if err != nil {
			return nil, fmt.Errorf("open the settlement chain: %w", err)
		} else {
			st.chain, st.close = chain, closeChain
		}
	}
	if st.chain != nil {
		st.market.Escrow = st.chain
	}
	n.settlement = st
	n.startRedeemer(ctx)
	n.log.Info("settlement on", "wallet", settle.Address(key).Hex(), "created", created,
		"chain_id", chainID, "contract", c.ContractAddress().Hex(), "token", c.TokenAddress().Hex())
	return st.market, nil
}

// closeSettlement releases the chain client the node opened.
func (n *Node) closeSettlement() {
	if n.settlement != nil {
		n.settlement.close()
		n.settlement = nil
	}
}

// redeemCheck is how often the node checks whether a voucher is due for
// redemption (by threshold; by interval at least this finely).
const redeemCheck = time.Minute

// startRedeemer redeems held vouchers by the configured policy until life
// ends, when settlement has a chain client. The goroutine is the node's
// (n.wg) and exits with life.
func (n *Node) startRedeemer(life context.Context) {
	if n.settlement == nil || n.settlement.chain == nil {
		return
	}
	since := time.Now()
	n.wg.Go(func() {
		t := time.NewTicker(redeemCheck)
		defer t.Stop()
		for {
			select {
			case <-life.Done():
				return
			case now := <-t.C:
				if _, err := n.redeem(life, since, now, false); err != nil {
					n.log.Warn("redemption failed; tried again at the next check", "err", err)
				}
			}
		}
	})
}

// Redeem redeems now the latest held voucher of every channel with
// anything outstanding (force) or only those the policy says are due; the
// same path the background redeemer takes. It fails when settlement is off
// or has no chain client.
func (n *Node) Redeem(ctx context.Context, force bool) ([]settle.Result, error) {
	now := time.Now()
	return n.redeem(ctx, now, now, force)
}

// redeem is Redeem with the time the node started watching and now.
func (n *Node) redeem(ctx context.Context, since, now time.Time, force bool) ([]settle.Result, error) {
	st := n.settlement
	switch {
	case st == nil:
		return nil, errors.New(n.cfg.Settlement.OffReason())
	case st.chain == nil:
		return nil, ErrNoSettlementChain
	}
	p, err := settle.PolicyOf(n.cfg.Settlement)
	if err != nil {
		return nil, err
	}
	res, err := settle.RedeemDue(ctx, n.ledger, st.chain, p, since, now, force)
	for _, r := range res {
		if r.Redeemed {
			n.log.Info("voucher redeemed", "channel", r.Channel, "amount", r.Amount, "tx", r.Tx, "reason", r.Reason)
		}
	}
	return res, err
}
