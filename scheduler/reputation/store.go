package reputation

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/internal/atomicfile"
)

// FileVersion is the version of the file format Save writes. Version 1:
//
//	{"version": 1, "peers": {"<peer ID>": {"counts": {"<kind>": n}, "updated": t,
//	  "first_seen": t, "last_seen": t, "events": [{"kind", "at", "detail"}]}}}
const FileVersion = 1

// ErrCorrupt means the reputation file could not be used: it does not
// decode, holds impossible values, or was written by a newer version. Open
// returns an error wrapping it together with a usable, empty Book.
var ErrCorrupt = errors.New("reputation file unusable")

type file struct {
	Version int               `json:"version"`
	Peers   map[string]*entry `json:"peers"`
}

// Open returns the book stored at path, or an empty one if there is no file;
// path "" keeps the book in memory only. now is the clock (time.Now if nil).
// A file that cannot be used is renamed to path + ".corrupt" (replacing an
// older one), and Open returns an empty book with an error wrapping
// ErrCorrupt, which the caller should log and otherwise ignore. Any other
// error (an invalid cfg, an unreadable file) comes with a nil Book.
func Open(path string, cfg Config, now func() time.Time) (*Book, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("reputation config: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	b := &Book{path: path, cfg: cfg.withDefaults(), now: now, peers: map[peer.ID]*entry{}}
	if path == "" {
		return b, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return b, nil
	} else if err != nil {
		return nil, fmt.Errorf("read reputation: %w", err)
	}
	peers, err := decode(data)
	if err != nil {
		err = fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
		aside := path + ".corrupt"
		if mvErr := os.Rename(path, aside); mvErr != nil {
			return b, errors.Join(err, fmt.Errorf("move it aside: %w", mvErr))
		}
		return b, fmt.Errorf("%w (moved to %s)", err, aside)
	}
	b.peers = peers
	for len(b.peers) > b.cfg.MaxPeers {
		b.evictLocked()
	}
	return b, nil
}

// decode parses a file, returning every problem found in it.
func decode(data []byte) (map[peer.ID]*entry, error) {
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	if f.Version != FileVersion {
		return nil, fmt.Errorf("version %d, want %d", f.Version, FileVersion)
	}
	var errs []error
	peers := make(map[peer.ID]*entry, len(f.Peers))
	for key, e := range f.Peers {
		p, err := peer.Decode(key)
		if err != nil {
			errs = append(errs, fmt.Errorf("peer %q: %w", key, err))
			continue
		}
		if e == nil {
			errs = append(errs, fmt.Errorf("peer %s: null", key))
			continue
		}
		counts := make(map[Kind]float64, len(e.Counts))
		for k, v := range e.Counts {
			if math.IsNaN(v) || v < 0 || v > maxCount {
				errs = append(errs, fmt.Errorf("peer %s: %s count %v out of range", key, k, v))
			}
			if k.Valid() { // kinds a newer build added without a new version are dropped
				counts[k] = v
			}
		}
		e.Counts = counts
		e.Events = slices.DeleteFunc(e.Events, func(ev Event) bool { return !ev.Kind.Valid() })
		if len(e.Events) > MaxEvents {
			e.Events = e.Events[len(e.Events)-MaxEvents:]
		}
		for i := range e.Events {
			e.Events[i].Detail = clip(e.Events[i].Detail)
		}
		peers[p] = e
	}
	return peers, errors.Join(errs...)
}

// Save writes the book to its file so that a crash leaves the old file or
// the new one, never a torn one. It does nothing for a book kept in memory.
func (b *Book) Save() error {
	if b.path == "" {
		return nil
	}
	b.saveMu.Lock()
	defer b.saveMu.Unlock()
	b.mu.Lock()
	f := file{Version: FileVersion, Peers: make(map[string]*entry, len(b.peers))}
	for p, e := range b.peers {
		f.Peers[p.String()] = e
	}
	data, err := json.Marshal(f)
	b.dirty = false
	b.mu.Unlock()
	if err == nil {
		err = atomicfile.WriteFile(b.path, data, 0o600)
	}
	if err != nil {
		b.mu.Lock()
		b.dirty = true
		b.mu.Unlock()
		return fmt.Errorf("save reputation: %w", err)
	}
	return nil
}
