package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRunUnknownNetwork: --network with a name no network has is a usage
// error that lists the networks there are, before anything starts.
func TestRunUnknownNetwork(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"run", "--data-dir", t.TempDir(), "--profile", "test", "--network", "mainnet"}, &out, &errOut)
	if code != ExitUsage {
		t.Fatalf("exit %d, want %d (usage); stderr:\n%s", code, ExitUsage, errOut.String())
	}
	if msg := errOut.String(); !strings.Contains(msg, `unknown network "mainnet"`) || !strings.Contains(msg, "main, local") {
		t.Errorf("stderr %q does not name the bad network and the known ones", msg)
	}
}
