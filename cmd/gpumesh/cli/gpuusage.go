package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/gpumesh/gpumesh/internal/human"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// gpuFigures says what a rank's GPUs did, for a person.
func gpuFigures(g ledger.GPUUsage) string {
	return fmt.Sprintf("%s busy, %s peak memory, %.1f %% mean utilisation on %s (%s)",
		gpuTime(g.BusyMillis), humanize.IBytes(g.PeakMemoryBytes), g.MeanUtilPercent,
		human.Plural(g.Devices, "device"), human.Plural(g.Samples, "sample"))
}

// gpuTimeCell is a receipt's GPU time for the receipts table, with the
// busy part its GPUs measured when it states one.
func gpuTimeCell(r ledger.Receipt) string {
	if r.GPU == nil {
		return gpuTime(r.GPUMillis)
	}
	return fmt.Sprintf("%s (busy %s)", gpuTime(r.GPUMillis), gpuTime(r.GPU.BusyMillis))
}

// printGPUUsage writes what each rank's GPUs did, as its provider metered
// them through NVML; nothing when no rank held a metered GPU.
func printGPUUsage(w io.Writer, v market.JobView) {
	var rows int
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, u := range v.Usage {
		for _, g := range u.GPU {
			if rows == 0 {
				fmt.Fprintln(tw, "RANK\tPROVIDER\tGPUS\tBUSY\tPEAK MEMORY\tMEAN UTIL\tSAMPLES")
			}
			rows++
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%.1f %%\t%d\n", g.Rank, shortPeer(u.Peer), g.Devices,
				(time.Duration(g.BusyMillis) * time.Millisecond).String(), humanize.IBytes(g.PeakMemoryBytes), g.MeanUtilPercent, g.Samples)
		}
	}
	if rows == 0 {
		return
	}
	tw.Flush()
	fmt.Fprintln(w, "GPU figures: what each rank's GPUs did, measured by its provider through NVML and signed in its receipt")
}
