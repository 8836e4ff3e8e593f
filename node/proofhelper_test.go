//go:build linux && cgo

package node_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gpumesh/gpumesh/node"
)

// buildProofHelper builds cmd/gpumesh-prover, the CPU proof helper (it
// links no libp2p: seconds), and returns its path.
func buildProofHelper(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gpumesh-prover")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/gpumesh/gpumesh/cmd/gpumesh-prover").CombinedOutput()
	if err != nil {
		t.Fatalf("build the proof helper: %v\n%s", err, out)
	}
	return bin
}

// checkVerifiedOffers searches req's offers of class and checks each
// listed provider's verified flag.
func checkVerifiedOffers(ctx context.Context, t *testing.T, req *node.Node, class string, want map[string]bool) {
	t.Helper()
	res, err := req.Offers(ctx, "gpu_class="+class, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, o := range res.Offers {
		w, ok := want[o.Peer.String()]
		if !ok {
			continue
		}
		seen++
		if o.Verified != w {
			t.Errorf("offer of %s by %s: verified %v, want %v", class, o.Peer, o.Verified, w)
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of the %d providers of %s: %+v", seen, len(want), class, res.Offers)
	}
}
