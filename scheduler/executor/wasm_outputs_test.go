package executor

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWasmOutputsLimitAtWriteTime is issue 16 item 5: the outputs limit
// holds at write time, by apparent size. A module writing without end,
// one truncating an output to 8 GiB (sparse: no disk used) and one
// writing a byte at 8 GiB are stopped at the limit, and the folder never
// holds more than the limit plus one write.
func TestWasmOutputsLimitAtWriteTime(t *testing.T) {
	w := testWasm(t)
	const limit = 8 << 20
	for _, tc := range []struct {
		name, module string
		args         []string
	}{
		{"write", "fill", nil},
		{"truncate", "sparse", nil},
		{"pwrite", "sparse", []string{"pwrite"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := wasmJob(t, wasmTestModule(t, tc.module), Limits{OutputBytes: limit, Wall: time.Minute}, tc.args...)
			res, lines := wasmRun(t, w, job)
			if res.Status != StatusLimit || res.Reason != "outputs over 8388608 bytes" {
				t.Errorf("got %s (%s), want limit (outputs over 8388608 bytes); logs:\n%s", res.Status, res.Reason, wasmTexts(lines))
			}
			size, err := dirSize(filepath.Join(job.Dir, "outputs"))
			if err != nil {
				t.Fatal(err)
			}
			if size > limit+1<<20 {
				t.Errorf("outputs hold %d bytes (apparent), the limit is %d", size, limit)
			}
			if fi, err := os.Stat(filepath.Join(job.Dir, "outputs", "big")); err == nil {
				t.Logf("outputs/big is %d bytes", fi.Size())
			}
		})
	}
}
