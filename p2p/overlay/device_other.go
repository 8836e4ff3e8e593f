//go:build !linux

package overlay

import (
	"fmt"
	"runtime"
)

// Supported refuses: job networks need Linux's network namespaces and
// TUN devices.
func Supported() error {
	return fmt.Errorf("%w: %s has no network namespaces (Linux only)", ErrUnsupported, runtime.GOOS)
}

// AttachProcess refuses: see Supported.
func (n *Net) AttachProcess(rank, pid int) error {
	return fmt.Errorf("attach rank %d of job %s: %w", rank, n.job, Supported())
}
