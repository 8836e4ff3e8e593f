package main

import (
	"fmt"

	"github.com/gpumesh/gpumesh/p2p/coord/coordsim"
)

// B5's network as a node sees it (see p2p/coord/coordsim): connections to
// b5Connections random peers probed in NextProbes order, and one sample in
// 1/b5RandomShare to a random peer outside them.
const (
	b5Connections = 32
	b5RandomShare = 0.25
)

// benchCoordinates is B5: coordsim's simulation on the embedded RIPE Atlas
// country table, nodes placed among the best-measured countries, the
// median relative error of predicted RTTs after 20, 50 and 200 samples per
// node; plain Serf Vivaldi fed the same samples is the baseline.
func benchCoordinates(nodes, countries int) Result {
	res := Result{
		ID: "B5", Name: "network-coordinate accuracy (Vivaldi, country RTTs)", Unit: "relative error",
		Params: map[string]any{"nodes": nodes, "countries": countries, "connections": b5Connections, "random_share": b5RandomShare,
			"jitter": "zero-mean Gaussian from the pair's std, never below its min"},
		Target: "median relative error <= 0.15 after 20 samples per node",
	}
	checkpoints := []int{20, 50, 200}
	e, err := coordsim.Run(coordsim.Params{Nodes: nodes, Countries: countries, Connections: b5Connections,
		RandomShare: b5RandomShare, Checkpoints: checkpoints, Seed: uint64(nodes)})
	if err != nil {
		res.Skipped = err.Error()
		return res
	}
	res.Figures, res.Baseline = map[string]float64{}, map[string]float64{}
	for k, c := range checkpoints {
		key := fmt.Sprintf("median_after_%d", c)
		res.Figures[key], res.Baseline[key] = e.Errors.Estimator[k], e.Errors.Serf[k]
	}
	res.Verdict = map[bool]string{true: "met", false: "missed"}[res.Figures["median_after_20"] <= 0.15]
	return res
}
