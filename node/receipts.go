package node

import (
	"context"
	"errors"

	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/node/api"
)

// errNoLedger answers the receipt endpoints before Start or after Close.
var errNoLedger = errors.New("the node's ledger is not open")

// receiptView is the node's ledger and anchors as the API shows them, taken
// now: the anchors are a copy, so one request sees one state.
func (n *Node) receiptView() (*api.LedgerView, error) {
	l := n.Ledger()
	if l == nil {
		return nil, errNoLedger
	}
	v := &api.LedgerView{Log: l, Self: n.PeerID(), Status: n.Anchoring(), PeerAnchor: n.PeerAnchor}
	if n.settlement != nil {
		v.Wallet = n.walletBalances
	}
	if a := n.Anchorer(); a != nil {
		v.Own = a.Anchors()
	}
	if c := n.Chain(); c != nil {
		v.Chain = c
	} else {
		v.NoChain = v.Status.Reason
		if v.NoChain == "" {
			v.NoChain = "anchoring off on this node: no chain to check with"
		}
	}
	return v, nil
}

// Receipts lists the receipts in the node's ledger, newest first (api.ReceiptBackend).
func (n *Node) Receipts(ctx context.Context, q api.ReceiptQuery) (api.Receipts, error) {
	v, err := n.receiptView()
	if err != nil {
		return api.Receipts{}, err
	}
	return v.Receipts(ctx, q)
}

// Receipt returns one receipt with its entry, its inclusion proof (against
// the newest confirmed anchor covering it, else the head) and the
// counterparty's latest announced anchor (api.ReceiptBackend).
func (n *Node) Receipt(ctx context.Context, id string) (api.ReceiptProof, error) {
	v, err := n.receiptView()
	if err != nil {
		return api.ReceiptProof{}, err
	}
	return v.Receipt(ctx, id)
}

// VerifyLedger walks the whole ledger (api.ReceiptBackend).
func (n *Node) VerifyLedger(ctx context.Context) (api.LedgerCheck, error) {
	v, err := n.receiptView()
	if err != nil {
		return api.LedgerCheck{}, err
	}
	return v.VerifyLedger(ctx)
}

// Balances sums the ledger per pool from this node's side (api.ReceiptBackend).
func (n *Node) Balances(ctx context.Context) (api.Balances, error) {
	v, err := n.receiptView()
	if err != nil {
		return api.Balances{}, err
	}
	return v.Balances(ctx)
}

// Anchors returns the anchoring status and this node's anchors (api.ReceiptBackend).
func (n *Node) Anchors(ctx context.Context) (api.Anchors, error) {
	v, err := n.receiptView()
	if err != nil {
		return api.Anchors{}, err
	}
	return v.Anchors(ctx)
}

// VerifyAnchor checks an anchor record on the node's chain (api.ReceiptBackend).
func (n *Node) VerifyAnchor(ctx context.Context, a *anchor.Anchor) (api.AnchorCheck, error) {
	v, err := n.receiptView()
	if err != nil {
		return api.AnchorCheck{}, err
	}
	return v.VerifyAnchor(ctx, a)
}
