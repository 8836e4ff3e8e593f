package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/ledger/anchor/evm"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// LedgerDir is the folder of the node's receipt log in its data dir.
const LedgerDir = "ledger"

// maxPeerAnchors bounds the peers whose latest anchor the node remembers.
const maxPeerAnchors = 4096

// anchorLife is how long an anchor announcement stays valid on gossip.
const anchorLife = 30 * time.Minute

// openLedger opens the node's receipt log, which checks its tail and
// recovers from a crash.
func (n *Node) openLedger() error {
	l, err := ledger.Open(filepath.Join(n.opts.DataDir, LedgerDir), ledger.Options{
		Self: n.PeerID(), Logger: n.log.With("component", "ledger"),
	})
	if err != nil {
		return err
	}
	n.ledger = l
	return nil
}

// Ledger is the node's receipt log.
func (n *Node) Ledger() *ledger.Log { return n.ledger }

// peerAnchors are the latest anchors other nodes announced.
type peerAnchors struct {
	mu     sync.Mutex
	latest map[peer.ID]anchor.Anchor
}

// startAnchoring connects to the chain [anchor] names, if any, and runs the
// anchorer over the ledger; confirmed anchors are announced on the anchors
// topic. With no chain, the anchorer only reports that anchoring is off. A
// chain that cannot be reached at start leaves anchoring off with the
// reason in its status: the node still serves work.
func (n *Node) startAnchoring(ctx, life context.Context) error {
	n.anchors = &peerAnchors{latest: map[peer.ID]anchor.Anchor{}}
	n.gossip.Allow(gossip.TopicAnchors, gossip.AnchorType)
	n.gossip.Handle(gossip.TopicAnchors, n.onAnchor)
	cfg := n.cfg.Anchor
	var backend anchor.Backend
	if n.opts.Chain != nil {
		backend = n.opts.Chain
	} else {
		chain, err := evm.Open(ctx, cfg, os.Getenv)
		switch {
		case errors.Is(err, evm.ErrOff):
		case err != nil:
			n.log.Error("anchoring off: the chain could not be opened", "err", err)
			n.anchorErr = "anchoring off: " + err.Error()
		default:
			n.chain, backend = chain, chain
		}
	}
	a, err := anchor.New(cfg, n.ledger, backend, n.key, anchor.Options{
		Dir: n.opts.DataDir, OnAnchored: n.announceAnchor, Log: n.log.With("component", "anchor"),
	})
	if err != nil {
		return fmt.Errorf("anchor: %w", err)
	}
	n.anchorer = a
	if backend != nil {
		n.wg.Go(func() { _ = a.Run(life) })
	}
	return nil
}

// announceAnchor publishes a confirmed anchor on the anchors topic.
func (n *Node) announceAnchor(a anchor.Anchor) {
	b, err := a.Marshal()
	if err != nil {
		n.log.Error("anchor not announced", "err", err)
		return
	}
	now := time.Now()
	msg := &gossip.AnchorAnnouncement{Seq: gossip.ClockSeq(now), Sent: now, Expires: now.Add(anchorLife), Anchor: b}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.gossip.Publish(ctx, gossip.TopicAnchors, msg); err != nil {
		n.log.Warn("anchor not announced", "tx", a.Tx, "err", err)
	}
}

// onAnchor keeps a peer's announced anchor once it checks out: the record
// decodes, its checkpoint is signed by the announcing peer's own key, and it
// extends the peer's previous anchor. What it claims on chain is checked by
// whoever verifies a receipt against it.
func (n *Node) onAnchor(r gossip.Received) {
	msg, ok := r.Msg.(*gossip.AnchorAnnouncement)
	if !ok {
		return
	}
	a, err := anchor.UnmarshalAnchor(msg.Anchor)
	var cp *anchor.Checkpoint
	if err == nil {
		cp, err = a.Checkpoint()
	}
	if err == nil && cp.Log != r.From {
		err = fmt.Errorf("checkpoint of %s announced by %s", cp.Log, r.From)
	}
	pa := n.anchors
	pa.mu.Lock()
	defer pa.mu.Unlock()
	if prev, had := pa.latest[r.From]; err == nil && had {
		if prevCP, perr := prev.Checkpoint(); perr == nil && prevCP.Size > cp.Size {
			return // an older anchor, arriving late
		}
		err = a.Extends(&prev)
	}
	if err != nil {
		n.book.Record(r.From, reputation.Violation, "anchor announcement: "+err.Error())
		n.log.Info("anchor announcement refused", "peer", r.From, "err", err)
		return
	}
	if _, had := pa.latest[r.From]; !had && len(pa.latest) >= maxPeerAnchors {
		return
	}
	pa.latest[r.From] = *a
}

// PeerAnchor is the latest anchor p announced, if any.
func (n *Node) PeerAnchor(p peer.ID) (anchor.Anchor, bool) {
	if n.anchors == nil {
		return anchor.Anchor{}, false
	}
	n.anchors.mu.Lock()
	defer n.anchors.mu.Unlock()
	a, ok := n.anchors.latest[p]
	return a, ok
}

// Anchoring is the anchorer's status: off and why, the last anchor,
// pending ones and errors.
func (n *Node) Anchoring() anchor.Status {
	if n.anchorer == nil {
		return anchor.Status{Reason: "the node is not running"}
	}
	st := n.anchorer.Status()
	if n.anchorErr != "" && !st.Enabled {
		st.Reason = n.anchorErr
	}
	return st
}

// Anchorer is the node's anchorer (nil before Start).
func (n *Node) Anchorer() *anchor.Anchorer { return n.anchorer }

// Chain is the chain the node anchors on, nil when anchoring is off.
func (n *Node) Chain() anchor.Backend {
	switch {
	case n.opts.Chain != nil:
		return n.opts.Chain
	case n.chain != nil:
		return n.chain
	}
	return nil
}
