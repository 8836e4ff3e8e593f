package api

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestSubmitTimeoutGrowsWithArchive: a submission whose image is an
// archive waits for the node to read it; any other takes requestTimeout.
func TestSubmitTimeoutGrowsWithArchive(t *testing.T) {
	p := filepath.Join(t.TempDir(), "img.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(10 * archiveReadRate); err != nil { // sparse: 500 MiB of nothing
		t.Fatal(err)
	}
	f.Close()
	if got := submitTimeout(market.Spec{Image: p}); got < requestTimeout+10*time.Second {
		t.Errorf("timeout for a %d-byte archive %s, want at least %s", 10*archiveReadRate, got, requestTimeout+10*time.Second)
	}
	for _, s := range []market.Spec{{Image: "busybox:1.36"}, {}, {Image: filepath.Join(t.TempDir(), "gone.tar")}} {
		if got := submitTimeout(s); got != requestTimeout {
			t.Errorf("timeout for image %q: %s, want %s", s.Image, got, requestTimeout)
		}
	}
}
