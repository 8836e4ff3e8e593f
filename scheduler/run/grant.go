package run

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gpumesh/gpumesh/scheduler/executor"
)

// Grant is what an Authorizer holds for a run it admits: the GPUs each
// rank holds on this provider. The server gives each rank's work exactly
// its devices (executor.Job.Devices) and no others.
type Grant struct {
	// Devices are the GPUs of each rank, by rank; a rank absent holds none.
	Devices map[int][]executor.Device
	// Network is the job network the award lets the run join where it is
	// not the job itself (a failover award's Network); a run that names
	// another is refused.
	Network string
}

// ErrDevices is wrapped by the refusal of a run whose work asks for other
// devices than its award holds here, or whose grant is inconsistent.
var ErrDevices = errors.New("devices")

// maxGrantDevices bounds the devices of one rank.
const maxGrantDevices = 64

// of is the devices of rank rk, a copy.
func (g Grant) of(rk int) []executor.Device { return slices.Clone(g.Devices[rk]) }

// check refuses a grant that does not fit req: a rank's devices over the
// bound or given twice (to two ranks, or twice to one), a device granted to
// a rank req does not run, or a container spec asking for another number
// of GPUs than its rank holds. It returns every problem.
func (g Grant) check(req *RunRequest) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrDevices}, args...)...))
	}
	seen := map[int]int{} // device index -> rank
	for rk, devs := range g.Devices {
		if len(devs) > 0 && !slices.Contains(req.Ranks, rk) {
			bad("rank %d holds devices but is not run here", rk)
		}
		if len(devs) > maxGrantDevices {
			bad("rank %d holds %d devices, at most %d", rk, len(devs), maxGrantDevices)
		}
		for _, d := range devs {
			if other, dup := seen[d.Index]; dup {
				bad("device %d granted to rank %d and rank %d", d.Index, other, rk)
			}
			seen[d.Index] = rk
		}
	}
	if d := req.Spec.Docker; d != nil && d.GPUs > 0 {
		for _, rk := range req.Ranks {
			if n := len(g.Devices[rk]); n != d.GPUs {
				bad("the work asks for %d GPUs per worker, the award holds %d for rank %d here", d.GPUs, n, rk)
			}
		}
	}
	return errors.Join(errs...)
}
