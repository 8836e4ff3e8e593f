package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/node/api"
)

// ErrNotVerified is returned by Verify when a check failed.
var ErrNotVerified = errors.New("receipt not verified")

// The outcomes of a Check.
const (
	// CheckPass is a check that ran and held.
	CheckPass = api.CheckPass
	// CheckFail is a check that ran and did not hold.
	CheckFail = api.CheckFail
	// CheckWarn is a check that could not run (not anchored yet, no chain to ask).
	CheckWarn = api.CheckWarn
)

// Check is one of Verify's checks, as `gpumesh receipts verify` prints it.
type Check = api.Check

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
	checks, anchored := api.ProofChecks(p, "", CheckWarn)
	rep.Checks = append(rep.Checks, checks...)
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

// anchorChecker is the part of the node that asks its chain.
type anchorChecker interface {
	VerifyAnchor(ctx context.Context, a *anchor.Anchor) (api.AnchorCheck, error)
}

// checkOnChain asks the client's chain whether the anchor's transaction
// carries the checkpoint's commitment.
func checkOnChain(ctx context.Context, rep *Report, src anchorChecker, a *anchor.Anchor) {
	ac, err := src.VerifyAnchor(ctx, a)
	rep.Checks = append(rep.Checks, api.OnChainCheck("on chain", a, ac, err, CheckWarn, ""))
}
