package node

import (
	"context"

	"github.com/gpumesh/gpumesh/scheduler/run"
)

// MaxArchiveBytes forwards the wrapped executor's run.ArchiveTaker: a
// docker executor counted for /metrics still takes image archives; 0 for
// an executor that takes none.
func (e countingExecutor) MaxArchiveBytes() int64 {
	if t, ok := e.Executor.(run.ArchiveTaker); ok {
		return t.MaxArchiveBytes()
	}
	return 0
}

// HoldsArchive forwards the wrapped executor's run.ArchiveHolder; false
// for an executor that keeps no archives.
func (e countingExecutor) HoldsArchive(ctx context.Context, digest string) bool {
	if h, ok := e.Executor.(run.ArchiveHolder); ok {
		return h.HoldsArchive(ctx, digest)
	}
	return false
}
