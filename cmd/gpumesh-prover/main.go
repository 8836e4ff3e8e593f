// Command gpumesh-prover is the CPU proof-of-compute helper as a program
// of its own, small and quick to build: what `gpumesh prover` runs, for
// tests and for providers that want the helper protocol without the whole
// node. See gpu/proof/helper for the protocol.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/gpumesh/gpumesh/gpu/proof"
	"github.com/gpumesh/gpumesh/gpu/proof/helper"
)

func main() {
	maxN := flag.Int("max-n", 1024, "largest matrix size accepted")
	maxPool := flag.Int("max-pool", 16, "largest pool accepted (the prover holds 2 x pool matrices of n^2 float32)")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "goroutines multiplying")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := proof.CPUProver2{Workers: *workers, Limits: proof.Limits2{MaxN: *maxN, MaxPool: *maxPool}}
	if err := helper.Serve(ctx, os.Stdin, os.Stdout, p); err != nil {
		fmt.Fprintln(os.Stderr, "gpumesh-prover:", err)
		stop()
		os.Exit(1)
	}
}
