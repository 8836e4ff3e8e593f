package node

import (
	"path/filepath"

	"github.com/gpumesh/gpumesh/ledger"
)

// LedgerDir is the folder of the node's receipt log in its data dir.
const LedgerDir = "ledger"

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
