package main_test

import (
	"regexp"
	"strings"
	"testing"
)

// TestDemo: `gpumesh demo` runs a job end to end in one process and
// verifies a receipt against its anchor, in well under a minute.
func TestDemo(t *testing.T) {
	out, errOut, code := gpumesh(t, "demo", "--providers", "2", "--workers", "2", "--points", "200000")
	t.Logf("gpumesh demo:\n%s%s", out, errOut)
	if code != 0 {
		t.Fatalf("demo = exit %d", code)
	}
	for _, want := range []string{"[0] rank 0 of 2", "[1] rank 1 of 2", "placement:", "countersigned by the researcher",
		"anchored the researcher's ledger (2 entries)", "is in the anchored tree", "carries the checkpoint's commitment (checked through --rpc)", "verified: 5 checks passed", "demo done"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if !regexp.MustCompile(`pi ~ 3\.1[0-9]+ from 400000 points`).MatchString(out) {
		t.Error("demo output lacks the cluster's estimate of pi")
	}
	if _, _, code := gpumesh(t, "demo", "--workers", "5", "--providers", "2"); code != 2 {
		t.Errorf("demo with more workers than providers = exit %d, want 2", code)
	}
}
