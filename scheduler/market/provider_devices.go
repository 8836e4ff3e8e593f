package market

import (
	"slices"

	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// byRank splits devs, the devices an award reserved, among its ranks in
// the order awarded: per devices each. It returns nil when devs cannot
// give every rank its share (reserve never makes such a reservation).
func byRank(ranks []int, devs []int, per int) map[int][]int {
	if per < 1 || len(devs) < len(ranks)*per {
		return nil
	}
	out := make(map[int][]int, len(ranks))
	for i, rk := range ranks {
		out[rk] = slices.Clone(devs[i*per : (i+1)*per])
	}
	return out
}

// grant is what the run of ranks of r is handed: each rank's devices that
// are GPUs, as executors name them. A rank's devices that are not GPUs
// (a CPU) stay reserved but are handed to no executor.
func (r *reservation) grant(ranks []int) run.Grant {
	g := run.Grant{Devices: map[int][]executor.Device{}, Network: r.network}
	for _, rk := range ranks {
		for _, i := range r.rankDevices[rk] {
			if d, ok := r.gpus[i]; ok {
				g.Devices[rk] = append(g.Devices[rk], d)
			}
		}
	}
	return g
}

// duplicate reports whether ranks names a rank twice.
func duplicate(ranks []int) bool {
	seen := make(map[int]bool, len(ranks))
	for _, rk := range ranks {
		if seen[rk] {
			return true
		}
		seen[rk] = true
	}
	return false
}
