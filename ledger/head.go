package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/gpumesh/gpumesh/internal/atomicfile"
	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// headFile, in the log's directory, records the size and root at the last
// clean Close (or Open). Open checks that the log still holds that many
// entries with that root: Badger drops the tail of a write-ahead log whose
// checksum fails when it replays it, and this is what turns such a silent
// truncation into a reported one.
const headFile = "LEDGER_HEAD"

type head struct {
	Size int64       `json:"size"`
	Root merkle.Hash `json:"root"`
}

// checkHead compares the log with the head file, then rewrites the file.
func (l *Log) checkHead() error {
	path := filepath.Join(l.dir, headFile)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := l.headMissing(path); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("read %s: %w", headFile, err)
	default:
		var h head
		if err := json.Unmarshal(data, &h); err != nil {
			return corrupt(-1, err, "%s unreadable", headFile)
		}
		if h.Size > l.size {
			return corrupt(l.size, nil, "log has %d entries but held %d when last closed: entries from %d on are lost", l.size, h.Size, l.size)
		}
		var root merkle.Hash
		err := l.db.View(func(txn *badger.Txn) error {
			var err error
			root, err = merkle.Root(h.Size, txnStore{txn})
			return err
		})
		if err != nil {
			return corrupt(-1, err, "root at last close (size %d) unreadable", h.Size)
		}
		if root != h.Root {
			return corrupt(-1, nil, "root of the first %d entries changed since the last close", h.Size)
		}
	}
	return l.writeHead()
}

// RebuildHeadHint says how to recover from ErrHeadMissing.
const RebuildHeadHint = "if only this file was lost, stop the node and run `gpumesh receipts verify --all --rebuild-head`: it checks every entry, then writes a new head (a tail lost together with the file would go unnoticed)"

// headMissing decides on a log without a head file: fine when it is empty
// (fresh), accepted after a whole Verify with Options.RebuildHead, and
// otherwise refused with ErrHeadMissing.
func (l *Log) headMissing(path string) error {
	if l.size == 0 {
		return nil
	}
	if !l.opts.RebuildHead {
		return corrupt(-1, ErrHeadMissing, "%s is missing but the log holds %d entries; %s", path, l.size, RebuildHeadHint)
	}
	if err := l.Verify(context.Background()); err != nil {
		return fmt.Errorf("rebuild %s: %w", headFile, err)
	}
	l.log.Warn("ledger head file was missing: rebuilt after checking every entry", "file", path, "entries", l.size)
	return nil
}

// writeHead records the current size and root, crash-safe (atomicfile).
func (l *Log) writeHead() error {
	var h head
	h.Size = l.size
	err := l.db.View(func(txn *badger.Txn) error {
		var err error
		h.Root, err = merkle.Root(h.Size, txnStore{txn})
		return err
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", headFile, err)
	}
	data, _ := json.Marshal(h)
	if err := atomicfile.WriteFile(filepath.Join(l.dir, headFile), data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", headFile, err)
	}
	return nil
}
