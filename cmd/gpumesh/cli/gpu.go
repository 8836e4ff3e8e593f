package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/gpu"
	"github.com/gpumesh/gpumesh/node/api"
)

func newGPUCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "gpu",
		Short: "Show devices and telemetry (from the running node, or detected now if none runs)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out api.GPU
			if c, err := g.client(); err == nil {
				if out, err = c.GPU(cmd.Context()); err != nil {
					return err
				}
			} else {
				dir, err := g.dir()
				if err != nil {
					return err
				}
				probe, inv, err := gpu.Detect(cmd.Context(), dir)
				if err != nil {
					return err
				}
				defer probe.Close()
				tel, _ := probe.Telemetry(cmd.Context())
				out = api.GPU{Inventory: inv.WithTelemetry(tel), Labels: inv.Labels()}
			}
			if g.json {
				return g.printJSON(out)
			}
			return printGPU(g, out)
		},
	}
}

// printGPU writes the devices and their latest readings as a table.
func printGPU(g *globals, out api.GPU) error {
	inv := out.Inventory
	h := inv.Host
	fmt.Fprintf(g.stdout, "source %s", inv.Source)
	if inv.Driver != "" {
		fmt.Fprintf(g.stdout, ", driver %s, CUDA %s", inv.Driver, inv.CUDA)
	}
	if inv.NVMLError != "" {
		fmt.Fprintf(g.stdout, " (no NVML: %s)", inv.NVMLError)
	}
	fmt.Fprintf(g.stdout, "\nhost   %s, %d cores / %d threads, %s RAM, %s free on %s (%s/%s)\n",
		h.CPUModel, h.Cores, h.Threads, gib(h.MemoryBytes), gib(h.DiskFreeBytes), h.DiskPath, h.OS, h.Arch)
	if v := inv.Virtualization; v.VM || v.Container {
		fmt.Fprintf(g.stdout, "virtualised: vm=%v %s container=%v %s\n", v.VM, v.Hypervisor, v.Container, v.ContainerRuntime)
	}
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tCLASS\tPOOL\tMEMORY\tUTIL\tTEMP\tPOWER\tCLOCK")
	for _, d := range inv.Devices {
		t := d.Telemetry
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s/%s\t%s\t%s\t%s\t%s\n", d.ID, d.Name, d.Class, d.Pool,
			known(t, "memory_used_bytes", gib(t.MemoryUsed)), gib(d.MemoryTotal),
			known(t, "utilization", fmt.Sprintf("%.0f%%", t.Utilization)),
			known(t, "temperature_c", fmt.Sprintf("%.0fC", t.TemperatureC)),
			known(t, "power_w", fmt.Sprintf("%.0f/%.0fW", t.PowerW, t.PowerLimitW)),
			known(t, "sm_clock_mhz", fmt.Sprintf("%dMHz", t.SMClockMHz)))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, warn := range inv.Warnings {
		fmt.Fprintf(g.stdout, "warning: %s\n", warn)
	}
	if out.SamplerError != "" {
		fmt.Fprintf(g.stdout, "last telemetry error: %s\n", out.SamplerError)
	}
	return nil
}

// known returns s, or "-" when the reading lacks field.
func known(t gpu.Telemetry, field, s string) string {
	if t.Time.IsZero() || !t.Known(field) {
		return "-"
	}
	return s
}

func gib(b uint64) string {
	return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(b)/(1<<30)), ".0") + "GiB"
}
