package node

import (
	"context"
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gpu/proof"
	"github.com/gpumesh/gpumesh/gpu/proof/helper"
	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/scheduler/challenge"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// proofHelper returns the version 2 prover of [proof] helper, or nil when
// none is configured or the file is not an executable (logged: the node's
// GPU classes are then advertised unverified).
func (n *Node) proofHelper() challenge.Prover2 {
	if n.cfg.Proof.Helper == "" {
		return nil
	}
	h := helper.Helper{Path: n.cfg.Proof.Helper, Args: n.cfg.Proof.HelperArgs, Limits: n.proofLimits2()}
	if err := h.Check(); err != nil {
		n.log.Warn("proof helper not usable: GPU classes advertised unverified", "err", err)
		return nil
	}
	return challenge.HelperProver{Helper: h}
}

// proofLimits2 are the largest version 2 challenges this node accepts.
func (n *Node) proofLimits2() proof.Limits2 {
	return proof.Limits2{MaxN: proof.MaxN2, MaxPool: n.cfg.Proof.MaxPool}
}

// provable returns the classes of devices this node answers challenges
// for: its CPU classes, and its GPU classes when it has a proof helper.
func provable(devices []capacity.Device, helper bool) []string {
	var out []string
	for _, d := range devices {
		if (d.Pool == "cpu" || helper) && !slices.Contains(out, d.Class) && len(out) < capacity.MaxProvable {
			out = append(out, d.Class)
		}
	}
	return out
}

// classChallenge2 checks provider p's claim to GPU class class with a
// version 2 challenge, if p advertises a helper for it; otherwise it
// returns market.ErrUnverifiable and the class stays unverified.
func (n *Node) classChallenge2(ctx context.Context, p peer.ID, class string) (proof.Verdict, error) {
	rec, err := n.capacity.finder.Get(ctx, p)
	if err != nil {
		return proof.Verdict{}, fmt.Errorf("fetch capacity record of %s: %w", p, err)
	}
	if !slices.Contains(rec.Provable, class) {
		return proof.Verdict{}, fmt.Errorf("%w: %s runs no proof helper for %s", market.ErrUnverifiable, p, class)
	}
	v, err := challenge.Challenge2(ctx, n.net.Host(), p, challenge.Request2{Class: class})
	if err == nil && n.book != nil {
		kind := reputation.ChallengePassed
		if v.Result != proof.Pass {
			kind = reputation.ChallengeFailed
		}
		n.book.Record(p, kind, fmt.Sprintf("%s: %s", class, v.Result))
	}
	return v, err
}
