package cli

import (
	"os"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/gpu/proof"
	"github.com/gpumesh/gpumesh/gpu/proof/helper"
)

// newProverCmd is `gpumesh prover`: the CPU implementation of the
// proof-of-compute helper protocol (gpu/proof/helper), on stdin and
// stdout. A provider names a helper in [proof] helper; this one answers
// GPU-class challenges only as fast as its CPU, so it is for tests and for
// checking the protocol, and scripts/prover/gpumesh_prover.py is the GPU one.
func newProverCmd(_ *globals) *cobra.Command {
	var maxN, maxPool, workers int
	cmd := &cobra.Command{
		Use:   "prover",
		Short: "Answer one version 2 proof-of-compute challenge on stdin/stdout, on the CPU",
		Long: "prover speaks the helper protocol of docs/protocol/proof-helper.md: it reads a\n" +
			"challenge frame on stdin, writes the commitment, reads the open request and\n" +
			"writes the openings. It computes on the CPU, in float32.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if workers <= 0 {
				workers = runtime.GOMAXPROCS(0)
			}
			p := proof.CPUProver2{Workers: workers, Limits: proof.Limits2{MaxN: maxN, MaxPool: maxPool}}
			return helper.Serve(cmd.Context(), os.Stdin, cmd.OutOrStdout(), p)
		},
	}
	cmd.Flags().IntVar(&maxN, "max-n", 1024, "largest matrix size accepted")
	cmd.Flags().IntVar(&maxPool, "max-pool", 16, "largest pool accepted (the prover holds 2 x pool matrices of n^2 float32)")
	cmd.Flags().IntVar(&workers, "workers", 0, "goroutines multiplying (default: every core)")
	return cmd
}
