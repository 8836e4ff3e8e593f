//go:build race

package challenge

// raceEnabled: the race detector slows the CPU prover many times over, so
// verdicts that time an honest prover against its claimed class skip.
const raceEnabled = true
