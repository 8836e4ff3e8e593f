package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// WriteFile writes data to path with mode perm so that a crash leaves either
// the old file or the new one. It returns the error of any step; on failure
// the old file is untouched (unless only the folder sync failed, which
// happens after the rename) and no temp file is left behind.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return WriteFunc(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFunc is WriteFile for content that fill writes, such as bytes
// streamed from the network: the file appears at path only if fill returns
// nil, and fill's own error is returned as it is.
func WriteFunc(path string, perm os.FileMode, fill func(w io.Writer) error) error {
	return write(path, perm, fill, syncDir)
}

// write does WriteFunc's work with syncDir as the folder sync, so that a
// test can make that last step fail.
func write(path string, perm os.FileMode, fill func(w io.Writer) error, syncDir func(dir string) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // created 0600
	if err != nil {
		return err
	}
	closed, renamed := false, false
	defer func() {
		if err == nil || renamed {
			return
		}
		if !closed {
			_ = tmp.Close() // the write already failed; this error adds nothing
		}
		if rmErr := os.Remove(tmp.Name()); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove temp file: %w", rmErr))
		}
	}()
	if err := tmp.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		return err
	}
	if err := fill(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	closed = true
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	renamed = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("sync folder of %s: %w", path, err)
	}
	return nil
}

// syncDir flushes dir's entries (the rename) to disk. Windows cannot sync
// a folder; there it does nothing.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
