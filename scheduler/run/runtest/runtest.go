// Package runtest holds what tests of the run protocol share with the bad
// actors of node/nodetest: ways to spoil a run's outputs on purpose.
package runtest

import (
	"io/fs"
	"os"
	"path/filepath"
)

// InvertFiles inverts every byte of every regular file under dir, and
// gives an empty one a byte, so each file's digest changes. Errors are
// ignored: this is a saboteur.
func InvertFiles(dir string) {
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		for i := range b {
			b[i] = ^b[i]
		}
		if len(b) == 0 {
			b = []byte{0xff}
		}
		_ = os.WriteFile(path, b, 0o644)
		return nil
	})
}
