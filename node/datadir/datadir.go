// Package datadir manages a node's home folder: where it is by default on
// each OS, the lock that keeps two nodes out of one folder, and crash-safe
// file writes (through internal/atomicfile) for everything kept there.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/gofrs/flock"

	"github.com/gpumesh/gpumesh/internal/atomicfile"
)

// EnvVar names the environment variable that overrides the default data dir.
const EnvVar = "GPUMESH_DATA_DIR"

// ErrLocked is returned by Acquire when another process holds the data dir.
var ErrLocked = errors.New("data dir is in use by another gpumesh node")

// Default returns the data dir: $GPUMESH_DATA_DIR if set, else the OS
// convention: $XDG_DATA_HOME/gpumesh or ~/.local/share/gpumesh on Linux and
// BSDs, ~/Library/Application Support/gpumesh on macOS, %LocalAppData%\gpumesh
// on Windows.
func Default() (string, error) {
	if d := os.Getenv(EnvVar); d != "" {
		return d, nil
	}
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LocalAppData"); d != "" {
			return filepath.Join(d, "gpumesh"), nil
		}
	case "darwin":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find home dir: %w", err)
		}
		return filepath.Join(home, "Library", "Application Support", "gpumesh"), nil
	default:
		if d := os.Getenv("XDG_DATA_HOME"); d != "" {
			return filepath.Join(d, "gpumesh"), nil
		}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find home dir: %w", err)
	}
	return filepath.Join(home, ".local", "share", "gpumesh"), nil
}

// Ensure creates dir (mode 0700) if needed and checks that it is a writable folder.
func Ensure(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	probe, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("data dir %s is not writable: %w", dir, err)
	}
	name := probe.Name()
	_ = probe.Close()
	return os.Remove(name)
}

// Lock is an exclusive hold on a data dir, released by Release or when the
// process exits (the OS drops the file lock, so a crash leaves no stale lock).
type Lock struct {
	fl *flock.Flock
}

// Acquire takes the data dir's lock without waiting. If another process holds
// it, the error wraps ErrLocked and names that process.
func Acquire(dir string) (*Lock, error) {
	path := filepath.Join(dir, "lock")
	fl := flock.New(path, flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock data dir %s: %w", dir, err)
	}
	if !ok {
		holder := "another process"
		if b, err := os.ReadFile(path); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				holder = fmt.Sprintf("process %d", pid)
			}
		}
		return nil, fmt.Errorf("%w: %s holds %s; stop it or choose another --data-dir", ErrLocked, holder, dir)
	}
	// Best effort: the pid only makes the error above friendlier.
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o600); err == nil {
		_, _ = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
		_ = f.Close()
	}
	return &Lock{fl: fl}, nil
}

// Release gives the lock up.
func (l *Lock) Release() error { return l.fl.Unlock() }

// WriteFile writes data to path with mode perm so that a crash leaves either
// the old file or the new one, never a torn one; it is atomicfile.WriteFile
// (temp file, sync, rename, folder sync, every error returned).
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return atomicfile.WriteFile(path, data, perm)
}
