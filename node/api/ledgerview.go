package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/ledger/merkle"
	"github.com/gpumesh/gpumesh/ledger/settle"
)

// LedgerView answers the ReceiptBackend methods from a ledger and its
// anchors. The node builds one per request from its live state; the CLI
// builds one over a ledger it opened itself when no node runs.
type LedgerView struct {
	// Log is the ledger; required.
	Log *ledger.Log
	// Self is the ledger's node; required.
	Self peer.ID
	// Own are the node's own anchors, oldest first.
	Own []anchor.Anchor
	// Status is the anchorer's status, shown by Anchors.
	Status anchor.Status
	// PeerAnchor returns the latest anchor a peer announced; nil knows none.
	PeerAnchor func(peer.ID) (anchor.Anchor, bool)
	// Chain checks anchors on chain; nil when there is none (NoChain says why).
	Chain anchor.Backend
	// NoChain says why Chain is nil.
	NoChain string
	// Wallet reads the settlement wallet's balances for Balances; nil when
	// settlement is off.
	Wallet func(ctx context.Context) *WalletBalances
}

// confirmed returns the newest confirmed anchor of this log covering entry
// index (index < size), or nil.
func (v *LedgerView) confirmed(index int64) *anchor.Anchor {
	var best *anchor.Anchor
	var bestSize int64
	for i := range v.Own {
		a := &v.Own[i]
		if a.State != anchor.StateConfirmed {
			continue
		}
		cp, err := a.Checkpoint()
		if err != nil || cp.Log != v.Self || cp.Size <= index || cp.Size < bestSize {
			continue
		}
		best, bestSize = a, cp.Size
	}
	return best
}

// anchoredSize is the tree size of the newest confirmed anchor, 0 if none.
func (v *LedgerView) anchoredSize() int64 {
	if a := v.confirmed(-1); a != nil {
		cp, _ := a.Checkpoint()
		return cp.Size
	}
	return 0
}

// row describes entry e from the node's point of view.
func (v *LedgerView) row(e ledger.Entry, anchored int64) (ReceiptRow, error) {
	r, err := e.Receipt()
	if err != nil {
		return ReceiptRow{}, err
	}
	role, other := v.role(r)
	return ReceiptRow{Index: e.Index, Logged: e.Time, Role: role, Counterparty: other, Anchored: e.Index < anchored, Receipt: r}, nil
}

// role is what Self is in r, and the other party.
func (v *LedgerView) role(r ledger.Receipt) (role, counterparty string) {
	if r.Provider == v.Self.String() {
		return RoleProvider, r.Requester
	}
	return RoleRequester, r.Provider
}

// Receipts implements ReceiptBackend. A damaged entry does not fail the
// list: it is named in Damaged and the rest are listed.
func (v *LedgerView) Receipts(ctx context.Context, q ReceiptQuery) (Receipts, error) {
	out := Receipts{Log: v.Self.String(), Size: v.Log.Size(), Anchored: v.anchoredSize(), Receipts: []ReceiptRow{}}
	var err error
	if q.Job == "" && q.Peer == "" {
		err = v.newest(ctx, &out, q.Limit)
	} else {
		err = v.selected(&out, q)
	}
	slices.SortFunc(out.Damaged, func(a, b CorruptEntry) int { return cmp.Compare(b.Index, a.Index) })
	return out, err
}

// newest lists receipts newest first straight from the end of the log, so
// that a limit reads only what it shows.
func (v *LedgerView) newest(ctx context.Context, out *Receipts, limit int) error {
	for i := out.Size - 1; i >= 0 && (limit == 0 || len(out.Receipts) < limit); i-- {
		if err := ctx.Err(); err != nil {
			return err
		}
		e, err := v.Log.Get(i)
		if err == nil {
			err = v.add(out, e, "")
		}
		if err != nil && !out.damaged(err) {
			return err
		}
	}
	return nil
}

// selected lists the receipts of q.Job or with q.Peer, newest first.
func (v *LedgerView) selected(out *Receipts, q ReceiptQuery) error {
	var entries []ledger.Entry
	var err error
	if q.Job != "" {
		entries, err = v.Log.ByJob(q.Job)
	} else {
		p, perr := peer.Decode(q.Peer)
		if perr != nil {
			return fmt.Errorf("%w: peer %q is not a peer ID", ErrBadRequest, q.Peer)
		}
		entries, err = v.Log.ByPeer(p)
	}
	var de *ledger.DamageError
	if errors.As(err, &de) {
		for _, ce := range de.Entries {
			out.damaged(ce)
		}
	} else if err != nil {
		return err
	}
	for i := len(entries) - 1; i >= 0 && (q.Limit == 0 || len(out.Receipts) < q.Limit); i-- {
		if err := v.add(out, entries[i], q.Peer); err != nil && !out.damaged(err) {
			return err
		}
	}
	return nil
}

// add lists e's receipt in out unless party is set and is not one of the
// receipt's parties.
func (v *LedgerView) add(out *Receipts, e ledger.Entry, party string) error {
	row, err := v.row(e, out.Anchored)
	if err != nil {
		return &ledger.CorruptError{Index: e.Index, Reason: "receipt does not decode", Err: err}
	}
	if party != "" && row.Receipt.Provider != party && row.Receipt.Requester != party {
		return nil
	}
	out.Receipts = append(out.Receipts, row)
	return nil
}

// damaged records err in Damaged when it is one entry's damage (a
// ledger.CorruptError with an index), and reports whether it was.
func (r *Receipts) damaged(err error) bool {
	var ce *ledger.CorruptError
	if !errors.As(err, &ce) || ce.Index < 0 {
		return false
	}
	r.Damaged = append(r.Damaged, CorruptEntry{Index: ce.Index, Reason: ce.Reason, Error: ce.Error()})
	return true
}

// Receipt implements ReceiptBackend: the proof is against the newest
// confirmed anchor covering the entry, else against the current head.
func (v *LedgerView) Receipt(ctx context.Context, id string) (ReceiptProof, error) {
	e, err := v.Log.ByReceipt(id)
	if errors.Is(err, ledger.ErrNotFound) {
		return ReceiptProof{}, fmt.Errorf("%w: no receipt %q in the ledger of %s", ErrNotFound, id, v.Self)
	}
	if err != nil {
		return ReceiptProof{}, err
	}
	r, err := e.Receipt()
	if err != nil {
		return ReceiptProof{}, err
	}
	role, other := v.role(r)
	p := ReceiptProof{
		Log: v.Self.String(), Role: role, Counterparty: other, Receipt: r,
		RequesterPays: r.Amount + r.RequesterFee, ProviderReceives: r.Amount - r.ProviderFee, PoolReceives: r.ProviderFee + r.RequesterFee,
		Signed: e.Data,
		Entry:  Entry{Index: e.Index, Time: e.Time, Kind: e.Kind, Prev: Hash(e.Prev), Hash: Hash(e.Hash), Encoded: e.Encode()},
	}
	var size int64
	var root merkle.Hash
	if a := v.confirmed(e.Index); a != nil {
		cp, _ := a.Checkpoint()
		c := *a
		p.Anchor = &c
		size, root = cp.Size, cp.Root
		p.Inclusion.Anchored = true
		p.LogSize = v.Log.Size()
	} else {
		p.NotAnchored = v.notAnchored(e.Index)
		if size, root, err = v.Log.Head(); err != nil {
			return ReceiptProof{}, err
		}
		p.LogSize = size
	}
	proof, err := v.Log.InclusionProof(e.Index, size)
	if err != nil {
		return ReceiptProof{}, fmt.Errorf("inclusion proof of entry %d in %d: %w", e.Index, size, err)
	}
	p.Inclusion.Size, p.Inclusion.Root = size, Hash(root)
	p.Inclusion.Proof = make([]Hash, len(proof))
	for i, h := range proof {
		p.Inclusion.Proof[i] = Hash(h)
	}
	if v.PeerAnchor != nil {
		if pid, err := peer.Decode(other); err == nil {
			if a, ok := v.PeerAnchor(pid); ok {
				p.PeerAnchor = &a
			}
		}
	}
	return p, nil
}

// notAnchored says why no confirmed anchor covers entry index.
func (v *LedgerView) notAnchored(index int64) string {
	for _, a := range v.Own {
		if cp, err := a.Checkpoint(); err == nil && cp.Size > index && a.State == anchor.StatePending {
			return fmt.Sprintf("pending: anchor of size %d (tx %s) not yet confirmed", cp.Size, a.Tx)
		}
	}
	if !v.Status.Enabled {
		reason := v.Status.Reason
		if reason == "" {
			reason = "anchoring off"
		}
		return reason
	}
	return "pending: the epoch holding it is not anchored yet"
}

// VerifyLedger implements ReceiptBackend.
func (v *LedgerView) VerifyLedger(ctx context.Context) (LedgerCheck, error) {
	out := LedgerCheck{Log: v.Self.String(), Size: v.Log.Size()}
	err := v.Log.Verify(ctx)
	var ce *ledger.CorruptError
	switch {
	case errors.As(err, &ce):
		out.Corrupt = &CorruptEntry{Index: ce.Index, Reason: ce.Reason, Error: err.Error()}
		return out, nil
	case err != nil:
		return out, err
	}
	size, root, err := v.Log.Head()
	if err != nil {
		return out, err
	}
	out.OK, out.Size, out.Root = true, size, Hash(root)
	for _, a := range v.Own {
		cp, err := a.Checkpoint()
		if a.State != anchor.StateConfirmed || err != nil || cp.Log != v.Self {
			continue
		}
		m := AnchorMatch{Tx: a.Tx, Size: cp.Size, Root: Hash(cp.Root)}
		got, err := v.Log.RootAt(cp.Size)
		switch {
		case err != nil:
			m.Error = err.Error()
		case got != cp.Root:
			m.Error = fmt.Sprintf("the ledger's root at size %d is %x, the anchor committed %x", cp.Size, got[:8], cp.Root[:8])
		default:
			m.Matches = true
		}
		if !m.Matches {
			out.OK = false
		}
		out.Anchors = append(out.Anchors, m)
	}
	return out, nil
}

// Balances implements ReceiptBackend.
func (v *LedgerView) Balances(ctx context.Context) (Balances, error) {
	bs, err := v.Log.Balances(v.Self)
	if err != nil {
		return Balances{}, err
	}
	out := Balances{Log: v.Self.String(), Pools: []PoolBalance{}}
	for pool, b := range bs {
		out.Pools = append(out.Pools, PoolBalance{Pool: pool, Balance: b, Net: b.Net()})
	}
	sort.Slice(out.Pools, func(i, j int) bool { return out.Pools[i].Pool < out.Pools[j].Pool })
	vouchers, err := voucherChannels(v.Log)
	if err != nil {
		return Balances{}, err
	}
	out.Vouchers = vouchers
	if v.Wallet != nil {
		out.Wallet = v.Wallet(ctx)
	}
	return out, nil
}

// voucherChannels lists the channels l holds vouchers on, then those it signed.
func voucherChannels(l *ledger.Log) ([]VoucherChannel, error) {
	held, err := settle.HeldChannels(l)
	if err != nil {
		return nil, fmt.Errorf("vouchers held: %w", err)
	}
	var out []VoucherChannel
	for _, cs := range held {
		c := channelOf(ledger.VoucherHeld, cs.Latest)
		c.Redeemed, c.Redeemable = cs.Redeemed.String(), cs.Outstanding.String()
		if r := cs.Redemption; r != nil {
			at := r.Time
			c.Redemption, c.Tx, c.RedeemedAt = r.State, r.Tx, &at
		}
		out = append(out, c)
	}
	signed, err := l.LatestVouchers(ledger.VoucherSigned)
	if err != nil {
		return nil, fmt.Errorf("vouchers signed: %w", err)
	}
	for _, v := range signed {
		out = append(out, channelOf(ledger.VoucherSigned, v))
	}
	return out, nil
}

// channelOf is a voucher record's channel for the API.
func channelOf(role string, v ledger.VoucherRecord) VoucherChannel {
	parts := strings.SplitN(v.Channel, "/", 5) // chain/contract/requester/provider/token
	for len(parts) < 5 {
		parts = append(parts, "")
	}
	return VoucherChannel{Role: role, ChainID: parts[0], Contract: parts[1], Requester: parts[2], Provider: parts[3], Token: parts[4], Nonce: v.Nonce, Cumulative: v.Cumulative}
}

// Anchors implements ReceiptBackend.
func (v *LedgerView) Anchors(ctx context.Context) (Anchors, error) {
	own := v.Own
	if own == nil {
		own = []anchor.Anchor{}
	}
	return Anchors{Status: v.Status, Anchors: own}, nil
}

// VerifyAnchor implements ReceiptBackend: anchor.VerifyOnChain on Chain.
func (v *LedgerView) VerifyAnchor(ctx context.Context, a *anchor.Anchor) (AnchorCheck, error) {
	if v.Chain == nil {
		reason := v.NoChain
		if reason == "" {
			reason = "no chain to check with"
		}
		return AnchorCheck{Reason: reason}, nil
	}
	out := AnchorCheck{Checked: true}
	out.ChainID, _ = v.Chain.ChainID(ctx)
	if err := anchor.VerifyOnChain(ctx, v.Chain, a); err != nil {
		out.Reason = err.Error()
		return out, nil
	}
	out.OK = true
	return out, nil
}
