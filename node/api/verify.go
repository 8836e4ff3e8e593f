package api

import (
	"bytes"

	"fmt"

	"github.com/gpumesh/gpumesh/internal/human"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// The outcomes of a Check.
const (
	// CheckPass is a check that ran and held.
	CheckPass = "pass"
	// CheckFail is a check that ran and did not hold.
	CheckFail = "fail"
	// CheckWarn is a check that could not run (not anchored yet, no chain to ask).
	CheckWarn = "warn"
)

// Check is one check of a receipt proof, as `gpumesh receipts verify`
// prints it.
type Check struct {
	Name    string `json:"name"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail"`
}

// checks collects Checks.
type checks []Check

func (c *checks) add(name, outcome, format string, a ...any) {
	*c = append(*c, Check{Name: name, Outcome: outcome, Detail: fmt.Sprintf(format, a...)})
}

// ProofChecks runs the checks of a receipt proof that need nothing but
// the proof, trusting none of it: both signatures and the arithmetic
// (ledger.Verify), and that the receipt is want when want is a full
// receipt ID; that the ledger entry's bytes hash to the entry hash and
// hold these signed bytes; the anchored checkpoint's signature by the
// ledger's peer; the inclusion proof against that checkpoint's root (or
// the ledger's current one when not anchored). A proof not anchored yet
// gets unanchored as its checkpoint's outcome (CheckWarn, or CheckFail
// where an anchor is required). anchored says the checkpoint held, so
// the commitment on chain is the check left to run, by the caller.
func ProofChecks(p ReceiptProof, want, unanchored string) (out []Check, anchored bool) {
	var c checks
	leaf := c.signedAndEntry(p, want)
	size, root := p.Inclusion.Size, p.Inclusion.Root
	if p.Anchor != nil {
		cp, err := anchor.OpenCheckpoint(p.Anchor.Envelope)
		switch {
		case err != nil:
			c.add("checkpoint", CheckFail, "%v", err)
		case cp.Log.String() != p.Log:
			c.add("checkpoint", CheckFail, "the checkpoint is of log %s, the receipt's ledger is %s", cp.Log, p.Log)
		default:
			if verr := p.Anchor.Validate(); verr != nil {
				c.add("checkpoint", CheckFail, "%v", verr)
				break
			}
			c.add("checkpoint", CheckPass, "size %d root %s signed by the ledger's peer %s", cp.Size, shortHash(Hash(cp.Root)), shortPeer(p.Log))
			size, root, anchored = cp.Size, Hash(cp.Root), true
		}
	} else {
		c.add("checkpoint", unanchored, "not anchored yet (anchoring off / pending): %s", p.NotAnchored)
	}
	proof := make([]merkle.Hash, len(p.Inclusion.Proof))
	for i, h := range p.Inclusion.Proof {
		proof[i] = merkle.Hash(h)
	}
	switch err := merkle.VerifyInclusion(leaf, p.Entry.Index, size, proof, merkle.Hash(root)); {
	case err != nil:
		c.add("inclusion", CheckFail, "entry %d not in the tree of size %d root %s: %v", p.Entry.Index, size, shortHash(root), err)
	case anchored:
		c.add("inclusion", CheckPass, "entry %d is in the anchored tree of %s (root %s)", p.Entry.Index, human.Plural(size, "entry"), shortHash(root))
	default:
		c.add("inclusion", CheckPass, "entry %d is in the ledger's current tree of %s (root %s; not anchored)", p.Entry.Index, human.Plural(size, "entry"), shortHash(root))
	}
	return c, anchored
}

// signedAndEntry checks the signatures and the ledger entry, and returns
// the entry's leaf hash.
func (c *checks) signedAndEntry(p ReceiptProof, want string) merkle.Hash {
	s, err := ledger.UnmarshalSigned(p.Signed)
	var r ledger.Receipt
	if err == nil {
		r, err = ledger.Verify(s)
	}
	switch {
	case err != nil:
		c.add("signatures", CheckFail, "%v", err)
	case r.ID != p.Receipt.ID || (len(want) == len(r.ID) && r.ID != want):
		c.add("signatures", CheckFail, "the signed receipt is %s, not the one asked for", r.ID)
	default:
		c.add("signatures", CheckPass, "provider %s signed, requester %s countersigned; GPU time, amount and fees add up", shortPeer(r.Provider), shortPeer(r.Requester))
	}
	leaf := merkle.LeafHash(p.Entry.Encoded)
	e, err := ledger.DecodeEntry(p.Entry.Encoded)
	switch {
	case err != nil:
		c.add("entry", CheckFail, "entry %d: %v", p.Entry.Index, err)
	case Hash(leaf) != p.Entry.Hash:
		c.add("entry", CheckFail, "entry %d: its bytes hash to %s, not to the entry hash %s", p.Entry.Index, Hash(leaf), p.Entry.Hash)
	case e.Index != p.Entry.Index || Hash(e.Prev) != p.Entry.Prev:
		c.add("entry", CheckFail, "entry %d: its bytes say index %d, prev %s", p.Entry.Index, e.Index, Hash(e.Prev))
	case e.Kind != ledger.KindReceipt || !bytes.Equal(e.Data, p.Signed):
		c.add("entry", CheckFail, "entry %d does not hold these signed bytes", p.Entry.Index)
	default:
		c.add("entry", CheckPass, "entry %d: its %d bytes hash to %s and hold these signed bytes", e.Index, len(p.Entry.Encoded), shortHash(p.Entry.Hash))
	}
	return leaf
}

// shortHash is a hash's first 16 hex digits, for a check's detail.
func shortHash(h Hash) string { return h.String()[:16] }

// shortPeer is a peer ID's last 8 characters, for a check's detail.
func shortPeer(id string) string {
	if len(id) > 8 {
		return "…" + id[len(id)-8:]
	}
	return id
}

// OnChainCheck is the check named name from a node's answer (VerifyAnchor)
// to whether a's transaction carries its checkpoint's commitment: a check
// that could not run gets unchecked (CheckWarn, or CheckFail where an
// anchor is required); a pass's detail ends with note.
func OnChainCheck(name string, a *anchor.Anchor, ac AnchorCheck, err error, unchecked, note string) Check {
	var c checks
	switch {
	case err != nil:
		c.add(name, unchecked, "not checked: %v", err)
	case !ac.Checked:
		c.add(name, unchecked, "not checked: %s", ac.Reason)
	case !ac.OK:
		c.add(name, CheckFail, "%s", ac.Reason)
	default:
		c.add(name, CheckPass, "tx %s on chain %d carries the checkpoint's commitment%s", a.Tx, ac.ChainID, note)
	}
	return c[0]
}
