package cli

import (
	"crypto/rand"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/gpu"
	"github.com/gpumesh/gpumesh/gpu/proof"
)

func newBenchCmd(g *globals) *cobra.Command {
	var n int
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Proof-of-compute self-test: measure this machine's throughput and its device class",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n < 64 || n > 4096 {
				return usageError{fmt.Errorf("--n must be between 64 and 4096, got %d", n)}
			}
			prover := proof.CPUProver{Workers: runtime.GOMAXPROCS(0), Limits: proof.Limits{MaxN: n}}
			v, _, err := proof.SelfTest(cmd.Context(), prover, rand.Reader, n, proof.Int8FP32)
			if err != nil {
				return err
			}
			// A CPU node's class is its architecture's; the measurement says
			// how many cores' worth of that class it delivers.
			class := gpu.CPUClass(runtime.GOARCH)
			perCore, err := proof.Expected(class, proof.Int8FP32, 1)
			if err != nil {
				return err
			}
			cores := int(v.Throughput / perCore)
			out := struct {
				Prover     string  `json:"prover"`
				N          int     `json:"n"`
				NumberType string  `json:"number_type"`
				Result     string  `json:"result"`
				GFLOPS     float64 `json:"gflops"`
				ElapsedMS  float64 `json:"elapsed_ms"`
				Class      string  `json:"class"`
				Cores      int     `json:"cores,omitempty"`
				Detail     string  `json:"detail,omitempty"`
			}{
				Prover: "cpu", N: n, NumberType: string(proof.Int8FP32), Result: string(v.Result),
				GFLOPS: v.Throughput / 1e9, ElapsedMS: float64(v.Elapsed.Microseconds()) / 1000,
				Class: class, Cores: cores, Detail: v.Detail,
			}
			if g.json {
				return g.printJSON(out)
			}
			fmt.Fprintf(g.stdout, "proof-of-compute: %dx%d %s product on the CPU prover in %.1f ms: %.1f GFLOP/s\n",
				n, n, out.NumberType, out.ElapsedMS, out.GFLOPS)
			fmt.Fprintf(g.stdout, "verification: %s", out.Result)
			if out.Detail != "" {
				fmt.Fprintf(g.stdout, " (%s)", out.Detail)
			}
			fmt.Fprintln(g.stdout)
			fmt.Fprintf(g.stdout, "measured class: %s, %d cores' worth (at %.0f GFLOP/s per core)\n", class, cores, perCore/1e9)
			if v.Result != proof.Pass {
				return fmt.Errorf("self-test verdict %s", v.Result)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&n, "n", 1024, "matrix size")
	return cmd
}
