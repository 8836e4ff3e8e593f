package market

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/pricing"
)

// Checks of the provider's decision chain, in order; each is the label a
// request not bid on is counted under.
const (
	CheckOffer    = "not_offering"
	CheckExecutor = "executor"
	CheckDuration = "duration" // longer than the executors' max_wall
	CheckGPUs     = "gpus"     // the executor cannot hand GPUs to its work
	CheckHours    = "hours"
	CheckRegion   = "region"
	CheckDevices  = "devices" // pool, class, memory or cores
	CheckHost     = "host"    // host cores or RAM
	CheckFree     = "free"
	CheckPrice    = "price"
	CheckLimit    = "open_bids"
)

// Refusal is why a provider does not bid: the check that failed and the
// numbers behind it.
type Refusal struct {
	Check  string
	Detail string
}

func (r *Refusal) Error() string { return r.Check + ": " + r.Detail }

// plan is what a provider can offer for one request.
type plan struct {
	class   string
	devices []int // free devices of class that match, by index in the record
	// gpus are the executors' names of those devices that are GPUs
	// (Offer.GPUs), by index in the record.
	gpus    map[int]executor.Device
	workers int // workers they host, at most the request's
	price   pricing.Micros
	why     string
	vramGB  float64
}

// Decide runs the provider's checks on req against what it offers and the
// devices already reserved, at now; it returns the bid's terms or the
// first check that failed. It is pure: the same inputs give the same answer.
func Decide(req *gossip.JobRequest, o Offer, reserved map[int]bool, now time.Time) (plan, *Refusal) {
	r := &o.Record
	refuse := func(check, format string, args ...any) (plan, *Refusal) {
		return plan{}, &Refusal{Check: check, Detail: fmt.Sprintf(format, args...)}
	}
	if !slices.Contains(r.Executors, req.Executor) {
		return refuse(CheckExecutor, "executor %s not offered (offers %s)", req.Executor, strings.Join(r.Executors, ", "))
	}
	if o.MaxWall > 0 && req.Duration > o.MaxWall {
		return refuse(CheckDuration, "the job asks for %s, longer than this provider's executor.max_wall of %s", req.Duration, o.MaxWall)
	}
	if !r.Available(now) {
		return refuse(CheckHours, "outside this provider's hours")
	}
	if len(req.Regions) > 0 && !slices.ContainsFunc(req.Regions, func(g string) bool {
		return strings.EqualFold(g, r.Region) || strings.EqualFold(g, r.Country)
	}) {
		return refuse(CheckRegion, "in %s/%s, not in %s", or(r.Region, "no region"), or(r.Country, "no country"), strings.Join(req.Regions, ", "))
	}
	w := req.PerWorker
	if w.CPUCores > 0 && o.HostCores < w.CPUCores {
		return refuse(CheckHost, "%d cores, the worker needs %d", o.HostCores, w.CPUCores)
	}
	if w.RAMGB > 0 && o.HostRAMGB < w.RAMGB {
		return refuse(CheckHost, "%.0f GB RAM, the worker needs %.0f", o.HostRAMGB, w.RAMGB)
	}
	per := devicesPerWorker(req)
	byClass := map[string][]int{} // free matching devices
	total := map[string]int{}     // all matching devices
	noGPUs := o.NoGPUs[req.Executor]
	unusable := 0 // matching GPUs the executor cannot hand over
	for i, d := range r.Devices {
		if !deviceMatches(d, w) {
			continue
		}
		if d.Pool == "gpu" && noGPUs != "" {
			unusable++
			continue
		}
		total[d.Class]++
		if !reserved[i] {
			byClass[d.Class] = append(byClass[d.Class], i)
		}
	}
	if len(total) == 0 && unusable > 0 {
		return refuse(CheckGPUs, "the %s executor cannot hand this provider's GPUs to a job: %s", req.Executor, noGPUs)
	}
	if len(total) == 0 {
		return refuse(CheckDevices, "no device matches %s", describe(w))
	}
	// The class with the lowest floor that hosts a worker wins.
	var best plan
	var bestFloor pricing.Micros
	for class, free := range byClass {
		if len(free) < per {
			continue
		}
		floor, err := pricing.FromFloat(r.Prices[class])
		if err != nil || floor <= 0 {
			continue
		}
		if best.class == "" || floor < bestFloor || (floor == bestFloor && class < best.class) {
			best = plan{class: class, devices: free, workers: min(len(free)/per, req.Workers)}
			bestFloor = floor
		}
	}
	if best.class == "" {
		n := 0
		for _, f := range byClass {
			n = max(n, len(f))
		}
		return refuse(CheckFree, "%d matching devices free, a worker needs %d", n, per)
	}
	maxPrice, err := pricing.FromFloat(req.MaxPrice)
	if err != nil {
		return refuse(CheckPrice, "max price %v: %v", req.MaxPrice, err)
	}
	urgency, err := pricing.ParseUrgency(string(req.Urgency))
	if err != nil {
		return refuse(CheckPrice, "%v", err)
	}
	load := 1 - float64(len(best.devices))/float64(total[best.class])
	price, ok, why := pricing.Ask(bestFloor, load, urgency, maxPrice)
	if !ok {
		return refuse(CheckPrice, "%s", why)
	}
	best.price, best.why = price, why
	best.gpus = map[int]executor.Device{}
	for _, i := range best.devices {
		if g, ok := o.GPUs[i]; ok {
			best.gpus[i] = g
		}
	}
	for _, i := range best.devices {
		best.vramGB = float64(r.Devices[i].MemoryMB) / 1024
		break
	}
	return best, nil
}

// deviceMatches reports whether device d can serve a worker needing w.
func deviceMatches(d capacity.Device, w gossip.Resources) bool {
	pool := w.Pool
	if w.GPUs == 0 {
		pool = "cpu"
	}
	if pool != "" && d.Pool != pool {
		return false
	}
	if w.Class != "" && !strings.EqualFold(w.Class, d.Class) {
		return false
	}
	if w.MinVRAMGB > 0 && float64(d.MemoryMB)/1024 < w.MinVRAMGB {
		return false
	}
	return true
}

// describe says what a worker asks for, for refusals.
func describe(w gossip.Resources) string {
	var parts []string
	if w.GPUs == 0 {
		parts = append(parts, "pool cpu")
	} else if w.Pool != "" {
		parts = append(parts, "pool "+w.Pool)
	}
	if w.Class != "" {
		parts = append(parts, "class "+w.Class)
	}
	if w.MinVRAMGB > 0 {
		parts = append(parts, fmt.Sprintf(">= %.0f GB", w.MinVRAMGB))
	}
	if len(parts) == 0 {
		return "any device"
	}
	return strings.Join(parts, ", ")
}

// or is s, or def when s is empty.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
