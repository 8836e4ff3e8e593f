package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestVersionShowsStampedCommitAndDate: what `make release` stamps with
// -ldflags -X is what `gpumesh version` prints, in both forms.
func TestVersionShowsStampedCommitAndDate(t *testing.T) {
	oldCommit, oldDate := Commit, BuildDate
	t.Cleanup(func() { Commit, BuildDate = oldCommit, oldDate })
	Commit, BuildDate = "0123456789abcdef0123456789abcdef01234567", "2026-12-07T14:00:00Z"

	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"version", "--json"}, &out, &errb); code != ExitOK {
		t.Fatalf("version --json: exit %d, stderr %s", code, &errb)
	}
	var v map[string]string
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("version --json: %v in %q", err, &out)
	}
	if v["commit"] != Commit || v["date"] != BuildDate {
		t.Errorf("got commit %q date %q, want %q %q", v["commit"], v["date"], Commit, BuildDate)
	}

	out.Reset()
	if code := Run(context.Background(), []string{"version"}, &out, &errb); code != ExitOK {
		t.Fatalf("version: exit %d, stderr %s", code, &errb)
	}
	if got := out.String(); !strings.Contains(got, "commit 0123456789ab,") || !strings.Contains(got, "built "+BuildDate) {
		t.Errorf("got %q, want the short commit and the build date", got)
	}
}
