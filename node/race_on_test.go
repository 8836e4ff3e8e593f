//go:build race

package node_test

// raceTolerance is the proof tolerance that tests which time an honest CPU
// prover use under the race detector: instrumented, the prover runs about
// 25 times below one real core (6e7 to 1e8 FLOP/s measured on 2 busy
// cores), so a thousandth of the class's figure, 3e6 FLOP/s for CPU-x86,
// still passes it; any claimed GPU stays far out of reach.
const raceTolerance = 0.001
