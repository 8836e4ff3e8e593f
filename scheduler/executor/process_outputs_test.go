package executor

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProcessOutputsLimitAtWriteTime is issue 16 item 5 for process jobs:
// an allowlisted truncate making an 8 GiB sparse output and dd writing
// past the limit are stopped at write time (RLIMIT_FSIZE), with nothing
// on disk past the limit; many files each under the limit are stopped by
// the watcher of the folder's total.
func TestProcessOutputsLimitAtWriteTime(t *testing.T) {
	const limit = 8 << 20
	p, err := NewProcess(ProcessConfig{Allow: map[string][]string{
		"truncate": {"/usr/bin/truncate"}, "dd": {"/bin/dd"}, "sh": {"/bin/sh", "-c"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, command string
		args          []string
		reason        string
		exact         bool // bounded by one write, not by the watcher
	}{
		{"sparse truncate", "truncate", []string{"-s", "8G", "outputs/big"}, "an output file over 8388608 bytes", true},
		{"dd", "dd", []string{"if=/dev/zero", "of=outputs/big", "bs=1M", "count=100"}, "an output file over 8388608 bytes", true},
		{"many files", "sh", []string{`i=0; while :; do head -c 1048576 /dev/zero > outputs/f$i; i=$((i+1)); done`}, "outputs of", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := jobDir(t)
			h, err := p.Start(context.Background(), Job{ID: "j", Dir: dir, Limits: Limits{OutputBytes: limit, Wall: 20 * time.Second},
				Spec: Spec{Version: SpecVersion, Executor: "process", Process: &ProcessSpec{Command: tc.command}, Args: tc.args}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = h.Cancel(context.Background()) })
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := h.Wait(ctx)
			if err != nil {
				t.Fatal(err)
			}
			size, err := dirSize(filepath.Join(dir, "outputs"))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s (%s); outputs %d bytes", res.Status, res.Reason, size)
			if res.Status != StatusLimit || !strings.Contains(res.Reason, tc.reason) {
				t.Errorf("got %s (%s), want limit (%s)", res.Status, res.Reason, tc.reason)
			}
			if tc.exact && size > limit {
				t.Errorf("outputs hold %d bytes (apparent), the limit is %d", size, limit)
			}
		})
	}
}
