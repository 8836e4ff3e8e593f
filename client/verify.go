package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/ledger/merkle"
	"github.com/gpumesh/gpumesh/node/api"
)

// ErrNotVerified is returned by Verify when a check failed.
var ErrNotVerified = errors.New("receipt not verified")

// The outcomes of a Check.
const (
	// CheckPass is a check that ran and held.
	CheckPass = "pass"
	// CheckFail is a check that ran and did not hold.
	CheckFail = "fail"
	// CheckWarn is a check that could not run (not anchored yet, no chain to ask).
	CheckWarn = "warn"
)

// Check is one of Verify's checks, as `gpumesh receipts verify` prints it.
type Check struct {
	Name    string `json:"name"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail"`
}

// Report is what Verify found.
type Report struct {
	// Receipt is the receipt's ID, Ledger the peer whose ledger holds it.
	Receipt string `json:"receipt"`
	Ledger  string `json:"ledger"`
	// OK says no check failed (warnings allowed).
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

func (r *Report) add(name, outcome, format string, a ...any) {
	r.Checks = append(r.Checks, Check{Name: name, Outcome: outcome, Detail: fmt.Sprintf(format, a...)})
}

// Receipts returns the proofs of a job's receipts in the client's ledger
// (one per worker's provider, signed by it and countersigned here), each
// with its ledger entry, inclusion proof and anchor when there is one.
func (c *Client) Receipts(ctx context.Context, jobID string) ([]api.ReceiptProof, error) {
	n, err := c.live()
	if err != nil {
		return nil, err
	}
	entries, err := n.Ledger().ByJob(jobID)
	if err != nil {
		return nil, fmt.Errorf("client: receipts of job %q: %w", jobID, err)
	}
	proofs := make([]api.ReceiptProof, 0, len(entries))
	for _, e := range entries {
		r, err := e.Receipt()
		if err != nil {
			return nil, fmt.Errorf("client: receipts of job %q: entry %d: %w", jobID, e.Index, err)
		}
		p, err := n.Receipt(ctx, r.ID)
		if err != nil {
			return nil, fmt.Errorf("client: receipt %s: %w", r.ID, err)
		}
		proofs = append(proofs, p)
	}
	return proofs, nil
}

// Verify checks a receipt's proof the way `gpumesh receipts verify` does,
// trusting none of it: both signatures and the arithmetic (ledger.Verify);
// that the ledger entry's bytes hash to the entry hash and hold these
// signed bytes; the anchored checkpoint's signature by the ledger's peer;
// the inclusion proof against that checkpoint's root (or the current
// head's when not anchored); and the commitment on chain, through the
// client's chain when it anchors. A receipt not anchored yet is a warning.
// The error wraps ErrNotVerified when a check failed; the report says which.
func (c *Client) Verify(ctx context.Context, p api.ReceiptProof) (Report, error) {
	n, err := c.live()
	if err != nil {
		return Report{}, err
	}
	return verifyProof(ctx, p, n)
}

// verifyProof is Verify, the chain asked through src.
func verifyProof(ctx context.Context, p api.ReceiptProof, src anchorChecker) (Report, error) {
	rep := Report{Receipt: p.Receipt.ID, Ledger: p.Log}
	leaf := checkSigned(&rep, p)
	size, root, anchored := checkCheckpoint(&rep, p)
	checkInclusion(&rep, p, leaf, size, root, anchored)
	if anchored {
		checkOnChain(ctx, &rep, src, p.Anchor)
	} else if p.Anchor == nil {
		rep.add("on chain", CheckWarn, "not anchored yet (anchoring off / pending): %s", p.NotAnchored)
	}
	rep.OK = true
	for _, ch := range rep.Checks {
		if ch.Outcome == CheckFail {
			rep.OK = false
			return rep, fmt.Errorf("client: receipt %s: %w: %s: %s", p.Receipt.ID, ErrNotVerified, ch.Name, ch.Detail)
		}
	}
	return rep, nil
}

// checkSigned checks the signatures and the ledger entry, and returns the
// entry's leaf hash.
func checkSigned(rep *Report, p api.ReceiptProof) merkle.Hash {
	s, err := ledger.UnmarshalSigned(p.Signed)
	var r ledger.Receipt
	if err == nil {
		r, err = ledger.Verify(s)
	}
	switch {
	case err != nil:
		rep.add("signatures", CheckFail, "%v", err)
	case r.ID != p.Receipt.ID:
		rep.add("signatures", CheckFail, "the signed receipt is %s, not %s", r.ID, p.Receipt.ID)
	default:
		rep.add("signatures", CheckPass, "provider %s signed, requester %s countersigned; GPU time, amount and fees add up", r.Provider, r.Requester)
	}
	leaf := merkle.LeafHash(p.Entry.Encoded)
	e, err := ledger.DecodeEntry(p.Entry.Encoded)
	switch {
	case err != nil:
		rep.add("entry", CheckFail, "entry %d: %v", p.Entry.Index, err)
	case api.Hash(leaf) != p.Entry.Hash:
		rep.add("entry", CheckFail, "entry %d: its bytes hash to %s, not to the entry hash %s", p.Entry.Index, api.Hash(leaf), p.Entry.Hash)
	case e.Index != p.Entry.Index || api.Hash(e.Prev) != p.Entry.Prev:
		rep.add("entry", CheckFail, "entry %d: its bytes say index %d, prev %s", p.Entry.Index, e.Index, api.Hash(e.Prev))
	case e.Kind != ledger.KindReceipt || !bytes.Equal(e.Data, p.Signed):
		rep.add("entry", CheckFail, "entry %d does not hold these signed bytes", p.Entry.Index)
	default:
		rep.add("entry", CheckPass, "entry %d: its %d bytes hash to %s and hold these signed bytes", e.Index, len(p.Entry.Encoded), p.Entry.Hash)
	}
	return leaf
}

// checkCheckpoint checks the anchored checkpoint, if any, and returns the
// tree the inclusion proof is checked against.
func checkCheckpoint(rep *Report, p api.ReceiptProof) (size int64, root api.Hash, anchored bool) {
	size, root = p.Inclusion.Size, p.Inclusion.Root
	if p.Anchor == nil {
		rep.add("checkpoint", CheckWarn, "not anchored yet (anchoring off / pending): %s", p.NotAnchored)
		return size, root, false
	}
	cp, err := anchor.OpenCheckpoint(p.Anchor.Envelope)
	switch {
	case err != nil:
		rep.add("checkpoint", CheckFail, "%v", err)
	case cp.Log.String() != p.Log:
		rep.add("checkpoint", CheckFail, "the checkpoint is of log %s, the receipt's ledger is %s", cp.Log, p.Log)
	default:
		if err := p.Anchor.Validate(); err != nil {
			rep.add("checkpoint", CheckFail, "%v", err)
			break
		}
		rep.add("checkpoint", CheckPass, "size %d root %s signed by the ledger's peer %s", cp.Size, api.Hash(cp.Root), p.Log)
		return cp.Size, api.Hash(cp.Root), true
	}
	return size, root, false
}

// checkInclusion checks the entry's inclusion proof against root.
func checkInclusion(rep *Report, p api.ReceiptProof, leaf merkle.Hash, size int64, root api.Hash, anchored bool) {
	proof := make([]merkle.Hash, len(p.Inclusion.Proof))
	for i, h := range p.Inclusion.Proof {
		proof[i] = merkle.Hash(h)
	}
	tree := "the ledger's current tree (not anchored)"
	if anchored {
		tree = "the anchored tree"
	}
	if err := merkle.VerifyInclusion(leaf, p.Entry.Index, size, proof, merkle.Hash(root)); err != nil {
		rep.add("inclusion", CheckFail, "entry %d not in the tree of size %d root %s: %v", p.Entry.Index, size, root, err)
		return
	}
	rep.add("inclusion", CheckPass, "entry %d is in %s of size %d, root %s", p.Entry.Index, tree, size, root)
}

// anchorChecker is the part of the node that asks its chain.
type anchorChecker interface {
	VerifyAnchor(ctx context.Context, a *anchor.Anchor) (api.AnchorCheck, error)
}

// checkOnChain asks the client's chain whether the anchor's transaction
// carries the checkpoint's commitment.
func checkOnChain(ctx context.Context, rep *Report, src anchorChecker, a *anchor.Anchor) {
	ac, err := src.VerifyAnchor(ctx, a)
	switch {
	case err != nil:
		rep.add("on chain", CheckWarn, "not checked: %v", err)
	case !ac.Checked:
		rep.add("on chain", CheckWarn, "not checked: %s", ac.Reason)
	case !ac.OK:
		rep.add("on chain", CheckFail, "%s", ac.Reason)
	default:
		rep.add("on chain", CheckPass, "tx %s on chain %d carries the checkpoint's commitment", a.Tx, ac.ChainID)
	}
}
