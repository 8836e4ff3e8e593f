//go:build !unix

package main

import "time"

// processCPU is 0 here: the benchmarks' CPU figures are read with
// getrusage, which this system lacks (the bench runs on Linux).
func processCPU() time.Duration { return 0 }
