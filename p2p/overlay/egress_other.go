//go:build !linux

package overlay

import "net/netip"

// Egress is one rank's way out to public addresses; Linux only.
type Egress struct{}

// AddEgress refuses: see Supported.
func AddEgress(pid int) (*Egress, error) { return nil, ErrUnsupported }

// CleanEgress has nothing to remove here.
func CleanEgress() error { return nil }

// Close does nothing.
func (e *Egress) Close() error { return nil }

// JobAddr is the zero address.
func (e *Egress) JobAddr() netip.Addr { return netip.Addr{} }

// HostLink is empty.
func (e *Egress) HostLink() string { return "" }
