package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gpumesh/gpumesh/scheduler/run"
)

// printJobNetwork writes a job network's traffic: bytes and packets each
// way, summed over its providers, and the drops by reason.
func printJobNetwork(w io.Writer, n *run.NetCounters) {
	if n == nil {
		return
	}
	fmt.Fprintf(w, "job network: %s\n\n", fmtJobNetwork(*n))
}

// fmtJobNetwork is n in one line: bytes and packets in and out, and the
// drops by reason.
func fmtJobNetwork(n run.NetCounters) string {
	s := fmt.Sprintf("%s in (%d packets), %s out (%d packets)", fmtBytes(n.BytesIn), n.PacketsIn, fmtBytes(n.BytesOut), n.PacketsOut)
	d := n.Dropped()
	if d == 0 {
		return s + "; none dropped"
	}
	reasons := make([]string, 0, len(n.Drops))
	for k := range n.Drops {
		reasons = append(reasons, k)
	}
	slices.Sort(reasons)
	parts := make([]string, len(reasons))
	for i, k := range reasons {
		parts[i] = fmt.Sprintf("%d %s", n.Drops[k], k)
	}
	return s + fmt.Sprintf("; %d dropped: %s", d, strings.Join(parts, ", "))
}

// fmtBytes is n bytes in the largest binary unit that keeps it above 1.
func fmtBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
