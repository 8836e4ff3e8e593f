package main

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math"
	"runtime"
	"strings"
	"time"

	"github.com/gpumesh/gpumesh/gpu/proof"
)

// proofTarget is B9's goal from BENCHMARKS.md.
const proofTarget = "verifier <= 2% of prover time; the slow prover is flagged every time"

// proofTargetN is the smallest n the 2 % target is judged at: below it, the
// verifier's r n^2 against the prover's n^3 is r/n > 2 % by construction.
const proofTargetN = 1024

// benchProof measures B9, the proof-of-compute: for each n in sizes, the CPU
// prover's time against the verifier's (picking rows, decoding the
// commitment and openings, Verify), both on every core, medians over a few
// runs (three at n = 2048, one from 4096 on; the verifier's also over
// repetitions); then a prover that is really 4x slower than the class it
// claims, which must be flagged too slow in every trial.
func benchProof(sizes []int) []Result {
	var out []Result
	for _, n := range sizes {
		out = append(out, benchProofSize(n))
	}
	return append(out, benchProofLiar(512, liarTrials))
}

// proofRun is one timed challenge.
type proofRun struct {
	prover, verifier time.Duration
	verdict          proof.Verdict
}

// runProof plays one challenge of size n against prover in process, over
// the wire encodings, and times each side. expected is the claimed class's
// FLOP/s; 0 means no claim and no speed check.
func runProof(n int, prover proof.Prover, expected float64) (proofRun, error) {
	ch, err := proof.NewChallenge(crand.Reader, n, proof.Int8FP32, proof.DefaultRows, 10*time.Minute)
	if err != nil {
		return proofRun{}, err
	}
	start := time.Now()
	w, err := prover.Prove(context.Background(), ch)
	if err != nil {
		return proofRun{}, err
	}
	cmData, err := w.Commitment().Marshal()
	if err != nil {
		return proofRun{}, err
	}
	proverTime := time.Since(start)

	vStart := time.Now()
	cm, err := proof.UnmarshalCommitment(cmData, ch)
	if err != nil {
		return proofRun{}, err
	}
	observed := time.Since(start)
	req, err := proof.PickRows(crand.Reader, ch, cm)
	if err != nil {
		return proofRun{}, err
	}
	pick := time.Since(vStart)

	op, err := w.Open(req) // the prover's side, not timed
	if err != nil {
		return proofRun{}, err
	}
	opData, err := op.Marshal()
	if err != nil {
		return proofRun{}, err
	}

	// Verifying is pure and takes milliseconds, so it is timed as the median
	// of a few repetitions, which a neighbour's burst on a shared machine
	// does not skew.
	var verifyTimes []float64
	var v proof.Verdict
	for range verifyReps {
		vStart = time.Now()
		op2, err := proof.UnmarshalOpenings(opData, ch)
		if err != nil {
			return proofRun{}, err
		}
		v, err = proof.Verify(proof.Exchange{Challenge: ch, Commitment: &cm, Request: req, Openings: &op2,
			Observed: observed, Expected: expected, Tolerance: proof.DefaultTolerance})
		if err != nil {
			return proofRun{}, err
		}
		verifyTimes = append(verifyTimes, float64(time.Since(vStart)))
	}
	return proofRun{prover: proverTime, verifier: pick + time.Duration(median(verifyTimes)), verdict: v}, nil
}

// verifyReps is how many times each run's verification is repeated.
const verifyReps = 5

func benchProofSize(n int) Result {
	runs := 5 // about 0.15 s each at n = 1024 on two free cores
	if n >= 2048 {
		runs = 3 // about 1 s each
	}
	if n >= 4096 {
		runs = 1
	}
	res := Result{
		ID:     "B9",
		Name:   fmt.Sprintf("proof-of-compute, CPU prover vs verifier, n = %d", n),
		Params: map[string]any{"n": n, "r": proof.DefaultRows, "number_type": string(proof.Int8FP32), "runs": runs, "cores": runtime.GOMAXPROCS(0)},
		Unit:   "ms",
		Target: proofTarget,
	}
	var provers, verifiers []float64
	for range runs {
		run, err := runProof(n, proof.CPUProver{}, 0)
		if err != nil {
			res.Skipped = fmt.Sprintf("run failed: %v", err)
			return res
		}
		if run.verdict.Result != proof.Pass {
			res.Verdict = fmt.Sprintf("missed: an honest prover got %s (%s)", run.verdict.Result, run.verdict.Detail)
			return res
		}
		provers = append(provers, float64(run.prover)/float64(time.Millisecond))
		verifiers = append(verifiers, float64(run.verifier)/float64(time.Millisecond))
	}
	p, v := median(provers), median(verifiers)
	pOps, vOps := proof.Cost(n, proof.DefaultRows)
	res.Figures = map[string]float64{
		"prover_ms":    p,
		"verifier_ms":  v,
		"verifier_pct": 100 * v / p,
		"counted_pct":  100 * float64(vOps) / float64(pOps),
		"gflops":       2 * math.Pow(float64(n), 3) / (p / 1000) / 1e9,
	}
	switch {
	case n < proofTargetN:
		res.Verdict = fmt.Sprintf("not judged: the target is for n >= %d", proofTargetN)
	case 100*v/p <= 2:
		res.Verdict = "met"
	default:
		res.Verdict = "missed"
	}
	return res
}

// liarTrials is how many challenges the slow prover answers, and the
// honest one beside it.
const liarTrials = 20

// slowFactor is how many times slower than it claims the slow prover is.
const slowFactor = 4

// slowProver is a real prover that is slowFactor times slower than an
// honest CPUProver on the same machine: it does the whole work (generating
// the matrices, the product, the commitment) slowFactor times over and
// answers with the last, which is correct. Nothing about it is computed from
// the verifier's measurement.
type slowProver struct {
	inner  proof.CPUProver
	factor int
}

// Prove implements proof.Prover.
func (p slowProver) Prove(ctx context.Context, ch proof.Challenge) (*proof.Work, error) {
	var w *proof.Work
	for range p.factor {
		var err error
		if w, err = p.inner.Prove(ctx, ch); err != nil {
			return nil, fmt.Errorf("slow prover: %w", err)
		}
	}
	return w, nil
}

// honestClaim is what an honest CPUProver on this machine states about
// itself: the throughput of one self-test (proof.SelfTest, what `gpumesh
// bench` runs) and the class that throughput supports (empty on a machine
// too loaded to reach one core of a CPU class). The slow prover claims that
// throughput, unrounded, so the check is of the 4x alone.
func honestClaim(n int) (float64, proof.Fit, error) {
	v, fit, err := proof.SelfTest(context.Background(), proof.CPUProver{}, crand.Reader, n, proof.Int8FP32)
	if err != nil {
		return 0, proof.Fit{}, err
	}
	if v.Result != proof.Pass {
		return 0, proof.Fit{}, fmt.Errorf("honest self-test: %s (%s)", v.Result, v.Detail)
	}
	return v.Throughput, fit, nil
}

// benchProofLiar plays trials rounds of: an honest CPUProver's self-test,
// whose throughput becomes the claim; a challenge of size n to a prover
// slowFactor times slower than that, making the claim; and one to the
// honest prover, making it too. The three run back to back, so that a
// neighbour's load on a shared machine weighs on all alike. The slow prover
// must be flagged too slow every time; honest_flagged_pct shows how often
// the check holds an honest prover to its own claim.
func benchProofLiar(n, trials int) Result {
	res := Result{
		ID:   "B9",
		Name: fmt.Sprintf("proof-of-compute, a prover %dx slower than it claims, n = %d", slowFactor, n),
		Params: map[string]any{"n": n, "r": proof.DefaultRows, "trials": trials, "tolerance": proof.DefaultTolerance,
			"slow_prover": fmt.Sprintf("CPUProver doing the whole work %d times over", slowFactor),
			"claim":       "the throughput of an honest CPUProver's self-test just before each trial"},
		Unit:   "% or GFLOP/s as named",
		Target: proofTarget,
	}
	var flagged, honestFlagged int
	var claims, slowGF, honestGF []float64
	classes := map[string]int{}
	for range trials {
		claim, fit, err := honestClaim(n)
		if err != nil {
			res.Skipped = err.Error()
			return res
		}
		claims = append(claims, claim/1e9)
		class := "none (below one core of a CPU class)"
		if fit.Class != "" {
			class = fmt.Sprintf("%s x %d cores", fit.Class, fit.Cores)
		}
		classes[class]++
		for _, p := range []proof.Prover{slowProver{factor: slowFactor}, proof.CPUProver{}} {
			run, err := runProof(n, p, claim)
			if err != nil {
				res.Skipped = fmt.Sprintf("run failed: %v", err)
				return res
			}
			_, isSlow := p.(slowProver)
			tooSlow := run.verdict.Result == proof.TooSlow
			gf := 2 * math.Pow(float64(n), 3) / run.prover.Seconds() / 1e9
			if isSlow {
				flagged += b2i(tooSlow)
				slowGF = append(slowGF, gf)
			} else {
				honestFlagged += b2i(tooSlow)
				honestGF = append(honestGF, gf)
			}
		}
	}
	res.Params["classes_supported"] = fmtCounts(classes)
	res.Figures = map[string]float64{
		"flagged_pct":        100 * float64(flagged) / float64(trials),
		"honest_flagged_pct": 100 * float64(honestFlagged) / float64(trials),
		"slow_gflops_p50":    median(slowGF),
		"honest_gflops_p50":  median(honestGF),
		"claimed_gflops_p50": median(claims),
	}
	res.Verdict = "missed"
	if flagged == trials {
		res.Verdict = "met"
	}
	return res
}

// fmtCounts writes counts as "key: n" pairs in key order.
func fmtCounts(counts map[string]int) string {
	var parts []string
	for _, k := range sortedKeys(counts) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
