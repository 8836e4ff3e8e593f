package reputation

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var (
	goodKinds = []Kind{AwardAccepted, JobCompleted, ChallengePassed, HeartbeatOnTime}
	badKinds  = []Kind{AwardDeclined, AwardTimeout, JobFailed, ChallengeFailed, Violation, HeartbeatMissed}
)

const day = 24 * time.Hour

func TestComputeNewcomer(t *testing.T) {
	s, f := Compute(nil, 0)
	if s != 0.5 {
		t.Errorf("never seen: got %v, want 0.5", s)
	}
	if s < DefaultMinReputation {
		t.Errorf("never seen: %v is below DefaultMinReputation %v", s, DefaultMinReputation)
	}
	want := Factors{Success: 2.0 / 3, Challenge: 1, Conduct: 1, Heartbeat: 1, Age: 0.75}
	if f != want {
		t.Errorf("factors: got %+v, want %+v", f, want)
	}
}

func TestComputeSingleEvents(t *testing.T) {
	// A newcomer (age 0) after one event of each kind.
	tests := []struct {
		kind     Kind
		want     float64
		excluded bool // below DefaultMinReputation
	}{
		{AwardAccepted, 3.0 / 4 * 0.75, false},
		{JobCompleted, 3.0 / 4 * 0.75, false},
		{AwardDeclined, 2.0 / 4 * 0.75, false},
		{AwardTimeout, 2.0 / 4.5 * 0.75, false},
		{JobFailed, 2.0 / 6 * 0.75, true},
		{ChallengePassed, 0.5, false},
		{ChallengeFailed, 0.5 / 11, true},
		{Violation, 0.5 / 4, true},
		{HeartbeatOnTime, 0.5, false},
		{HeartbeatMissed, 0.5 * 0.75, false},
	}
	for _, tt := range tests {
		got, _ := Compute(map[Kind]float64{tt.kind: 1}, 0)
		if math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: got %v, want %v", tt.kind, got, tt.want)
		}
		if excluded := got < DefaultMinReputation; excluded != tt.excluded {
			t.Errorf("%s: score %v excluded = %v, want %v", tt.kind, got, excluded, tt.excluded)
		}
	}
}

func TestComputeAge(t *testing.T) {
	tests := []struct {
		age  time.Duration
		want float64
	}{
		{-day, 0.75}, // a clock that went backwards
		{0, 0.75},
		{NewcomerPeriod / 2, 0.875},
		{NewcomerPeriod, 1},
		{365 * day, 1},
	}
	for _, tt := range tests {
		if _, f := Compute(nil, tt.age); f.Age != tt.want {
			t.Errorf("age %s: got factor %v, want %v", tt.age, f.Age, tt.want)
		}
	}
}

func TestComputeFailedChallengeBeatsAnyHistory(t *testing.T) {
	// However good the rest of the record, one fresh failure and no passes
	// excludes the peer.
	n := map[Kind]float64{AwardAccepted: 1e6, JobCompleted: 1e6, HeartbeatOnTime: 1e6, ChallengeFailed: 1}
	if s, _ := Compute(n, 365*day); s >= DefaultMinReputation {
		t.Errorf("got %v, want below %v", s, DefaultMinReputation)
	}
}

// randomCounts returns counts for a random subset of kinds, some zero,
// some tiny, some large.
func randomCounts(r *rand.Rand) map[Kind]float64 {
	n := map[Kind]float64{}
	for _, k := range Kinds {
		switch r.IntN(4) {
		case 0:
		case 1:
			n[k] = r.Float64()
		case 2:
			n[k] = float64(r.IntN(20))
		case 3:
			n[k] = r.ExpFloat64() * 1000
		}
	}
	return n
}

func TestComputeMonotone(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		n := randomCounts(r)
		age := time.Duration(r.Int64N(int64(2 * NewcomerPeriod)))
		base, _ := Compute(n, age)
		more := func(k Kind) float64 {
			m := map[Kind]float64{}
			for k, v := range n {
				m[k] = v
			}
			m[k] += 0.01 + r.Float64()*5
			s, _ := Compute(m, age)
			return s
		}
		for _, k := range goodKinds {
			if s := more(k); s < base {
				t.Fatalf("case %d: one more %s lowered %v to %v (counts %v)", i, k, base, s, n)
			}
		}
		for _, k := range badKinds {
			if s := more(k); s > base {
				t.Fatalf("case %d: one more %s raised %v to %v (counts %v)", i, k, base, s, n)
			}
		}
		if older, _ := Compute(n, age+time.Hour); older < base {
			t.Fatalf("case %d: an hour of age lowered %v to %v", i, base, older)
		}
	}
}

func TestComputeInRange(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	extremes := []float64{0, math.SmallestNonzeroFloat64, 1e-300, 1, 1e300, math.MaxFloat64, math.Inf(1), math.Inf(-1), math.NaN(), -1}
	for i := range 20000 {
		n := randomCounts(r)
		for _, k := range Kinds {
			if r.IntN(5) == 0 {
				n[k] = extremes[r.IntN(len(extremes))]
			}
		}
		age := time.Duration(r.Int64())
		if r.IntN(2) == 0 {
			age = -age
		}
		if s, _ := Compute(n, age); !(s >= 0 && s <= 1) {
			t.Fatalf("case %d: score %v outside [0, 1] for counts %v, age %s", i, s, n, age)
		}
	}
}

func FuzzCompute(f *testing.F) {
	f.Add(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, int64(0))
	f.Add(10.0, 1.0, 2.0, 5.0, 1.0, 3.0, 1.0, 1.0, 100.0, 2.0, int64(day))
	f.Add(math.Inf(1), math.NaN(), -1.0, 1e308, 0.0, 1e-320, 0.0, 0.0, 0.0, 0.0, int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, a, b, c, d, e, g, h, i, j, k float64, age int64) {
		n := map[Kind]float64{}
		for idx, v := range []float64{a, b, c, d, e, g, h, i, j, k} {
			n[Kinds[idx]] = v
		}
		s, fs := Compute(n, time.Duration(age))
		if !(s >= 0 && s <= 1) {
			t.Fatalf("score %v outside [0, 1] for %v", s, n)
		}
		for _, x := range []float64{fs.Success, fs.Challenge, fs.Conduct, fs.Heartbeat, fs.Age} {
			if !(x > 0 && x <= 1) {
				t.Fatalf("factor %v outside (0, 1] in %+v for %v", x, fs, n)
			}
		}
	})
}

func TestKindValid(t *testing.T) {
	if len(Kinds) != len(goodKinds)+len(badKinds) {
		t.Errorf("Kinds has %d kinds, the tests classify %d", len(Kinds), len(goodKinds)+len(badKinds))
	}
	for _, k := range Kinds {
		if !k.Valid() {
			t.Errorf("%s: not valid", k)
		}
	}
	for _, k := range []Kind{"", "award", "AWARD_ACCEPTED"} {
		if k.Valid() {
			t.Errorf("%q: valid, want not", k)
		}
	}
}
