//go:build !unix

package executor

import "os"

// fileOwner: files here have no numeric owner (Windows), so ok is false.
func fileOwner(os.FileInfo) (uid, gid uint32, ok bool) { return 0, 0, false }
