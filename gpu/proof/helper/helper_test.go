//go:build unix

package helper

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/gpu/proof"
)

// modeEnv makes the test binary act as a helper: the tests run it as a
// real child process, honest (the same Serve that `gpumesh prover` runs)
// or misbehaving.
const modeEnv = "GPUMESH_TEST_HELPER_MODE"

// pidEnv names a file the child writes its process ID to.
const pidEnv = "GPUMESH_TEST_HELPER_PID"

func TestMain(m *testing.M) {
	if mode := os.Getenv(modeEnv); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

// child is the helper's main in the given mode.
func child(mode string) int {
	if f := os.Getenv(pidEnv); f != "" {
		_ = os.WriteFile(f, []byte(strconv.Itoa(os.Getpid())), 0o600)
	}
	ctx := context.Background()
	in, out := os.Stdin, os.Stdout
	switch mode {
	case "honest":
		if err := Serve(ctx, in, out, proof.CPUProver2{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "skip": // commits to zeros: computes nothing
		return cheat(in, out, func(d []float32) {})
	case "garbage":
		_ = WriteFrame(out, proof.Ready2())
		_, _ = ReadFrame(in, proof.Challenge2Size)
		_ = WriteFrame(out, make([]byte, proof.Commitment2Size))
	case "huge":
		_ = WriteFrame(out, proof.Ready2())
		_, _ = ReadFrame(in, proof.Challenge2Size)
		_, _ = out.Write([]byte{0x40, 0, 0, 0})
	case "slow":
		_ = WriteFrame(out, proof.Ready2())
		_, _ = ReadFrame(in, proof.Challenge2Size)
		time.Sleep(time.Hour)
	case "not-ready":
		_ = WriteFrame(out, []byte("hello"))
		time.Sleep(time.Hour)
	case "exit":
		fmt.Fprintln(os.Stderr, "no CUDA device")
		return 3
	}
	return 0
}

// cheat answers with digests it does not compute.
func cheat(in *os.File, out *os.File, fill func([]float32)) int {
	_ = WriteFrame(out, proof.Ready2())
	data, err := ReadFrame(in, proof.Challenge2Size)
	if err != nil {
		return 1
	}
	ch, err := proof.UnmarshalChallenge2(data, proof.Limits2{})
	if err != nil {
		return 1
	}
	d := make([]float32, ch.Products*ch.N)
	fill(d)
	w, err := proof.Commit2(ch, d, time.Millisecond)
	if err != nil {
		return 1
	}
	cm, _ := w.Commitment().Marshal()
	_ = WriteFrame(out, cm)
	data, err = ReadFrame(in, proof.MaxOpenRequest2Size)
	if err != nil {
		return 1
	}
	req, err := proof.UnmarshalOpenRequest2(data, ch)
	if err != nil {
		return 1
	}
	op, _ := w.Open(req)
	b, _ := op.Marshal()
	_ = WriteFrame(out, b)
	return 0
}

// testHelper returns a Helper that runs this test binary in mode.
func testHelper(t *testing.T, mode string) (Helper, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Setenv(modeEnv, mode)
	t.Setenv(pidEnv, pidFile)
	return Helper{Path: exe, Args: []string{"-test.run=^$"}}, pidFile
}

// testChallenge is a scaled-down challenge: 32 products of 64 x 64.
func testChallenge(t *testing.T, deadline time.Duration) proof.Challenge2 {
	t.Helper()
	ch, err := proof.NewChallenge2(rand.NewChaCha8([32]byte{7}), proof.Params2{N: 64, Type: proof.FP16FP32, Pool: 6, Products: 32, Samples: 8, Deadline: deadline})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// verify plays the verifier against a helper run.
func verify(t *testing.T, ch proof.Challenge2, r *Run) proof.Verdict {
	t.Helper()
	cm := r.Commitment()
	req, err := proof.PickProducts(rand.NewChaCha8([32]byte{1}), ch, cm)
	if err != nil {
		t.Fatal(err)
	}
	op, err := r.Open(context.Background(), req)
	if err != nil {
		return proof.Failed2(ch, err)
	}
	v, err := proof.Verify2(proof.Exchange2{Challenge: ch, Commitment: &cm, Request: req, Openings: &op, Rand: rand.NewChaCha8([32]byte{2})})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestHonestHelperPasses(t *testing.T) {
	h, _ := testHelper(t, "honest")
	ch := testChallenge(t, time.Minute)
	r, err := h.Prove(context.Background(), ch)
	if err != nil {
		t.Fatal(err)
	}
	v := verify(t, ch, r)
	if err := r.Close(); err != nil {
		t.Errorf("helper exit: %v", err)
	}
	if v.Result != proof.Pass {
		t.Fatalf("got %s (%s), want pass", v.Result, v.Detail)
	}
	t.Logf("honest CPU helper: %s", v.Detail)
}

func TestSkippingHelperIsCaught(t *testing.T) {
	h, _ := testHelper(t, "skip")
	ch := testChallenge(t, time.Minute)
	r, err := h.Prove(context.Background(), ch)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if v := verify(t, ch, r); v.Result != proof.WrongRows {
		t.Fatalf("got %s (%s), want %s", v.Result, v.Detail, proof.WrongRows)
	}
}

// gone reports whether the process whose ID is in pidFile no longer exists.
func gone(t *testing.T, pidFile string) bool {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return true // it never started far enough to write it
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestMisbehavingHelpersAreRefusedAndKilled(t *testing.T) {
	cases := []struct {
		mode     string
		deadline time.Duration
		want     error
		result   proof.Result
	}{
		{"garbage", time.Minute, ErrGarbage, proof.Malformed},
		{"huge", time.Minute, ErrTooMuch, proof.Malformed},
		{"slow", 2 * time.Second, ErrTooSlow, proof.Timeout},
		{"exit", time.Minute, ErrExited, proof.Timeout},
		{"not-ready", time.Minute, ErrTooMuch, proof.Malformed},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			h, pidFile := testHelper(t, c.mode)
			ch := testChallenge(t, c.deadline)
			r, err := h.Prove(context.Background(), ch)
			if r != nil || !errors.Is(err, c.want) {
				t.Fatalf("got %v, %v; want %v", r, err, c.want)
			}
			if v := proof.Failed2(ch, err); v.Result != c.result {
				t.Errorf("verdict %s, want %s", v.Result, c.result)
			}
			if !gone(t, pidFile) {
				t.Fatal("helper process still exists")
			}
			t.Logf("%s: %v", c.mode, err)
		})
	}
}

func TestCheckRefusesWhatIsNotAnExecutable(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"relative/prover", dir, plain, filepath.Join(dir, "missing")} {
		if err := (Helper{Path: p}).Check(); !errors.Is(err, ErrNotAllowed) {
			t.Errorf("%s: got %v, want ErrNotAllowed", p, err)
		}
	}
}

func TestProveRefusesAChallengeOverItsLimits(t *testing.T) {
	h, _ := testHelper(t, "honest")
	h.Limits = proof.Limits2{MaxN: 32}
	if _, err := h.Prove(context.Background(), testChallenge(t, time.Minute)); !errors.Is(err, proof.ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
}

// TestPythonHelperMatchesTheGoVerifier runs scripts/prover/gpumesh_prover.py
// with its pure-Python backend (the same generator, digests, tree and wire
// as its PyTorch one) on a tiny challenge, and verifies it in Go.
func TestPythonHelperMatchesTheGoVerifier(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found: the Python helper cannot be checked here")
	}
	script, err := filepath.Abs("../../../scripts/prover/gpumesh_prover.py")
	if err != nil {
		t.Fatal(err)
	}
	h := Helper{Path: script, Args: []string{"--backend", "python"}}
	for _, typ := range []proof.NumberType{proof.FP16FP32, proof.BF16FP32} {
		ch, err := proof.NewChallenge2(rand.NewChaCha8([32]byte{byte(len(typ))}), proof.Params2{N: 12, Type: typ, Pool: 3, Products: 7, Samples: 7, Deadline: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		r, err := h.Prove(context.Background(), ch)
		if err != nil {
			t.Fatal(err)
		}
		v := verify(t, ch, r)
		if err := r.Close(); err != nil {
			t.Errorf("python helper exit: %v", err)
		}
		if v.Result != proof.Pass {
			t.Fatalf("%s: got %s (%s), want pass", typ, v.Result, v.Detail)
		}
	}
}

func TestSelfTest(t *testing.T) {
	h, _ := testHelper(t, "honest")
	p := proof.Params2{N: 64, Type: proof.FP16FP32, Pool: 6, Products: 32, Samples: 8, Deadline: time.Minute}
	v, err := h.SelfTest(context.Background(), rand.NewChaCha8([32]byte{3}), p, 0)
	if err != nil || v.Result != proof.Pass {
		t.Fatalf("honest: %+v, %v; want pass", v, err)
	}
	if v, err = h.SelfTest(context.Background(), rand.NewChaCha8([32]byte{3}), p, 1e15); err != nil || v.Result != proof.TooSlow {
		t.Fatalf("claims a petaflop: %+v, %v; want %s", v, err, proof.TooSlow)
	}
}
