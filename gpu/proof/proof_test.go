package proof

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// seeded returns a deterministic randomness source for a test.
func seeded(seed byte) io.Reader { return rand.NewChaCha8([32]byte{seed}) }

// newChallenge returns a valid challenge drawn from rnd, or fails the test.
func newChallenge(t testing.TB, rnd io.Reader, n int, nt NumberType, rows int) Challenge {
	t.Helper()
	ch, err := NewChallenge(rnd, n, nt, rows, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// prove runs the CPU prover, or fails the test.
func prove(t testing.TB, ch Challenge) *Work {
	t.Helper()
	w, err := CPUProver{}.Prove(context.Background(), ch)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// tamper says how a dishonest prover changes an honest answer.
type tamper struct {
	// openings changes the openings after they are made (after committing).
	openings func(*Openings)
	// elapsed multiplies the claimed elapsed time.
	elapsed float64
}

// exchange plays one challenge over the wire encodings, the way the stream
// protocol will: commitment, rows picked from rnd, openings, Verify.
func exchange(t testing.TB, ch Challenge, w *Work, rnd io.Reader, tm tamper, expected float64) Verdict {
	t.Helper()
	cm := w.Commitment()
	if tm.elapsed > 0 {
		cm.Elapsed = time.Duration(float64(cm.Elapsed) * tm.elapsed)
	}
	data, err := cm.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalCommitment(data, ch)
	if err != nil {
		return Failed(ch, err)
	}
	req, err := PickRows(rnd, ch, got)
	if err != nil {
		t.Fatal(err)
	}
	reqData, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	req2, err := UnmarshalOpenRequest(reqData, ch)
	if err != nil {
		t.Fatalf("UnmarshalOpenRequest: %v", err)
	}
	op, err := w.Open(req2)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if tm.openings != nil {
		tm.openings(&op)
	}
	opData, err := op.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	op2, err := UnmarshalOpenings(opData, ch)
	if err != nil {
		return Failed(ch, err)
	}
	v, err := Verify(Exchange{Challenge: ch, Commitment: &got, Request: req, Openings: &op2, Expected: expected, Tolerance: 0.5})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return v
}

func TestHonestCPUProverPasses(t *testing.T) {
	tests := []struct {
		n    int
		nt   NumberType
		rows int
	}{
		{1, Int8FP32, 1},
		{17, Int8FP32, 5}, // not a power of two, not a multiple of 4 or 16
		{64, Int8FP32, DefaultRows},
		{256, Int8FP32, DefaultRows},
		{100, BF16FP32, DefaultRows},
		{128, FP16FP32, DefaultRows},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprintf("%s/n=%d", tc.nt, tc.n), func(t *testing.T) {
			rnd := seeded(byte(i))
			ch := newChallenge(t, rnd, tc.n, tc.nt, tc.rows)
			w := prove(t, ch)
			// The class the prover really is: what it measured, so the test
			// holds on a loaded machine.
			expected := ch.Flops() / w.Commitment().Elapsed.Seconds()
			v := exchange(t, ch, w, rnd, tamper{}, expected)
			if v.Result != Pass {
				t.Fatalf("got %s (%s), want pass", v.Result, v.Detail)
			}
			if v.Throughput <= 0 || v.Challenge != ch.ID() {
				t.Errorf("got throughput %v, challenge %s; want > 0, %s", v.Throughput, v.Challenge, ch.ID())
			}
		})
	}
}

// TestHonestCPUProverMeetsItsClass checks the table's CPU figure against the
// prover: one core's worth at DefaultTolerance, at a size where timing is
// meaningful.
func TestHonestCPUProverMeetsItsClass(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("times the prover")
	}
	rnd := seeded(40)
	ch := newChallenge(t, rnd, 256, Int8FP32, DefaultRows)
	expected, err := Expected("CPU-x86", Int8FP32, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Best of three, so a neighbour's burst on a shared machine is not a failure.
	var v Verdict
	for range 3 {
		if v = exchange(t, ch, prove(t, ch), rnd, tamper{}, expected); v.Result == Pass {
			break
		}
	}
	if v.Result != Pass {
		t.Fatalf("got %s (%s), want pass at one CPU-x86 core", v.Result, v.Detail)
	}
}

// TestProductIsRight checks C against a float64 product computed the slow
// way, for every number type.
func TestProductIsRight(t *testing.T) {
	for i, nt := range NumberTypes {
		t.Run(string(nt), func(t *testing.T) {
			n := 23
			ch := newChallenge(t, seeded(byte(50+i)), n, nt, 1)
			w := prove(t, ch)
			g := newGenerator(ch.Seed, nt)
			a, b := make([]float32, n*n), make([]float32, n*n)
			for r := range n {
				g.row(matrixA, r, a[r*n:(r+1)*n])
				g.row(matrixB, r, b[r*n:(r+1)*n])
			}
			for r := range n {
				for c := range n {
					want := 0.0
					for k := range n {
						want += float64(a[r*n+k]) * float64(b[k*n+c])
					}
					if got := float64(w.c[r*n+c]); math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
						t.Fatalf("C[%d][%d] = %v, want %v", r, c, got, want)
					}
				}
			}
		})
	}
}

// corruptRow returns an honest product with one element of row bad changed,
// committed: a prover that cheats before committing.
func corruptRow(t testing.TB, ch Challenge, honest *Work, bad int) *Work {
	t.Helper()
	c := slices.Clone(honest.c)
	c[bad*ch.N+ch.N/2] += 1
	w, err := Commit(ch, c, honest.Commitment().Elapsed)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestCheats(t *testing.T) {
	const n = 64
	tests := []struct {
		name  string
		nt    NumberType
		cheat func(t *testing.T, ch Challenge, honest *Work) (*Work, tamper)
		want  Result
	}{
		{"every row wrong before committing", Int8FP32, func(t *testing.T, ch Challenge, h *Work) (*Work, tamper) {
			c := slices.Clone(h.c)
			for i := range n {
				c[i*n] += 1
			}
			w, err := Commit(ch, c, h.Commitment().Elapsed)
			if err != nil {
				t.Fatal(err)
			}
			return w, tamper{}
		}, WrongRows},
		{"row changed after committing", Int8FP32, func(t *testing.T, ch Challenge, h *Work) (*Work, tamper) {
			return h, tamper{openings: func(o *Openings) { o.Rows[0].Values[3] += 1 }}
		}, BadCommitment},
		{"right values under a wrong proof", Int8FP32, func(t *testing.T, ch Challenge, h *Work) (*Work, tamper) {
			return h, tamper{openings: func(o *Openings) { o.Rows[0].Proof[0][0] ^= 1 }}
		}, BadCommitment},
		{"proof of another row", Int8FP32, func(t *testing.T, ch Challenge, h *Work) (*Work, tamper) {
			return h, tamper{openings: func(o *Openings) { o.Rows[0].Index = (o.Rows[0].Index + 1) % n }}
		}, Malformed},
		{"row of n-1 values", Int8FP32, func(t *testing.T, ch Challenge, h *Work) (*Work, tamper) {
			return h, tamper{openings: func(o *Openings) { o.Rows[0].Values = o.Rows[0].Values[1:] }}
		}, Malformed},
		{"row of n+1 values", Int8FP32, func(t *testing.T, ch Challenge, h *Work) (*Work, tamper) {
			return h, tamper{openings: func(o *Openings) { o.Rows[0].Values = append(o.Rows[0].Values, 0) }}
		}, Malformed},
		{"a row left out", Int8FP32, func(t *testing.T, ch Challenge, h *Work) (*Work, tamper) {
			return h, tamper{openings: func(o *Openings) { o.Rows = o.Rows[1:] }}
		}, Malformed},
		{"no rows", Int8FP32, func(t *testing.T, ch Challenge, h *Work) (*Work, tamper) {
			return h, tamper{openings: func(o *Openings) { o.Rows = nil }}
		}, Malformed},
		{"elapsed time inflated 4x", Int8FP32, func(t *testing.T, ch Challenge, h *Work) (*Work, tamper) {
			return h, tamper{elapsed: 4}
		}, TooSlow},
		// The 16-bit types: a prover with cheaper arithmetic than asked.
		{"bf16: accumulated in fp16", BF16FP32, func(t *testing.T, ch Challenge, h *Work) (*Work, tamper) {
			return lowPrecision(t, ch, h, func(acc, a, b float32) float32 { return roundTo(acc+a*b, 10) }), tamper{}
		}, WrongRows},
		{"bf16: inputs quantized to int8", BF16FP32, func(t *testing.T, ch Challenge, h *Work) (*Work, tamper) {
			q := func(x float32) float32 { return float32(math.Round(float64(x)*127/2) * 2 / 127) }
			return lowPrecision(t, ch, h, func(acc, a, b float32) float32 { return acc + q(a)*q(b) }), tamper{}
		}, WrongRows},
		{"fp16: inputs rounded to bf16", FP16FP32, func(t *testing.T, ch Challenge, h *Work) (*Work, tamper) {
			return lowPrecision(t, ch, h, func(acc, a, b float32) float32 { return acc + roundTo(a, 7)*roundTo(b, 7) }), tamper{}
		}, WrongRows},
		{"fp16: honest", FP16FP32, func(t *testing.T, ch Challenge, h *Work) (*Work, tamper) { return h, tamper{} }, Pass},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rnd := seeded(byte(100 + i))
			ch := newChallenge(t, rnd, n, tc.nt, DefaultRows)
			honest := prove(t, ch)
			w, tm := tc.cheat(t, ch, honest)
			expected := ch.Flops() / honest.Commitment().Elapsed.Seconds()
			if v := exchange(t, ch, w, rnd, tm, expected); v.Result != tc.want {
				t.Fatalf("got %s (%s), want %s", v.Result, v.Detail, tc.want)
			}
		})
	}
}

// lowPrecision recomputes ch's product with step as the multiply-add and
// commits to it.
func lowPrecision(t *testing.T, ch Challenge, honest *Work, step func(acc, a, b float32) float32) *Work {
	n := ch.N
	g := newGenerator(ch.Seed, ch.Type)
	a, b := make([]float32, n*n), make([]float32, n*n)
	for r := range n {
		g.row(matrixA, r, a[r*n:(r+1)*n])
		g.row(matrixB, r, b[r*n:(r+1)*n])
	}
	c := make([]float32, n*n)
	for r := range n {
		for k := range n {
			for j := range n {
				c[r*n+j] = step(c[r*n+j], a[r*n+k], b[k*n+j])
			}
		}
	}
	w, err := Commit(ch, c, honest.Commitment().Elapsed)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// roundTo rounds x to frac fraction bits, to nearest even.
func roundTo(x float32, frac uint) float32 {
	b := math.Float32bits(x)
	sh := 23 - frac
	lsb := b >> sh & 1
	return math.Float32frombits((b + 1<<(sh-1) - 1 + lsb) &^ (1<<sh - 1))
}

// TestOneWrongRowIsCaughtAsOftenAsTheFormulaSays checks
// CatchProbability(n, r, 1) = 1-(1-1/n)^r against many trials of a prover
// that corrupts one random row before committing.
func TestOneWrongRowIsCaughtAsOftenAsTheFormulaSays(t *testing.T) {
	const n, r, trials = 32, 4, 2000
	rnd := seeded(200)
	pick := rand.New(rand.NewPCG(1, 2))
	caught := 0
	for range trials {
		ch := newChallenge(t, rnd, n, Int8FP32, r)
		honest := prove(t, ch)
		w := corruptRow(t, ch, honest, pick.IntN(n))
		switch v := exchange(t, ch, w, rnd, tamper{}, 0); v.Result {
		case WrongRows:
			caught++
		case Pass:
		default:
			t.Fatalf("got %s (%s), want wrong-rows or pass", v.Result, v.Detail)
		}
	}
	want := CatchProbability(n, r, 1)
	got := float64(caught) / trials
	// The standard deviation of the rate is sqrt(p(1-p)/trials) = 0.0072.
	if math.Abs(got-want) > 0.025 {
		t.Fatalf("caught %d of %d = %.3f, want %.3f ± 0.025", caught, trials, got, want)
	}
	t.Logf("caught %d of %d = %.3f; formula %.3f", caught, trials, got, want)
}

func TestCatchProbability(t *testing.T) {
	tests := []struct {
		n, r, bad int
		want      float64
	}{
		{1024, DefaultRows, 1, 0.01166},
		{256, DefaultRows, 1, 0.04588},
		{32, 4, 1, 0.1193},
		{1024, DefaultRows, 512, 1 - 1.0/4096},
		{1000, DefaultRows, 100, 0.71757}, // a tenth: 1-0.9^12
		{10, 3, 10, 1},
		{10, 3, 0, 0},
	}
	for _, tc := range tests {
		if got := CatchProbability(tc.n, tc.r, tc.bad); math.Abs(got-tc.want) > 5e-5 {
			t.Errorf("CatchProbability(%d, %d, %d) = %.5f, want %.5f", tc.n, tc.r, tc.bad, got, tc.want)
		}
	}
}

// TestSlowProverIsFlaggedEveryTime: a prover that claims a class 4x faster
// than it is, or inflates nothing but is timed by the verifier, is too slow
// in every trial.
func TestSlowProverIsFlaggedEveryTime(t *testing.T) {
	rnd := seeded(60)
	for trial := range 10 {
		ch := newChallenge(t, rnd, 64, Int8FP32, DefaultRows)
		w := prove(t, ch)
		measured := ch.Flops() / w.Commitment().Elapsed.Seconds()
		if v := exchange(t, ch, w, rnd, tamper{}, 4*measured); v.Result != TooSlow {
			t.Fatalf("trial %d, claims 4x its speed: got %s (%s), want too-slow", trial, v.Result, v.Detail)
		}
		if v := exchange(t, ch, w, rnd, tamper{elapsed: 4}, measured); v.Result != TooSlow {
			t.Fatalf("trial %d, elapsed inflated 4x: got %s (%s), want too-slow", trial, v.Result, v.Detail)
		}
	}
}

// TestVerifyTiming checks how Verify turns times into a verdict.
func TestVerifyTiming(t *testing.T) {
	rnd := seeded(61)
	ch := newChallenge(t, rnd, 32, Int8FP32, 4)
	w := prove(t, ch)
	const flops = 2 * 32 * 32 * 32
	tests := []struct {
		name      string
		claimed   time.Duration
		observed  time.Duration
		rtt       time.Duration
		expected  float64
		want      Result
		wantTaken time.Duration
	}{
		{"claim only", time.Millisecond, 0, 0, flops / 1e-3, Pass, time.Millisecond},
		{"claim under the observed time: observed wins", time.Millisecond, 110 * time.Millisecond, 10 * time.Millisecond, flops / 1e-3, TooSlow, 100 * time.Millisecond},
		{"observed within one rtt: claim stands", time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, flops / 1e-3, Pass, time.Millisecond},
		{"just fast enough", 2 * time.Millisecond, 0, 0, flops / 1e-3, Pass, 2 * time.Millisecond},
		{"just too slow", 2*time.Millisecond + 1, 0, 0, flops / 1e-3, TooSlow, 2*time.Millisecond + 1},
		{"no claim, no speed check", 30 * time.Second, 0, 0, 0, Pass, 30 * time.Second},
		{"past the deadline", 2 * time.Minute, 0, 0, 0, Timeout, 2 * time.Minute},
		{"observed past the deadline", time.Millisecond, 2 * time.Minute, 0, 0, Timeout, 2 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cm := w.Commitment()
			cm.Elapsed = tc.claimed
			req, err := PickRows(rnd, ch, cm)
			if err != nil {
				t.Fatal(err)
			}
			op, err := w.Open(req)
			if err != nil {
				t.Fatal(err)
			}
			v, err := Verify(Exchange{Challenge: ch, Commitment: &cm, Request: req, Openings: &op,
				Observed: tc.observed, RTT: tc.rtt, Expected: tc.expected, Tolerance: 0.5})
			if err != nil {
				t.Fatal(err)
			}
			if v.Result != tc.want || v.Elapsed != tc.wantTaken {
				t.Fatalf("got %s after %s (%s), want %s after %s", v.Result, v.Elapsed, v.Detail, tc.want, tc.wantTaken)
			}
			if want := flops / tc.wantTaken.Seconds(); math.Abs(v.Throughput-want) > 1e-9*want {
				t.Errorf("got throughput %v, want %v", v.Throughput, want)
			}
		})
	}
}

func TestReplayedCommitmentIsRefused(t *testing.T) {
	rnd := seeded(70)
	first := newChallenge(t, rnd, 64, Int8FP32, DefaultRows)
	w := prove(t, first)
	// The same matrices, another nonce: a fresh challenge the prover answers
	// with its old commitment.
	second := first
	second.Nonce[0] ^= 1
	other := newChallenge(t, rnd, 64, Int8FP32, DefaultRows)
	smaller := newChallenge(t, rnd, 32, Int8FP32, DefaultRows)
	smallWork := prove(t, smaller)
	sameID := smallWork.Commitment()
	sameID.Challenge = first.ID() // the right ID, the wrong n

	tests := []struct {
		name string
		ch   Challenge
		cm   Commitment
	}{
		{"same seed, another nonce", second, w.Commitment()},
		{"another challenge", other, w.Commitment()},
		{"right ID, wrong n", first, sameID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := tc.cm.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			_, err = UnmarshalCommitment(data, tc.ch)
			if !errors.Is(err, ErrWrongChallenge) {
				t.Fatalf("UnmarshalCommitment: got %v, want ErrWrongChallenge", err)
			}
			if v := Failed(tc.ch, err); v.Result != BadCommitment {
				t.Errorf("Failed: got %s, want bad-commitment", v.Result)
			}
			cm := tc.cm
			v, err := Verify(Exchange{Challenge: tc.ch, Commitment: &cm})
			if err != nil {
				t.Fatal(err)
			}
			if v.Result != BadCommitment {
				t.Errorf("Verify: got %s (%s), want bad-commitment", v.Result, v.Detail)
			}
			if _, err := PickRows(rnd, tc.ch, cm); !errors.Is(err, ErrWrongChallenge) {
				t.Errorf("PickRows: got %v, want ErrWrongChallenge", err)
			}
		})
	}
	// Openings of the first challenge sent as openings of the second.
	cm := w.Commitment()
	req, err := PickRows(rnd, first, cm)
	if err != nil {
		t.Fatal(err)
	}
	op, err := w.Open(req)
	if err != nil {
		t.Fatal(err)
	}
	data, err := op.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnmarshalOpenings(data, second); !errors.Is(err, ErrWrongChallenge) {
		t.Errorf("UnmarshalOpenings of another challenge's openings: got %v, want ErrWrongChallenge", err)
	}
	// A request of another challenge: the prover refuses to open.
	req.Challenge = second.ID()
	if _, err := w.Open(req); !errors.Is(err, ErrWrongChallenge) {
		t.Errorf("Open of another challenge's request: got %v, want ErrWrongChallenge", err)
	}
}

// silent is a prover that never answers.
type silent struct{}

func (silent) Prove(ctx context.Context, ch Challenge) (*Work, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestProverThatNeverAnswersTimesOut(t *testing.T) {
	rnd := seeded(80)
	ch, err := NewChallenge(rnd, 64, Int8FP32, DefaultRows, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// The stream handler's view: a deadline on the exchange, nothing back.
	ctx, cancel := context.WithTimeout(context.Background(), ch.Deadline)
	defer cancel()
	var p Prover = silent{}
	_, err = p.Prove(ctx, ch)
	if v := Failed(ch, err); v.Result != Timeout {
		t.Errorf("Failed(%v): got %s, want timeout", err, v.Result)
	}
	for _, x := range []Exchange{
		{Challenge: ch},
		{Challenge: ch, Commitment: &Commitment{Challenge: ch.ID(), N: 64, Elapsed: time.Millisecond}},
	} {
		v, err := Verify(x)
		if err != nil {
			t.Fatal(err)
		}
		if v.Result != Timeout {
			t.Errorf("Verify with commitment %v and no openings: got %s, want timeout", x.Commitment != nil, v.Result)
		}
	}
}

func TestFailed(t *testing.T) {
	ch := newChallenge(t, seeded(81), 8, Int8FP32, 2)
	tests := []struct {
		err  error
		want Result
	}{
		{fmt.Errorf("read: %w", ErrWrongChallenge), BadCommitment},
		{fmt.Errorf("read: %w", ErrTooLarge), Malformed},
		{fmt.Errorf("read: %w", ErrMalformed), Malformed},
		{io.ErrUnexpectedEOF, Malformed},
		{context.DeadlineExceeded, Timeout},
		{io.EOF, Timeout},
		{nil, Timeout},
	}
	for _, tc := range tests {
		if v := Failed(ch, tc.err); v.Result != tc.want || v.Challenge != ch.ID() || v.Validate() != nil {
			t.Errorf("Failed(%v) = %s (valid: %v), want %s", tc.err, v.Result, v.Validate(), tc.want)
		}
	}
}

func TestCPUProverRespectsContextAndDeadline(t *testing.T) {
	rnd := seeded(90)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	short, err := NewChallenge(rnd, 1024, Int8FP32, DefaultRows, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ctx  context.Context
		ch   Challenge
		want error
	}{
		{"cancelled", cancelled, newChallenge(t, rnd, 1024, Int8FP32, DefaultRows), context.Canceled},
		{"1 ms deadline at n = 1024", context.Background(), short, context.DeadlineExceeded},
		{"absurd n", context.Background(), Challenge{Version: ChallengeVersion, N: 1 << 20, Type: Int8FP32, Rows: 1, Deadline: time.Second}, ErrInvalid},
		{"over the prover's own limit", context.Background(), newChallenge(t, rnd, 2048, Int8FP32, DefaultRows), ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := CPUProver{Limits: Limits{MaxN: 1024}}.Prove(tc.ctx, tc.ch)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			// A whole product at n = 1024 takes about a second on two cores.
			if took := time.Since(start); took > 300*time.Millisecond {
				t.Errorf("returned after %s, want well under the product's time", took)
			}
		})
	}
}

// TestVerifierWorkIsSmall: at n = 1024 and the default r, the verifier's
// counted multiply-adds are at most 2 % of the prover's.
func TestVerifierWorkIsSmall(t *testing.T) {
	tests := []struct {
		n, r    int
		maxPct  float64
		wantPct float64
	}{
		{1024, DefaultRows, 2, 1.27},
		{2048, DefaultRows, 1, 0.64},
		{4096, DefaultRows, 0.5, 0.32},
	}
	for _, tc := range tests {
		prover, verifier := Cost(tc.n, tc.r)
		if prover != int64(tc.n)*int64(tc.n)*int64(tc.n) {
			t.Errorf("Cost(%d): prover %d, want n^3", tc.n, prover)
		}
		pct := 100 * float64(verifier) / float64(prover)
		if pct > tc.maxPct || math.Abs(pct-tc.wantPct) > 0.01 {
			t.Errorf("n = %d, r = %d: verifier %.3f %% of prover, want %.2f %% (at most %v %%)", tc.n, tc.r, pct, tc.wantPct, tc.maxPct)
		}
	}
}

func TestPickRows(t *testing.T) {
	rnd := seeded(95)
	ch := newChallenge(t, rnd, 8, Int8FP32, 8)
	cm := Commitment{Challenge: ch.ID(), N: 8, Elapsed: time.Second}
	seen := make([]int, 8)
	for range 200 {
		req, err := PickRows(rnd, ch, cm)
		if err != nil {
			t.Fatal(err)
		}
		if err := req.Validate(ch); err != nil {
			t.Fatalf("PickRows made an invalid request %v: %v", req.Rows, err)
		}
		for _, i := range req.Rows {
			seen[i]++
		}
	}
	for i, c := range seen {
		if c == 0 {
			t.Errorf("row %d never picked in 200 requests", i)
		}
	}
	if _, err := PickRows(io.LimitReader(rnd, 7), ch, cm); err == nil {
		t.Error("PickRows with exhausted randomness: got no error")
	}
}

// TestGeneratorIsPinned pins the generator: a GPU prover must reproduce
// these elements, and a change here is a protocol change.
func TestGeneratorIsPinned(t *testing.T) {
	var seed [32]byte
	for i := range seed {
		seed[i] = byte(i)
	}
	tests := []struct {
		nt   NumberType
		m    byte
		row  int
		want []float32
	}{
		{Int8FP32, matrixA, 0, []float32{6, -3, -1, -3, -5, 4}},
		{Int8FP32, matrixB, 7, []float32{1, -7, -2, 7, 0, 2}},
		{BF16FP32, matrixA, 3, []float32{0.17285156, 0.23632812, -0.47460938, 0.15332031, 0.9296875, 0.19042969}},
		{FP16FP32, matrixB, 5, []float32{-0.7319336, -0.1932373, -0.2064209, -0.3474121, -0.41308594, 0.65234375}},
	}
	for _, tc := range tests {
		got := make([]float32, 6)
		newGenerator(seed, tc.nt).row(tc.m, tc.row, got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s %c row %d: got %v, want %v", tc.nt, tc.m, tc.row, got, tc.want)
		}
		// A longer row starts the same: elements depend on their column only.
		long := make([]float32, 33)
		newGenerator(seed, tc.nt).row(tc.m, tc.row, long)
		if !slices.Equal(long[:6], got) {
			t.Errorf("%s %c row %d: first elements of a longer row %v, want %v", tc.nt, tc.m, tc.row, long[:6], got)
		}
	}
}

func TestCommitAndOpenRefuseBadInput(t *testing.T) {
	ch := newChallenge(t, seeded(96), 8, Int8FP32, 3)
	w := prove(t, ch)
	if _, err := Commit(ch, w.c[:63], time.Second); !errors.Is(err, ErrInvalid) {
		t.Errorf("Commit of 63 elements at n = 8: got %v, want ErrInvalid", err)
	}
	if _, err := Commit(ch, w.c, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("Commit with no elapsed time: got %v, want ErrInvalid", err)
	}
	tests := []struct {
		name string
		rows []int
		want error
	}{
		{"valid", []int{0, 3, 7}, nil},
		{"none", nil, ErrInvalid},
		{"more than r", []int{0, 1, 2, 3}, ErrInvalid},
		{"out of range", []int{8}, ErrInvalid},
		{"negative", []int{-1}, ErrInvalid},
		{"repeated", []int{2, 2}, ErrInvalid},
		{"unsorted", []int{3, 1}, ErrInvalid},
	}
	for _, tc := range tests {
		_, err := w.Open(OpenRequest{Challenge: ch.ID(), Rows: tc.rows})
		if !errors.Is(err, tc.want) {
			t.Errorf("Open(%s %v): got %v, want %v", tc.name, tc.rows, err, tc.want)
		}
	}
}

func TestSelfTest(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		p       Prover
		n       int
		want    Result
		wantErr error
	}{
		{"honest CPU", context.Background(), CPUProver{}, 128, Pass, nil},
		{"tiny n", context.Background(), CPUProver{}, 4, Pass, nil},
		{"cancelled", cancelled, CPUProver{}, 128, Timeout, nil},
		{"never answers", cancelled, silent{}, 128, Timeout, nil},
		{"absurd n", context.Background(), CPUProver{}, 1 << 20, "", ErrInvalid},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, fit, err := SelfTest(tc.ctx, tc.p, seeded(byte(120+i)), tc.n, Int8FP32)
			if !errors.Is(err, tc.wantErr) || v.Result != tc.want {
				t.Fatalf("got %s (%s), %v; want %s, %v", v.Result, v.Detail, err, tc.want, tc.wantErr)
			}
			// One x86 core's worth classifies; a class is never faster than measured.
			if fit.Expected > v.Throughput || (v.Throughput >= 3e9 && fit.Class == "") {
				t.Errorf("got class %+v for %.3g FLOP/s, want the best class at most that fast", fit, v.Throughput)
			}
		})
	}
}
