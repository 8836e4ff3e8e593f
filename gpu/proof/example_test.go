//go:build !race

// The race detector slows the prover many times over, so the example's
// verdict against a claim of one x86 core would read too-slow under -race
// (race_on_test.go skips the other timed tests the same way).

package proof_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/gpumesh/gpumesh/gpu/proof"
)

// Example plays one challenge in process: in gpumesh each message crosses
// the /gpumesh/challenge/1 stream, encoded with Marshal and decoded with the
// matching UnmarshalX, and a decoding error becomes a verdict with Failed.
func Example() {
	// Verifier: a fresh challenge.
	ch, err := proof.NewChallenge(rand.Reader, 128, proof.Int8FP32, proof.DefaultRows, time.Minute)
	if err != nil {
		fmt.Println(err)
		return
	}
	sent := time.Now()

	// Prover: compute and commit.
	work, err := proof.CPUProver{}.Prove(context.Background(), ch)
	if err != nil {
		fmt.Println(err)
		return
	}
	cm := work.Commitment()

	// Verifier: the root is fixed; only now pick the rows.
	observed := time.Since(sent)
	req, err := proof.PickRows(rand.Reader, ch, cm)
	if err != nil {
		fmt.Println(err)
		return
	}

	// Prover: open them.
	op, err := work.Open(req)
	if err != nil {
		fmt.Println(err)
		return
	}

	// Verifier: judge, against a claim of one x86 core.
	expected, _ := proof.Expected("CPU-x86", proof.Int8FP32, 1)
	v, err := proof.Verify(proof.Exchange{
		Challenge: ch, Commitment: &cm, Request: req, Openings: &op,
		Observed: observed, Expected: expected, Tolerance: 0.1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Result)
	// Output: pass
}
