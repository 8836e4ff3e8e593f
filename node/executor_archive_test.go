package node

import (
	"context"
	"strings"
	"testing"

	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// TestCountedExecutorTakesArchives: counting an executor for /metrics
// keeps what it tells the run server about image archives.
func TestCountedExecutorTakesArchives(t *testing.T) {
	d, err := executor.NewDocker(executor.DockerConfig{MaxImageBytes: 123 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	w, err := executor.NewWasm(executor.WasmConfig{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	set := (&metrics{}).countExecutors(executor.Set{"docker": d, "wasm": w})
	if got := set["docker"].(run.ArchiveTaker).MaxArchiveBytes(); got != 123<<20 {
		t.Errorf("counted docker executor takes archives up to %d, want %d", got, 123<<20)
	}
	if got := set["wasm"].(run.ArchiveTaker).MaxArchiveBytes(); got != 0 {
		t.Errorf("counted wasm executor takes archives up to %d, want none", got)
	}
	if set["wasm"].(run.ArchiveHolder).HoldsArchive(context.Background(), "sha256:"+strings.Repeat("0", 64)) {
		t.Error("counted wasm executor holds an archive")
	}
}
