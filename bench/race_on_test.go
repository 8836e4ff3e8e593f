//go:build race

package main

// raceEnabled says the race detector instruments this test binary: the
// scale tests, tens of full nodes, are then too slow for CI and skip.
const raceEnabled = true
