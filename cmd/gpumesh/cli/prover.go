package cli

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/gpumesh/gpumesh/gpu/proof"
	"github.com/gpumesh/gpumesh/gpu/proof/helper"
)

// proverFlags are `gpumesh prover`'s flags.
type proverFlags struct {
	maxN, maxPool, workers int
	testHelper             string
	helperArgs             []string
	class                  string
	n                      int
	target                 time.Duration
	expected               float64
}

// newProverCmd is `gpumesh prover`: the CPU implementation of the
// proof-of-compute helper protocol (gpu/proof/helper) on stdin and stdout,
// or, with --test-helper, the verifier's side against a helper program,
// judged against a class: how scripts/gpu-check.sh measures a GPU helper.
func newProverCmd(g *globals) *cobra.Command {
	var f proverFlags
	cmd := &cobra.Command{
		Use:   "prover",
		Short: "Answer one version 2 proof-of-compute challenge on stdin/stdout (CPU), or test a helper",
		Long: "prover speaks the helper protocol of docs/protocol/proof-v2.md: it reads a\n" +
			"challenge frame on stdin, writes the commitment, reads the open request and\n" +
			"writes the openings, computing on the CPU in float32.\n\n" +
			"With --test-helper PATH it is the verifier instead: it puts a challenge planned\n" +
			"for --class (about --target of work at the class's figure) to the helper\n" +
			"program, verifies it and prints the verdict and the measured throughput; the\n" +
			"exit status is 0 only for a pass.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.testHelper != "" {
				return testHelper(cmd, g, f)
			}
			if f.workers <= 0 {
				f.workers = runtime.GOMAXPROCS(0)
			}
			p := proof.CPUProver2{Workers: f.workers, Limits: proof.Limits2{MaxN: f.maxN, MaxPool: f.maxPool}}
			return helper.Serve(cmd.Context(), os.Stdin, cmd.OutOrStdout(), p)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.maxN, "max-n", 1024, "largest matrix size accepted")
	fl.IntVar(&f.maxPool, "max-pool", 16, "largest pool accepted (the prover holds 2 x pool matrices of n^2 float32)")
	fl.IntVar(&f.workers, "workers", 0, "goroutines multiplying (default: every core)")
	fl.StringVar(&f.testHelper, "test-helper", "", "verify this helper program (absolute path) instead of serving")
	fl.StringArrayVar(&f.helperArgs, "helper-arg", nil, "an argument for the tested helper (repeatable)")
	fl.StringVar(&f.class, "class", "", "the class the tested helper is judged against (with --test-helper)")
	fl.IntVar(&f.n, "n", proof.MaxN2, "matrix size of the test challenge")
	fl.DurationVar(&f.target, "target", proof.DefaultTarget2, "honest work at the class's figure")
	fl.Float64Var(&f.expected, "expected", 0, "expected FLOP/s instead of the class table's (a scaled-down test class)")
	return cmd
}

// helperReport is what --test-helper prints with --json.
type helperReport struct {
	Class      string  `json:"class"`
	Type       string  `json:"type"`
	Expected   float64 `json:"expected_flops"`
	Required   float64 `json:"required_flops"`
	N          int     `json:"n"`
	Pool       int     `json:"pool"`
	Products   int     `json:"products"`
	Samples    int     `json:"samples"`
	Deadline   float64 `json:"deadline_s"`
	Result     string  `json:"result"`
	Throughput float64 `json:"throughput_flops"`
	Elapsed    float64 `json:"elapsed_s"`
	Ratio      float64 `json:"ratio_to_expected"`
	Detail     string  `json:"detail"`
}

// errHelperFailed is returned when a tested helper does not pass.
var errHelperFailed = errors.New("the helper did not pass")

// testHelper runs --test-helper.
func testHelper(cmd *cobra.Command, g *globals, f proverFlags) error {
	if f.class == "" && f.expected == 0 {
		return usageError{errors.New("--test-helper needs --class or --expected")}
	}
	expected := f.expected
	if expected == 0 {
		var err error
		if expected, err = proof.Expected(f.class, proof.FP16FP32, 1); err != nil {
			return usageError{err}
		}
	}
	p, err := proof.Plan2(expected, f.n, proof.FP16FP32, f.target, proof.DefaultTolerance2, 5*time.Second)
	if err != nil {
		return usageError{err}
	}
	h := helper.Helper{Path: f.testHelper, Args: f.helperArgs}
	v, err := h.SelfTest(cmd.Context(), rand.Reader, p, expected)
	if err != nil {
		return err
	}
	rep := helperReport{Class: f.class, Type: string(p.Type), Expected: expected, Required: expected * proof.DefaultTolerance2,
		N: p.N, Pool: p.Pool, Products: p.Products, Samples: p.Samples, Deadline: p.Deadline.Seconds(),
		Result: string(v.Result), Throughput: v.Throughput, Elapsed: v.Elapsed.Seconds(), Ratio: v.Throughput / expected, Detail: v.Detail}
	if g.json {
		if err := g.printJSON(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(g.stdout, "%s: %s\n  %d products of n = %d (%s) in pools of %d, %d opened; deadline %.1f s\n  measured %.4g FLOP/s in %.3f s: %.2f x the class's %.4g (needs %.2f)\n  %s\n",
			f.class, v.Result, p.Products, p.N, p.Type, p.Pool, p.Samples, rep.Deadline, v.Throughput, rep.Elapsed, rep.Ratio, expected, proof.DefaultTolerance2, v.Detail)
	}
	if v.Result != proof.Pass {
		return fmt.Errorf("%w: %s (%s)", errHelperFailed, v.Result, v.Detail)
	}
	return nil
}
