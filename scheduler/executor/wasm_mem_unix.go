//go:build unix

package executor

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// reserveMemory reserves size bytes of address space for a linear memory:
// an anonymous private mapping with no access, which costs no memory and
// counts against no commit limit until committed.
func reserveMemory(size uint64) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, int(size), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("reserve %d bytes: %w", size, err)
	}
	return b, nil
}

// commitMemory makes b[from:to] readable and writable; the kernel backs
// each page with zeroes when it is first touched.
func commitMemory(b []byte, from, to uint64) error {
	page := uint64(os.Getpagesize())
	from, to = from/page*page, min((to+page-1)/page*page, uint64(len(b)))
	if from >= to {
		return nil
	}
	if err := unix.Mprotect(b[from:to], unix.PROT_READ|unix.PROT_WRITE); err != nil {
		return fmt.Errorf("commit %d bytes: %w", to-from, err)
	}
	return nil
}

// releaseMemory unmaps a reservation, returning its pages to the system.
func releaseMemory(b []byte) error { return unix.Munmap(b) }
