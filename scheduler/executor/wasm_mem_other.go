//go:build !unix

package executor

import "errors"

// errNoReserve: this system has no anonymous mappings here; linearMemory
// grows a Go slice instead.
var errNoReserve = errors.New("no memory reservations on this system")

func reserveMemory(uint64) ([]byte, error) { return nil, errNoReserve }

func commitMemory([]byte, uint64, uint64) error { return errNoReserve }

func releaseMemory([]byte) error { return nil }
