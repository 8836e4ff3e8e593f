package market

import (
	"fmt"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// RankGPU is what one rank's GPUs did.
type RankGPU struct {
	Rank int `json:"rank"`
	ledger.GPUUsage
}

// rankGPU is the GPU figures of ranks in o, in ranks' order.
func rankGPU(o run.Outcome, ranks []int) []RankGPU {
	var out []RankGPU
	for _, rk := range ranks {
		if g, ok := o.GPU[rk]; ok {
			out = append(out, RankGPU{Rank: rk, GPUUsage: g})
		}
	}
	return out
}

// sameGPU reports whether a receipt's GPU figures are exactly those rank's
// result stated: a provider may not sign other figures than it reported
// during the run, nor add figures to a rank whose result had none.
func sameGPU(signed *ledger.GPUUsage, reported map[int]ledger.GPUUsage, rank int) bool {
	got := gpuOf(reported, rank)
	if signed == nil || got == nil {
		return signed == nil && got == nil
	}
	return *signed == *got
}

// gpuOf is rank's figures in reported, or nil.
func gpuOf(reported map[int]ledger.GPUUsage, rank int) *ledger.GPUUsage {
	g, ok := reported[rank]
	if !ok {
		return nil
	}
	return &g
}

// gpuText is figures for a reason: "none" when absent.
func gpuText(g *ledger.GPUUsage) string {
	if g == nil {
		return "none"
	}
	return fmt.Sprintf("(%d devices, %d busy GPU-ms, %d bytes peak, %.1f %% mean)", g.Devices, g.BusyMillis, g.PeakMemoryBytes, g.MeanUtilPercent)
}
