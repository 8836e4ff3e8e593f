package node

import "github.com/gpumesh/gpumesh/scheduler/run"

// MaxArchiveBytes forwards the wrapped executor's run.ArchiveTaker: a
// docker executor counted for /metrics still takes image archives; 0 for
// an executor that takes none.
func (e countingExecutor) MaxArchiveBytes() int64 {
	if t, ok := e.Executor.(run.ArchiveTaker); ok {
		return t.MaxArchiveBytes()
	}
	return 0
}
