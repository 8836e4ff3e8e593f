package anchor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gpumesh/gpumesh/internal/atomicfile"
)

// FileName is the anchors file inside the anchorer's folder.
const FileName = "anchors.json"

// FileVersion is the version of the anchors file. Version 1:
//
//	{"version": 1, "anchors": [<Anchor>, ...]}   oldest first
const FileVersion = 1

// MaxKept is how many anchors the file keeps, newest last. Older ones are
// not needed to verify anything: the newest confirmed anchor covers every
// entry below its size.
const MaxKept = 512

// ErrCorrupt means the anchors file could not be used. LoadAnchors moves it
// aside to FileName + ".corrupt" and returns no anchors with an error
// wrapping ErrCorrupt: the next anchor then starts without a consistency
// proof, and nothing in the ledger itself is lost.
var ErrCorrupt = errors.New("anchors file unusable")

type anchorsFile struct {
	Version int       `json:"version"`
	Anchors []*Anchor `json:"anchors"`
}

// LoadAnchors reads dir's anchors file, oldest first; no file means none.
func LoadAnchors(dir string) ([]*Anchor, error) {
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read anchors: %w", err)
	}
	var f anchorsFile
	err = json.Unmarshal(data, &f)
	if err == nil && f.Version != FileVersion {
		err = fmt.Errorf("version %d, want %d", f.Version, FileVersion)
	}
	if err == nil {
		for i, a := range f.Anchors {
			if a == nil {
				err = fmt.Errorf("anchor %d: null", i)
			} else if verr := a.Validate(); verr != nil {
				err = fmt.Errorf("anchor %d: %w", i, verr)
			}
			if err != nil {
				break
			}
		}
	}
	if err != nil {
		err = fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
		aside := path + ".corrupt"
		if mvErr := os.Rename(path, aside); mvErr != nil {
			return nil, errors.Join(err, fmt.Errorf("move it aside: %w", mvErr))
		}
		return nil, fmt.Errorf("%w (moved to %s)", err, aside)
	}
	return f.Anchors, nil
}

// saveAnchors writes the newest MaxKept anchors to dir's file so that a
// crash leaves the old file or the new one, never a torn one.
func saveAnchors(dir string, anchors []*Anchor) error {
	if len(anchors) > MaxKept {
		anchors = anchors[len(anchors)-MaxKept:]
	}
	data, err := json.MarshalIndent(anchorsFile{Version: FileVersion, Anchors: anchors}, "", "  ")
	if err == nil {
		err = atomicfile.WriteFile(filepath.Join(dir, FileName), data, 0o600)
	}
	if err != nil {
		return fmt.Errorf("save anchors: %w", err)
	}
	return nil
}
