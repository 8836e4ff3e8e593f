//go:build race

package proof

// raceEnabled: the race detector slows the prover several times over, so
// tests that time it skip.
const raceEnabled = true
