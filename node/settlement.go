package node

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/ledger/settle/contracts"
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

// ErrNoSettlementChain says settlement has no chain to read escrow from
// and redeem on: [anchor] rpc_url is empty.
var ErrNoSettlementChain = errors.New("no chain to settle on: set anchor.rpc_url")

// settlementDialTimeout bounds opening the chain client (dial, chain ID,
// contract code, stake token).
const settlementDialTimeout = 30 * time.Second

// OpenSettlementChain opens the settlement chain client for c: the chain at
// c.Anchor.RPCURL, the Settlement contract at c.Settlement.Contract,
// sending with key (the wallet's). It refuses a chain whose ID is not the
// one vouchers are signed for (settlement.chain_id, else anchor.chain_id)
// and an address without the contract's code. Close the result when done.
func OpenSettlementChain(ctx context.Context, c config.Config, key *ecdsa.PrivateKey) (*contracts.Chain, error) {
	if !c.Settlement.Enabled() {
		return nil, errors.New(c.Settlement.OffReason())
	}
	if c.Anchor.RPCURL == "" {
		return nil, ErrNoSettlementChain
	}
	dctx, cancel := context.WithTimeout(ctx, settlementDialTimeout)
	defer cancel()
	cl, err := contracts.Dial(dctx, c.Anchor.RPCURL, key, c.Settlement.ContractAddress())
	if err != nil {
		return nil, fmt.Errorf("open the settlement contract %s: %w", c.Settlement.ContractAddress().Hex(), err)
	}
	if want := SettlementChainID(c); want != 0 && cl.ChainID().Uint64() != want {
		cl.Close()
		return nil, fmt.Errorf("the chain at anchor.rpc_url has ID %s, but vouchers are signed for chain %d (settlement.chain_id or anchor.chain_id)", cl.ChainID(), want)
	}
	return contracts.NewChain(cl), nil
}

// SettlementChainID is settlement.chain_id, else anchor.chain_id (0: neither set).
func SettlementChainID(c config.Config) uint64 {
	if c.Settlement.ChainID != 0 {
		return c.Settlement.ChainID
	}
	return c.Anchor.ChainID
}

// OpenSettlementBalances opens what `gpumesh wallet` reads balances
// through, with the wallet key.
func OpenSettlementBalances(ctx context.Context, c config.Config, key *ecdsa.PrivateKey) (settle.BalanceReader, func(), error) {
	chain, err := OpenSettlementChain(ctx, c, key)
	if err != nil {
		return nil, nil, err
	}
	return chain, chain.Close, nil
}

// settlement is the node's settlement when [settlement] names a contract.
type settlement struct {
	market *market.Settlement
	chain  SettlementChain // nil: no chain client; escrow is not checked, nothing is redeemed
	close  func()          // releases chain when the node opened it
	// redeeming serializes redemption rounds (the background loop's and
	// `gpumesh settle`'s), so that one channel is never submitted twice at once.
	redeeming sync.Mutex
}

// openSettlement loads (or creates) the wallet and opens the chain client
// when settlement is on, and returns what the market settles with; nil
// when settlement is off. Without [anchor] rpc_url it settles vouchers
// all the same (they are redeemable later) and says that it checks no
// escrow and redeems nothing.
func (n *Node) openSettlement(ctx context.Context) (*market.Settlement, error) {
	c := n.cfg.Settlement
	if !c.Enabled() {
		return nil, nil
	}
	chainID := SettlementChainID(n.cfg)
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
		chain, err := OpenSettlementChain(ctx, n.cfg, key)
		if errors.Is(err, ErrNoSettlementChain) {
			n.log.Warn("settlement without a chain: vouchers are signed and kept, escrow is not checked, nothing is redeemed", "err", err)
		} else if err != nil {
			return nil, fmt.Errorf("open the settlement chain: %w", err)
		} else {
			st.chain, st.close = chain, chain.Close
		}
	}
	if st.chain != nil {
		st.market.Escrow = st.chain
		if w, ok := st.chain.(withdrawalReader); ok {
			st.market.Escrow = escrowAfterWithdrawal{w}
		}
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

// redeemRoundTimeout bounds one round of redemptions (each waits to be mined).
const redeemRoundTimeout = 10 * time.Minute

// startRedeemer redeems held vouchers by the configured policy until life
// ends, when settlement has a chain client. The goroutine is the node's
// (n.wg) and exits with life.
func (n *Node) startRedeemer(life context.Context) {
	if n.settlement == nil || n.settlement.chain == nil {
		return
	}
	since := time.Now()
	every := n.opts.RedeemCheck
	if every <= 0 {
		every = redeemCheck
	}
	n.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-life.Done():
				return
			case now := <-t.C:
				ctx, cancel := context.WithTimeout(life, redeemRoundTimeout)
				err := n.redeemWithdrawing(ctx, now)
				if _, perr := n.redeem(ctx, since, now, false); perr != nil {
					err = errors.Join(err, perr)
				}
				cancel()
				if err != nil {
					n.log.Warn("redemption failed; tried again at the next check", "err", err)
				}
			}
		}
	})
}

// Redemption is one channel's redemption: what settle did, and, for a
// voucher this node submitted, what the contract paid the provider and
// the fees it charged each side (base units).
type Redemption struct {
	settle.Result
	// Paid is what the provider received, after its fee.
	Paid *big.Int `json:"paid,omitempty"`
	// RequesterFee is charged to the requester's escrow on top of Amount.
	RequesterFee *big.Int `json:"requester_fee,omitempty"`
	// ProviderFee is taken out of the provider's part.
	ProviderFee *big.Int `json:"provider_fee,omitempty"`
}

// Redeem redeems now the latest held voucher of every channel with
// anything outstanding (force) or only those the policy says are due; the
// same path the background redeemer takes. It fails when settlement is off
// or has no chain client.
func (n *Node) Redeem(ctx context.Context, force bool) ([]Redemption, error) {
	now := time.Now()
	return n.redeem(ctx, now, now, force)
}

// redeem is Redeem with the time the node started watching and now.
func (n *Node) redeem(ctx context.Context, since, now time.Time, force bool) ([]Redemption, error) {
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
	st.redeeming.Lock()
	defer st.redeeming.Unlock()
	res, err := settle.RedeemDue(ctx, n.ledger, st.chain, p, since, now, force)
	return n.redemptions(res), err
}

// redemptions adds to res what each redemption this node submitted paid
// and charged (as the chain client saw it mined), and logs them.
func (n *Node) redemptions(res []settle.Result) []Redemption {
	out := make([]Redemption, 0, len(res))
	for _, r := range res {
		rd := Redemption{Result: r}
		if c, ok := n.settlement.chain.(*contracts.Chain); ok && r.Tx != "" {
			if got, ok := c.Redemption(common.HexToHash(r.Tx)); ok {
				rd.Paid, rd.RequesterFee, rd.ProviderFee = got.Paid, got.RequesterFee, got.ProviderFee
			}
		}
		if r.Redeemed {
			attrs := []any{"channel", r.Channel, "reason", r.Reason}
			if rd.Paid != nil {
				attrs = append(attrs, "amount", r.Amount, "paid", rd.Paid, "requester_fee", rd.RequesterFee, "provider_fee", rd.ProviderFee, "tx", r.Tx)
			}
			n.log.Info("voucher redeemed", attrs...)
		}
		out = append(out, rd)
	}
	return out
}

// withdrawalReader reads a requester's pending withdrawal; the contracts
// client does.
type withdrawalReader interface {
	SettlementChain
	PendingWithdrawal(ctx context.Context, requester, token common.Address) (contracts.Pending, error)
}

// escrowAfterWithdrawal is the escrow a job can count on: what is there
// less what the requester asked back, which leaves after the notice. Both
// sides check a job's cap against it.
type escrowAfterWithdrawal struct{ withdrawalReader }

// Escrow implements settle.EscrowReader: escrow less any pending withdrawal, at least 0.
func (e escrowAfterWithdrawal) Escrow(ctx context.Context, requester, token common.Address) (*big.Int, error) {
	have, err := e.withdrawalReader.Escrow(ctx, requester, token)
	if err != nil {
		return nil, err
	}
	p, err := e.PendingWithdrawal(ctx, requester, token)
	if err != nil {
		return nil, fmt.Errorf("read the pending withdrawal: %w", err)
	}
	if p.Amount == nil || p.Amount.Sign() <= 0 {
		return have, nil
	}
	left := new(big.Int).Sub(have, p.Amount)
	if left.Sign() < 0 {
		left.SetInt64(0)
	}
	return left, nil
}

// redeemWithdrawing redeems at once every held voucher from a requester
// that asked for its escrow back: once the notice is over, what a provider
// has not redeemed may be gone.
func (n *Node) redeemWithdrawing(ctx context.Context, now time.Time) error {
	st := n.settlement
	w, ok := st.chain.(withdrawalReader)
	if !ok {
		return nil
	}
	urgent := func(ctx context.Context, requester, token common.Address) (bool, string, error) {
		p, err := w.PendingWithdrawal(ctx, requester, token)
		if err != nil {
			return false, "", fmt.Errorf("read the pending withdrawal of %s: %w", requester.Hex(), err)
		}
		if p.Amount == nil || p.Amount.Sign() <= 0 {
			return false, "", nil
		}
		return true, fmt.Sprintf("the requester asked for %s of its escrow back (ready at %s): redeemed at once",
			p.Amount, time.Unix(int64(p.ReadyAt), 0).UTC().Format(time.RFC3339)), nil
	}
	st.redeeming.Lock()
	defer st.redeeming.Unlock()
	res, err := settle.RedeemUrgent(ctx, n.ledger, st.chain, urgent, now)
	n.redemptions(res)
	return err
}
