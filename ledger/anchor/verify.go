package anchor

import (
	"context"
	"errors"
	"fmt"

	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// ErrNotAnchored means a chain does not hold an anchor's commitment: the
// transaction is missing, pending, reverted, on another chain, or carries
// other data. The error's text says which.
var ErrNotAnchored = errors.New("not anchored")

// VerifyOnChain checks an anchor against the chain b serves: the record is
// valid on its own (signed checkpoint, consistency proof), b is the anchor's
// chain, the transaction is mined in a canonical block, did not revert, and
// its calldata is exactly this checkpoint's Commitment.
//
// The sender does not matter and is not checked: the checkpoint's signature
// says who vouches for the root, and the transaction only proves that the
// root existed by the time of its block. Anyone may pay to anchor anyone's
// signed checkpoint. Nor do the recorded block number and hash: after a
// reorg the same transaction may sit in another block and still count.
//
// Errors wrap ErrNotAnchored, ErrBadAnchor or the backend's ErrTimeout.
func VerifyOnChain(ctx context.Context, b Backend, a *Anchor) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadAnchor, err)
	}
	cp, _ := a.Checkpoint()
	if a.Tx.IsZero() {
		return fmt.Errorf("%w: the anchor names no transaction", ErrNotAnchored)
	}
	id, err := b.ChainID(ctx)
	if err != nil {
		return fmt.Errorf("verify anchor: chain id: %w", err)
	}
	if id != a.ChainID {
		return fmt.Errorf("%w: anchored on chain %d, the node serves chain %d", ErrNotAnchored, a.ChainID, id)
	}
	tx, err := b.Lookup(ctx, a.Tx)
	switch {
	case errors.Is(err, ErrNotFound):
		return fmt.Errorf("%w: tx %s not found: dropped by a reorg?", ErrNotAnchored, a.Tx)
	case err != nil:
		return fmt.Errorf("verify anchor: look up tx %s: %w", a.Tx, err)
	case tx.Pending:
		return fmt.Errorf("%w: tx %s is pending, not yet mined", ErrNotAnchored, a.Tx)
	case tx.Failed:
		return fmt.Errorf("%w: tx %s reverted in block %d", ErrNotAnchored, a.Tx, tx.Block)
	}
	got, err := DecodeCommitment(tx.Data)
	if err != nil {
		return fmt.Errorf("%w: tx %s: %w", ErrNotAnchored, a.Tx, err)
	}
	if err := got.Diff(CommitmentOf(cp)); err != nil {
		return fmt.Errorf("%w: tx %s: %w", ErrNotAnchored, a.Tx, err)
	}
	return nil
}

// VerifyEntry checks that the entry whose leaf hash is leaf sits at index in
// the log an anchor commits to: proof is its inclusion proof for the
// anchored size, checked against the anchored root after VerifyOnChain.
func VerifyEntry(ctx context.Context, b Backend, a *Anchor, leaf merkle.Hash, index int64, proof []merkle.Hash) error {
	if err := VerifyOnChain(ctx, b, a); err != nil {
		return err
	}
	cp, _ := a.Checkpoint()
	if err := merkle.VerifyInclusion(leaf, index, cp.Size, proof, cp.Root); err != nil {
		return fmt.Errorf("entry %d not in the log anchored at size %d root %s: %w", index, cp.Size, short(cp.Root), err)
	}
	return nil
}

// Extends checks that a continues prev: the same log, and a's consistency
// proof starts from prev's checkpoint. With Validate (which checks the proof
// itself), it shows the log prev anchored was only appended to.
func (a *Anchor) Extends(prev *Anchor) error {
	cp, err := a.Checkpoint()
	if err != nil {
		return err
	}
	pcp, err := prev.Checkpoint()
	if err != nil {
		return fmt.Errorf("previous anchor: %w", err)
	}
	var errs []error
	if cp.Log != pcp.Log {
		errs = append(errs, fmt.Errorf("log %s follows an anchor of log %s", cp.Log, pcp.Log))
	}
	if a.PrevSize != pcp.Size {
		errs = append(errs, fmt.Errorf("previous size %d, the previous anchor has %d", a.PrevSize, pcp.Size))
	}
	if a.PrevRoot != pcp.Root {
		errs = append(errs, fmt.Errorf("previous root %s, the previous anchor has %s", short(a.PrevRoot), short(pcp.Root)))
	}
	return errors.Join(errs...)
}
