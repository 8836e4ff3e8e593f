package proof

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

// testParams2 is a scaled-down version 2 challenge that two CPU cores
// prove in well under a second: 32 products of 64 x 64.
var testParams2 = Params2{N: 64, Type: FP16FP32, Pool: 6, Products: 32, Samples: 8, Deadline: time.Minute}

func newChallenge2(t testing.TB, seed byte, p Params2) Challenge2 {
	t.Helper()
	ch, err := NewChallenge2(seeded(seed), p)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func prove2(t testing.TB, ch Challenge2) *Work2 {
	t.Helper()
	w, err := CPUProver2{}.Prove(context.Background(), ch)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// exchange2 plays the verifier against a prover's commitment and work,
// through the wire encodings, and returns the verdict.
func exchange2(t testing.TB, ch Challenge2, cm Commitment2, w *Work2, seed byte, expected float64) Verdict {
	t.Helper()
	data, err := cm.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalCommitment2(data, ch)
	if err != nil {
		return Failed2(ch, err)
	}
	req, err := PickProducts(seeded(seed), ch, got)
	if err != nil {
		t.Fatal(err)
	}
	op, err := w.Open(req)
	if err != nil {
		t.Fatal(err)
	}
	data, err = op.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	op, err = UnmarshalOpenings2(data, ch)
	if err != nil {
		return Failed2(ch, err)
	}
	v, err := Verify2(Exchange2{Challenge: ch, Commitment: &got, Request: req, Openings: &op, Expected: expected, Rand: seeded(seed + 1)})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestV2HonestCPUProverPasses(t *testing.T) {
	for _, typ := range []NumberType{FP16FP32, BF16FP32} {
		p := testParams2
		p.Type = typ
		ch := newChallenge2(t, 1, p)
		w := prove2(t, ch)
		for seed := range byte(5) {
			if v := exchange2(t, ch, w.Commitment(), w, 10+seed, 0); v.Result != Pass {
				t.Fatalf("%s seed %d: got %s (%s), want pass", typ, seed, v.Result, v.Detail)
			}
		}
	}
}

// forge commits to digests changed by f, as a cheating prover would.
func forge(t testing.TB, ch Challenge2, honest *Work2, f func(j, i int, d float32) float32) *Work2 {
	t.Helper()
	d := append([]float32(nil), honest.digests...)
	for j := range ch.Products {
		for i := range ch.N {
			d[j*ch.N+i] = f(j, i, d[j*ch.N+i])
		}
	}
	w, err := Commit2(ch, d, honest.commit.Elapsed)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestV2Cheats(t *testing.T) {
	ch := newChallenge2(t, 2, testParams2)
	honest := prove2(t, ch)
	skipAll := forge(t, ch, honest, func(j, i int, d float32) float32 { return 0 })
	skipHalf := forge(t, ch, honest, func(j, i int, d float32) float32 {
		if j%2 == 1 {
			return 0
		}
		return d
	})
	wrong := forge(t, ch, honest, func(j, i int, d float32) float32 { return d * 1.01 })
	random := forge(t, ch, honest, func(j, i int, d float32) float32 { return float32(j*7919+i*104729) / 97 })
	slow := honest.Commitment()
	slow.Elapsed = ch.Deadline + time.Second
	replay := honest.Commitment()
	replay.Products--

	cases := []struct {
		name     string
		cm       Commitment2
		w        *Work2
		expected float64
		want     Result
	}{
		{"skipped every product", skipAll.Commitment(), skipAll, 0, WrongRows},
		{"skipped half the products", skipHalf.Commitment(), skipHalf, 0, WrongRows},
		{"wrong products (1 % off)", wrong.Commitment(), wrong, 0, WrongRows},
		{"random digests", random.Commitment(), random, 0, WrongRows},
		{"opens other digests than committed", honest.Commitment(), wrong, 0, BadCommitment},
		{"past the deadline", slow, honest, 0, Timeout},
		{"slower than the claimed class", honest.Commitment(), honest, 1e18, TooSlow},
		{"commitment for other products", replay, honest, 0, BadCommitment},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if v := exchange2(t, ch, c.cm, c.w, 3, c.expected); v.Result != c.want {
				t.Fatalf("got %s (%s), want %s", v.Result, v.Detail, c.want)
			}
		})
	}
}

// TestV2SkippedProductsAreCaughtAsOftenAsTheFormulaSays skips a quarter of
// the products and counts escapes over many verifier seeds.
func TestV2SkippedProductsAreCaughtAsOftenAsTheFormulaSays(t *testing.T) {
	p := testParams2
	p.Samples = 4
	ch := newChallenge2(t, 4, p)
	honest := prove2(t, ch)
	cheat := forge(t, ch, honest, func(j, i int, d float32) float32 {
		if j%4 == 0 {
			return d * 2
		}
		return d
	})
	const trials = 400
	escaped := 0
	for s := range trials {
		req, err := PickProducts(seeded(byte(s)), ch, cheat.Commitment())
		if err != nil {
			t.Fatal(err)
		}
		op, err := cheat.Open(req)
		if err != nil {
			t.Fatal(err)
		}
		cm := cheat.Commitment()
		v, err := Verify2(Exchange2{Challenge: ch, Commitment: &cm, Request: req, Openings: &op, Rand: seeded(byte(s + 1))})
		if err != nil {
			t.Fatal(err)
		}
		if v.Result == Pass {
			escaped++
		}
	}
	want := 1 - CatchProbability2(0.25, p.Samples, 1) // (3/4)^4 = 31.6 %
	got := float64(escaped) / trials
	if math.Abs(got-want) > 0.08 {
		t.Fatalf("escaped %.3f of the time, formula says %.3f", got, want)
	}
	t.Logf("skipping 1/4 of the products with s = %d: escaped %.3f, formula %.3f", p.Samples, got, want)
}

func TestV2VerifierWorkIsUnderTwoPercent(t *testing.T) {
	cases := []struct {
		name string
		p    Params2
	}{
		{"test class", testParams2},
	}
	for _, class := range []string{"T4-16GB", "A100-80GB", "H100-80GB", "B200-180GB"} {
		e, err := Expected(class, FP16FP32, 1)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Plan2(e, 4096, FP16FP32, DefaultTarget2, DefaultTolerance2, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct {
			name string
			p    Params2
		}{class, p})
	}
	for _, c := range cases {
		prover, verifier := Cost2(c.p.N, c.p.Products, c.p.Samples, DefaultCheckRows2)
		share := float64(verifier) / float64(prover)
		t.Logf("%s: n %d, pool %d, K %d, s %d: verifier %.3g of the prover's multiply-adds", c.name, c.p.N, c.p.Pool, c.p.Products, c.p.Samples, share)
		if share >= 0.02 {
			t.Errorf("%s: verifier's share %.4f, want < 2 %%", c.name, share)
		}
	}
}

func TestPlan2(t *testing.T) {
	e, _ := Expected("H100-80GB", FP16FP32, 1)
	p, err := Plan2(e, 4096, FP16FP32, time.Second, 0.75, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if p.Products != 3275 || p.Pool != 58 || p.Samples != DefaultSamples2 {
		t.Fatalf("got %+v, want 3275 products in pools of 58, %d samples", p, DefaultSamples2)
	}
	if work := float64(p.Products) * 2 * math.Pow(4096, 3) / e; work < 0.99 || work > 1.01 {
		t.Fatalf("honest work %.3f s, want about 1", work)
	}
	if _, err := Plan2(e, 0, FP16FP32, time.Second, 0.75, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("n = 0: got %v, want ErrInvalid", err)
	}
}

func TestPairIsInjective(t *testing.T) {
	for _, pool := range []int{1, 2, 7, 16} {
		seen := map[[2]int]bool{}
		for j := range pool * pool {
			x, y := Pair(j, pool)
			if x < 0 || x >= pool || y < 0 || y >= pool || seen[[2]int{x, y}] {
				t.Fatalf("pool %d: product %d -> (%d, %d): out of range or repeated", pool, j, x, y)
			}
			seen[[2]int{x, y}] = true
		}
	}
}

// TestGenerator2IsPinned pins the version 2 generator, which the Python
// helper mirrors: a change here breaks every GPU prover.
func TestGenerator2IsPinned(t *testing.T) {
	var seed [32]byte
	for i := range seed {
		seed[i] = byte(i)
	}
	g := newGen2(seed, 8, FP16FP32)
	got := []float32{g.element(0, 0, 0), g.element(0, 0, 1), g.element(1, 2, 3), g.element(5, 7, 7)}
	want := []float32{pinned2[0], pinned2[1], pinned2[2], pinned2[3]}
	for k := range got {
		if got[k] != want[k] {
			t.Fatalf("element %d: got %v, want %v (all: %v)", k, got[k], want[k], got)
		}
	}
}

func TestCPUProver2RespectsContext(t *testing.T) {
	p := testParams2
	p.N, p.Pool, p.Products, p.Samples = 512, 8, 64, 8
	ch := newChallenge2(t, 5, p)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (CPUProver2{}).Prove(ctx, ch); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if _, err := (CPUProver2{Limits: Limits2{MaxN: 256}}).Prove(context.Background(), ch); !errors.Is(err, ErrInvalid) {
		t.Fatalf("n over the limit: got %v, want ErrInvalid", err)
	}
}

// pinned2 are the generator's first values for seed 0, 1, ..., 31; the
// Python helper's self-test checks the same.
var pinned2 = [4]float32{0.7607422, 0.20800781, 1.6025391, -1.6162109}
