//go:build !race

package node_test

// raceTolerance is zero without the race detector: tests keep their own
// proof tolerance (race_on_test.go lowers it for the instrumented prover).
const raceTolerance = 0.0
