package proof

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// sentinels are the errors every decoder error must wrap one of.
var sentinels = []error{ErrTooLarge, ErrMalformed, ErrInvalid, ErrWrongChallenge}

func wrapsSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// fixture is a small, complete exchange to take valid messages from.
type fixture struct {
	ch  Challenge
	cm  Commitment
	req OpenRequest
	op  Openings
	v   Verdict
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	rnd := seeded(1)
	ch, err := NewChallenge(rnd, 8, Int8FP32, 3, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w := prove(t, ch)
	req, err := PickRows(rnd, ch, w.Commitment())
	if err != nil {
		t.Fatal(err)
	}
	op, err := w.Open(req)
	if err != nil {
		t.Fatal(err)
	}
	cm := w.Commitment()
	v, err := Verify(Exchange{Challenge: ch, Commitment: &cm, Request: req, Openings: &op})
	if err != nil || v.Result != Pass {
		t.Fatalf("fixture: got %s, %v; want pass", v.Result, err)
	}
	return fixture{ch: ch, cm: cm, req: req, op: op, v: v}
}

func mustMarshal(t testing.TB, m interface{ Marshal() ([]byte, error) }) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestChallengeValidate(t *testing.T) {
	valid := Challenge{Version: ChallengeVersion, N: 1024, Type: Int8FP32, Rows: DefaultRows, Deadline: time.Minute}
	tests := []struct {
		name     string
		change   func(*Challenge)
		limits   Limits
		problems int // how many problems Validate reports, 0 for none
	}{
		{"valid", func(*Challenge) {}, Limits{}, 0},
		{"n = 4096, the default maximum", func(c *Challenge) { c.N = 4096 }, Limits{}, 0},
		{"absurd n", func(c *Challenge) { c.N = 1 << 30 }, Limits{}, 1},
		{"n over a configured maximum", func(c *Challenge) { c.N = 1024 }, Limits{MaxN: 512}, 1},
		{"n = 0", func(c *Challenge) { c.N = 0 }, Limits{}, 2}, // and r > n
		{"r > n", func(c *Challenge) { c.N, c.Rows = 8, 9 }, Limits{}, 1},
		{"r = 0", func(c *Challenge) { c.Rows = 0 }, Limits{}, 1},
		{"r over the maximum", func(c *Challenge) { c.Rows = 65 }, Limits{}, 1},
		{"deadline 0", func(c *Challenge) { c.Deadline = 0 }, Limits{}, 1},
		{"deadline < 0", func(c *Challenge) { c.Deadline = -time.Second }, Limits{}, 1},
		{"deadline too long", func(c *Challenge) { c.Deadline = time.Hour }, Limits{}, 1},
		{"unknown type", func(c *Challenge) { c.Type = "fp64-fp64" }, Limits{}, 1},
		{"unknown version", func(c *Challenge) { c.Version = 2 }, Limits{}, 1},
		{"everything wrong", func(c *Challenge) { *c = Challenge{N: -1, Rows: -1, Deadline: -1} }, Limits{}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid
			tc.change(&c)
			err := c.Validate(tc.limits)
			got := 0
			if err != nil {
				got = len(err.(interface{ Unwrap() []error }).Unwrap())
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("got %v, want ErrInvalid", err)
				}
			}
			if got != tc.problems {
				t.Fatalf("got %d problems (%v), want %d", got, err, tc.problems)
			}
			// The decoder refuses what Validate refuses.
			if tc.problems > 0 && c.Type.Valid() {
				data := c.appendBody(header(kindChallenge, ChallengeSize))
				if _, err := UnmarshalChallenge(data, tc.limits); !errors.Is(err, ErrInvalid) {
					t.Errorf("UnmarshalChallenge: got %v, want ErrInvalid", err)
				}
			}
		})
	}
}

func TestChallengeIDCoversEveryField(t *testing.T) {
	base := newFixture(t).ch
	changes := map[string]func(*Challenge){
		"version":  func(c *Challenge) { c.Version++ },
		"seed":     func(c *Challenge) { c.Seed[31] ^= 1 },
		"nonce":    func(c *Challenge) { c.Nonce[15] ^= 1 },
		"n":        func(c *Challenge) { c.N++ },
		"type":     func(c *Challenge) { c.Type = BF16FP32 },
		"rows":     func(c *Challenge) { c.Rows++ },
		"deadline": func(c *Challenge) { c.Deadline++ },
	}
	for field, change := range changes {
		c := base
		change(&c)
		if c.ID() == base.ID() {
			t.Errorf("changing the %s left the ID unchanged", field)
		}
	}
	if base.ID() != base.ID() {
		t.Error("ID is not deterministic")
	}
}

func TestRoundTrips(t *testing.T) {
	f := newFixture(t)
	ch, err := UnmarshalChallenge(mustMarshal(t, f.ch), Limits{})
	if err != nil || ch != f.ch {
		t.Errorf("challenge: got %+v, %v; want %+v", ch, err, f.ch)
	}
	cm, err := UnmarshalCommitment(mustMarshal(t, f.cm), f.ch)
	if err != nil || cm != f.cm {
		t.Errorf("commitment: got %+v, %v; want %+v", cm, err, f.cm)
	}
	req, err := UnmarshalOpenRequest(mustMarshal(t, f.req), f.ch)
	if err != nil || !equalJSONish(req, f.req) {
		t.Errorf("open request: got %+v, %v; want %+v", req, err, f.req)
	}
	op, err := UnmarshalOpenings(mustMarshal(t, f.op), f.ch)
	if err != nil || !equalJSONish(op, f.op) {
		t.Errorf("openings: got %+v, %v; want %+v", op, err, f.op)
	}
	v, err := UnmarshalVerdict(mustMarshal(t, f.v))
	if err != nil || v != f.v {
		t.Errorf("verdict: got %+v, %v; want %+v", v, err, f.v)
	}
}

// equalJSONish compares two messages by their encodings.
func equalJSONish(a, b interface{ Marshal() ([]byte, error) }) bool {
	x, err1 := a.Marshal()
	y, err2 := b.Marshal()
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func TestMaxSizes(t *testing.T) {
	tests := []struct {
		name      string
		got, want int
	}{
		{"challenge", ChallengeSize, 68},
		{"commitment", CommitmentSize, 78},
		{"open request, r = 16", MaxOpenRequestSize(16), 2 + 32 + 4 + 64},
		// r rows of n fp32 values and log2(n) hashes, plus per-row index,
		// count and proof length.
		{"openings, n = 1024, r = 16", MaxOpeningsSize(1024, 16), 38 + 16*(9+4096+10*32)},
		{"openings, n = 1000, r = 1", MaxOpeningsSize(1000, 1), 38 + 9 + 4000 + 10*32},
		{"openings, n = 1, r = 1", MaxOpeningsSize(1, 1), 38 + 9 + 4},
		{"verdict", MaxVerdictSize, 2 + 32 + 1 + 8 + 8 + 2 + 512},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	// A real opening of the largest shape fits its maximum exactly.
	ch := newChallenge(t, seeded(3), 64, Int8FP32, 4)
	w := prove(t, ch)
	op, err := w.Open(OpenRequest{Challenge: ch.ID(), Rows: []int{0, 1, 2, 63}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(mustMarshal(t, op)), MaxOpeningsSize(64, 4); got != want {
		t.Errorf("openings of 4 rows at n = 64: %d bytes, want %d", got, want)
	}
}

func TestDecodersRefuseBadInput(t *testing.T) {
	f := newFixture(t)
	chData, cmData := mustMarshal(t, f.ch), mustMarshal(t, f.cm)
	reqData, opData, vData := mustMarshal(t, f.req), mustMarshal(t, f.op), mustMarshal(t, f.v)
	decode := map[string]func([]byte) error{
		"challenge":    func(b []byte) error { _, err := UnmarshalChallenge(b, Limits{}); return err },
		"commitment":   func(b []byte) error { _, err := UnmarshalCommitment(b, f.ch); return err },
		"open request": func(b []byte) error { _, err := UnmarshalOpenRequest(b, f.ch); return err },
		"openings":     func(b []byte) error { _, err := UnmarshalOpenings(b, f.ch); return err },
		"verdict":      func(b []byte) error { _, err := UnmarshalVerdict(b); return err },
	}
	valid := map[string][]byte{"challenge": chData, "commitment": cmData, "open request": reqData, "openings": opData, "verdict": vData}
	for name, data := range valid {
		tests := []struct {
			name string
			data []byte
			want error
		}{
			{"valid", data, nil},
			{"empty", nil, ErrMalformed},
			{"truncated by one byte", data[:len(data)-1], ErrMalformed},
			{"header only", data[:2], ErrMalformed},
			{"one trailing byte", append(bytes.Clone(data), 0), nil}, // ErrTooLarge or ErrMalformed
			{"wrong version", append([]byte{data[0], WireVersion + 1}, data[2:]...), ErrMalformed},
			{"wrong kind", append([]byte{'X', WireVersion}, data[2:]...), ErrMalformed},
			{"oversized", make([]byte, 1<<20), ErrTooLarge},
		}
		for _, tc := range tests {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				err := decode[name](tc.data)
				switch {
				case tc.name == "one trailing byte":
					if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrMalformed) {
						t.Fatalf("got %v, want ErrTooLarge or ErrMalformed", err)
					}
				case !errors.Is(err, tc.want):
					t.Fatalf("got %v, want %v", err, tc.want)
				}
			})
		}
	}
}

func TestOpeningsDecoderRefusesWrongShapes(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		change func(*Openings)
		want   error
	}{
		{"a row of n-1 values", func(o *Openings) { o.Rows[1].Values = o.Rows[1].Values[:7] }, ErrMalformed},
		{"a row of n+1 values", func(o *Openings) { o.Rows[1].Values = append(o.Rows[1].Values, 1) }, ErrMalformed},
		{"a proof one hash too long", func(o *Openings) { o.Rows[0].Proof = append(o.Rows[0].Proof, tlog.Hash{}) }, ErrMalformed},
		{"more rows than r", func(o *Openings) {
			for len(o.Rows) <= f.ch.Rows {
				o.Rows = append(o.Rows, o.Rows[0])
			}
		}, ErrTooLarge},
		{"a row out of range", func(o *Openings) { o.Rows[0].Index = 8 }, ErrMalformed},
		{"another challenge", func(o *Openings) { o.Challenge[0] ^= 1 }, ErrWrongChallenge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := f.op
			op.Rows = append([]Opening(nil), f.op.Rows...)
			for k := range op.Rows {
				op.Rows[k].Values = append([]float32(nil), op.Rows[k].Values...)
				op.Rows[k].Proof = append(tlog.RecordProof(nil), op.Rows[k].Proof...)
			}
			tc.change(&op)
			_, err := UnmarshalOpenings(mustMarshal(t, op), f.ch)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestDecodersDoNotAllocateForWhatIsNotThere feeds each decoder an
// oversized input, and the openings decoder a header that announces more
// than follows, and checks that almost nothing was allocated.
func TestDecodersDoNotAllocateForWhatIsNotThere(t *testing.T) {
	ch := newChallenge(t, seeded(5), 4096, Int8FP32, 64)
	huge := make([]byte, 64<<20)
	announced := []byte{kindOpenings, WireVersion}
	id := ch.ID()
	announced = append(announced, id[:]...)
	announced = append(announced, 64, 0, 0, 0) // 64 rows of 4096 values: 1 MiB, none there
	announced = append(announced, 0, 0, 0, 0, 0, 16, 0, 0)
	tests := []struct {
		name   string
		decode func() error
		want   error
	}{
		{"challenge", func() error { _, err := UnmarshalChallenge(huge, Limits{}); return err }, ErrTooLarge},
		{"commitment", func() error { _, err := UnmarshalCommitment(huge, ch); return err }, ErrTooLarge},
		{"open request", func() error { _, err := UnmarshalOpenRequest(huge, ch); return err }, ErrTooLarge},
		{"openings", func() error { _, err := UnmarshalOpenings(huge, ch); return err }, ErrTooLarge},
		{"verdict", func() error { _, err := UnmarshalVerdict(huge); return err }, ErrTooLarge},
		{"openings announcing 1 MiB", func() error { _, err := UnmarshalOpenings(announced, ch); return err }, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := tc.decode()
			runtime.ReadMemStats(&after)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 16<<10 {
				t.Errorf("allocated %d bytes, want under 16 KiB", got)
			}
		})
	}
}

func TestVerdictValidate(t *testing.T) {
	tests := []struct {
		name string
		v    Verdict
		ok   bool
	}{
		{"pass", Verdict{Result: Pass, Throughput: 1e9, Elapsed: time.Second, Detail: "ok"}, true},
		{"unknown result", Verdict{Result: "maybe"}, false},
		{"NaN throughput", Verdict{Result: Pass, Throughput: math.NaN()}, false},
		{"negative throughput", Verdict{Result: Pass, Throughput: -1}, false},
		{"negative elapsed", Verdict{Result: Pass, Elapsed: -1}, false},
		{"detail too long", Verdict{Result: Pass, Detail: strings.Repeat("x", MaxDetail+1)}, false},
		{"detail not UTF-8", Verdict{Result: Pass, Detail: "\xff"}, false},
	}
	for _, tc := range tests {
		if err := tc.v.Validate(); (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%s: got %v, want ok = %v", tc.name, err, tc.ok)
		}
	}
	// A long detail is cut to a valid one, on a rune boundary.
	v := verdict(Challenge{}, Malformed, strings.Repeat("é", MaxDetail))
	if err := v.Validate(); err != nil {
		t.Errorf("verdict with a long detail: %v", err)
	}
}

// fuzzDecoder checks what every decoder promises: no panic, every error
// wraps a sentinel, and what decodes encodes back to the same bytes.
func fuzzDecoder[M interface{ Marshal() ([]byte, error) }](t *testing.T, data []byte, m M, err error) {
	if err != nil {
		if !wrapsSentinel(err) {
			t.Fatalf("error %v wraps no sentinel", err)
		}
		return
	}
	again, err := m.Marshal()
	if err != nil {
		t.Fatalf("decoded message does not encode: %v", err)
	}
	if !bytes.Equal(again, data) {
		t.Fatalf("decoded %x, encodes back to %x", data, again)
	}
}

// fuzzDecode fuzzes decode from seeds, checking what fuzzDecoder checks.
func fuzzDecode[M interface{ Marshal() ([]byte, error) }](f *testing.F, decode func([]byte) (M, error), seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decode(data)
		fuzzDecoder(t, data, m, err)
	})
}

func FuzzUnmarshalChallenge(f *testing.F) {
	fx := newFixture(f)
	data := mustMarshal(f, fx.ch)
	f.Add(data)
	f.Add([]byte{})
	f.Add(data[:10])
	big := fx.ch
	big.N = 1 << 30
	f.Add(big.appendBody(header(kindChallenge, ChallengeSize)))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := UnmarshalChallenge(data, Limits{})
		fuzzDecoder(t, data, c, err)
	})
}

func FuzzUnmarshalCommitment(f *testing.F) {
	fx := newFixture(f)
	data := mustMarshal(f, fx.cm)
	fuzzDecode(f, func(data []byte) (Commitment, error) { return UnmarshalCommitment(data, fx.ch) },
		data,
		[]byte{},
		data[:40])
}

func FuzzUnmarshalOpenRequest(f *testing.F) {
	fx := newFixture(f)
	data := mustMarshal(f, fx.req)
	fuzzDecode(f, func(data []byte) (OpenRequest, error) { return UnmarshalOpenRequest(data, fx.ch) },
		data,
		[]byte{},
		data[:len(data)-2])
}

func FuzzUnmarshalOpenings(f *testing.F) {
	fx := newFixture(f)
	data := mustMarshal(f, fx.op)
	f.Add(data)
	f.Add([]byte{})
	f.Add(data[:len(data)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := UnmarshalOpenings(data, fx.ch)
		fuzzDecoder(t, data, o, err)
		if err == nil {
			// Whatever decodes is judged without panicking.
			if _, err := Verify(Exchange{Challenge: fx.ch, Commitment: &fx.cm, Request: fx.req, Openings: &o}); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		}
	})
}

func FuzzUnmarshalVerdict(f *testing.F) {
	fx := newFixture(f)
	data := mustMarshal(f, fx.v)
	fuzzDecode(f, UnmarshalVerdict,
		data,
		[]byte{},
		mustMarshal(f, Verdict{Result: TooSlow, Throughput: 1, Detail: "slow"}))
}

// TestWireIsPinned pins the encoding and the challenge ID: a change here is
// a protocol change and needs a new WireVersion or ChallengeVersion.
func TestWireIsPinned(t *testing.T) {
	c := Challenge{Version: 1, N: 256, Type: BF16FP32, Rows: 12, Deadline: 90 * time.Second}
	for i := range c.Seed {
		c.Seed[i] = byte(i)
	}
	for i := range c.Nonce {
		c.Nonce[i] = byte(0xa0 + i)
	}
	const (
		wantChallenge = "430101000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf00010000020c00000000046bf414000000"
		wantID        = "9effb4d72b3ffc92b104030fd221d21e586026c8b56ef22d5d111a8090448262"
		wantVerdict   = "56019effb4d72b3ffc92b104030fd221d21e586026c8b56ef22d5d111a8090448262020000000065cdcd4100ca9a3b000000000400736c6f77"
	)
	if got := hex.EncodeToString(mustMarshal(t, c)); got != wantChallenge {
		t.Errorf("challenge: got %s, want %s", got, wantChallenge)
	}
	if got := c.ID().String(); got != wantID {
		t.Errorf("challenge ID: got %s, want %s", got, wantID)
	}
	v := Verdict{Challenge: c.ID(), Result: TooSlow, Throughput: 1e9, Elapsed: time.Second, Detail: "slow"}
	if got := hex.EncodeToString(mustMarshal(t, v)); got != wantVerdict {
		t.Errorf("verdict: got %s, want %s", got, wantVerdict)
	}
}
