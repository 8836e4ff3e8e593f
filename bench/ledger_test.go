package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestB6ClosesEveryLog: B6 opens a Badger log per append run in a temp dir;
// every one must be closed before its dir is removed, or the process keeps
// files of a deleted dir open (the first log was left open during the
// headline run). After benchLedger returns, no file descriptor of this
// process may point into a B6 dir.
func TestB6ClosesEveryLog(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs Linux /proc to list open files")
	}
	res := benchLedger(200, 8, 1000)
	if res.Skipped != "" {
		t.Fatalf("B6 did not run: %s", res.Skipped)
	}
	if res.Figures["receipts_per_s"] <= 0 || res.Figures["unverified_receipts_per_s"] <= 0 {
		t.Fatalf("B6 figures: want the verified headline and the unverified rate beside it, got %v", res.Figures)
	}
	if open := openB6Files(t); len(open) > 0 {
		t.Fatalf("B6 left %d files of its logs open: %s", len(open), strings.Join(open, ", "))
	}
}

// openB6Files lists the files this process holds open under a B6 temp dir.
func openB6Files(t *testing.T) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var open []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.Contains(target, b6DirPrefix) {
			open = append(open, target)
		}
	}
	return open
}
