package challenge

import (
	"bufio"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"

	"github.com/gpumesh/gpumesh/gpu/proof"
	"github.com/gpumesh/gpumesh/gpu/proof/helper"
)

// helperEnv makes the test binary act as the CPU proof helper (the same
// helper.Serve that `gpumesh prover` runs), so that tests run a real child
// process.
const helperEnv = "GPUMESH_TEST_PROOF_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		if err := helper.Serve(context.Background(), os.Stdin, os.Stdout, proof.CPUProver2{}); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// service2 starts a service on h whose version 2 prover is this test binary
// as a helper; without a helper when withHelper is false.
func service2(t *testing.T, h host.Host, withHelper bool) {
	t.Helper()
	cfg := Config{Limits: proof.Limits{MaxN: 512}, Limits2: proof.Limits2{MaxN: 256, MaxPool: 128}}
	if withHelper {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(helperEnv, "1")
		cfg.Prover2 = HelperProver{Helper: helper.Helper{Path: exe, Args: []string{"-test.run=^$"}, Limits: cfg.Limits2}}
	}
	s := NewService(h, proof.CPUProver{Workers: 2, Limits: cfg.Limits}, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Start(context.Background())
	t.Cleanup(func() { s.Close() })
}

// testClass is a scaled-down GPU class a CPU helper meets: 100 MFLOP/s,
// 0.5 s of work at that speed in products of 64 x 64 (a CPU does it in
// a few milliseconds, so the helper's start-up cannot make it slow).
var testClass = Request2{Class: "test", Expected: 1e8, N: 64, Target: 500 * time.Millisecond, Slack: 30 * time.Second}

func TestV2HonestHelperPassesItsClass(t *testing.T) {
	v, p := pair(t)
	service2(t, p, true)
	got, err := Challenge2(context.Background(), v, p.ID(), testClass)
	if err != nil {
		t.Fatal(err)
	}
	if got.Result != proof.Pass {
		t.Fatalf("verdict %s (%s), want pass", got.Result, got.Detail)
	}
	t.Logf("honest CPU helper: %s in %s", got.Detail, got.Elapsed)
}

func TestV2CatchesSlowAndAbsentProvers(t *testing.T) {
	v, p := pair(t)
	service2(t, p, true)
	bigger := testClass
	bigger.Expected, bigger.Target = 1e11, 20*time.Millisecond // 100 GFLOP/s: no CPU core
	wantVerdict2(t, v, p, bigger, proof.TooSlow, "claims a bigger class")

	late := bigger
	late.Slack = time.Millisecond // the deadline is 27 ms: the helper is killed
	v2, p2 := pair(t)
	service2(t, p2, true)
	wantVerdict2(t, v2, p2, late, proof.Timeout, "past the deadline")

	v3, p3 := pair(t)
	service2(t, p3, false)
	wantVerdict2(t, v3, p3, testClass, proof.Timeout, "no helper")
	// A version 1 challenge is answered as before by a node with a helper.
	if got, err := Challenge(context.Background(), v, p.ID(), small); err != nil || got.Result != proof.Pass {
		t.Errorf("version 1 challenge to a version 2 node: %v, %v", got, err)
	}
}

// wantVerdict2 challenges prover from verifier with req and fails t,
// saying what, unless the verdict's result is want.
func wantVerdict2(t *testing.T, verifier, prover host.Host, req Request2, want proof.Result, what string) {
	t.Helper()
	got, err := Challenge2(context.Background(), verifier, prover.ID(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Result != want {
		t.Errorf("%s: verdict %s (%s), want %s", what, got.Result, got.Detail, want)
	}
}

// TestV2ChallengeMustMatchItsPrepare: a verifier that announces one
// challenge and sends another (say, to have the helper warm for a small
// one and then time a big one) is refused, and the helper is stopped.
func TestV2ChallengeMustMatchItsPrepare(t *testing.T) {
	v, p := pair(t)
	service2(t, p, true)
	params, _, err := testClass.params()
	if err != nil {
		t.Fatal(err)
	}
	ch, err := proof.NewChallenge2(rand.Reader, params)
	if err != nil {
		t.Fatal(err)
	}
	st, err := v.NewStream(context.Background(), p.ID(), ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Reset()
	_ = st.SetDeadline(time.Now().Add(time.Minute))
	prep := proof.PrepareFor(ch)
	prep.Products--
	data, err := prep.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(st)
	if err := writeFrame(st, data); err != nil {
		t.Fatal(err)
	}
	if data, err = readFrame(r, proof.Ready2Size); err != nil || proof.CheckReady2(data) != nil {
		t.Fatalf("ready: %q, %v", data, err)
	}
	if data, err = ch.Marshal(); err != nil {
		t.Fatal(err)
	}
	if err := writeFrame(st, data); err != nil {
		t.Fatal(err)
	}
	if data, err := readFrame(r, proof.Commitment2Size); err == nil {
		t.Fatalf("a challenge other than the one prepared was answered: %x", data)
	}
}
