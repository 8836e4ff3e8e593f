package reputation

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"
)

// clock is a settable clock for a Book.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// pid returns a valid peer ID derived from name.
func pid(name string) peer.ID {
	mh, err := multihash.Sum([]byte(name), multihash.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return peer.ID(mh)
}

// memBook returns a book kept in memory on clock c.
func memBook(t testing.TB, cfg Config, c *clock) *Book {
	t.Helper()
	b, err := Open("", cfg, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// record records n events of kind k for p.
func record(b *Book, p peer.ID, k Kind, n int) {
	for range n {
		b.Record(p, k, "")
	}
}

func TestNewcomerScore(t *testing.T) {
	b := memBook(t, Config{}, newClock())
	p := pid("a")
	if got := b.Score(p); got != 0.5 {
		t.Errorf("never seen: got %v, want 0.5", got)
	}
	if _, ok := b.View(p); ok {
		t.Error("View of a peer never seen: ok, want not")
	}
	b.Record(p, AwardDeclined, "busy")
	if got := b.Score(p); got < DefaultMinReputation {
		t.Errorf("after one decline: got %v, want at least %v", got, DefaultMinReputation)
	}
}

func TestFailedChallengeAfterGoodHistory(t *testing.T) {
	c := newClock()
	b := memBook(t, Config{}, c)
	p := pid("good")
	for range 10 { // ten accepted awards over ten days
		b.Record(p, AwardAccepted, "")
		c.add(day)
	}
	before := b.Score(p)
	if before < 0.7 {
		t.Fatalf("good history: got %v, want at least 0.7", before)
	}
	b.Record(p, ChallengeFailed, "throughput 3% of claimed class")
	if got := b.Score(p); got >= DefaultMinReputation {
		t.Fatalf("after a failed challenge: got %v, want below %v", got, DefaultMinReputation)
	}

	// Slow recovery by time alone: still out a month later, back after half a year.
	c.add(30 * day)
	if got := b.Score(p); got >= DefaultMinReputation {
		t.Errorf("a month later: got %v, want still below %v", got, DefaultMinReputation)
	}
	c.add(150 * day)
	if got := b.Score(p); got < DefaultMinReputation {
		t.Errorf("half a year later: got %v, want at least %v", got, DefaultMinReputation)
	}
}

func TestFailedChallengeRecoversWithManyPasses(t *testing.T) {
	c := newClock()
	b := memBook(t, Config{}, c)
	p := pid("p")
	record(b, p, AwardAccepted, 10)
	c.add(NewcomerPeriod)
	b.Record(p, ChallengeFailed, "")
	passes := 0
	for b.Score(p) < DefaultMinReputation && passes < 100 {
		b.Record(p, ChallengePassed, "")
		passes++
	}
	if passes < 3 || passes > 10 {
		t.Errorf("passes to recover from one failure: got %d, want several (3..10)", passes)
	}
}

func TestViolationWeighsHeavily(t *testing.T) {
	c := newClock()
	b := memBook(t, Config{}, c)
	p := pid("p")
	record(b, p, JobCompleted, 20)
	c.add(NewcomerPeriod)
	before := b.Score(p)
	b.Record(p, Violation, "replayed bid")
	after := b.Score(p)
	if math.Abs(after-before/4) > 1e-12 {
		t.Errorf("after a violation: got %v, want %v / 4 = %v", after, before, before/4)
	}
	if after >= DefaultMinReputation {
		t.Errorf("after a violation: got %v, want below %v", after, DefaultMinReputation)
	}
}

func TestHeartbeatIsMild(t *testing.T) {
	c := newClock()
	b := memBook(t, Config{}, c)
	p := pid("p")
	record(b, p, AwardAccepted, 5)
	record(b, p, HeartbeatMissed, 50)
	v, _ := b.View(p)
	if v.Factors.Heartbeat < 0.5 || v.Factors.Heartbeat > 0.51 {
		t.Errorf("heartbeat factor after 50 misses: got %v, want just over 0.5", v.Factors.Heartbeat)
	}
	record(b, p, HeartbeatOnTime, 50)
	v, _ = b.View(p)
	if want := 0.5 + 0.5*51.0/101; math.Abs(v.Factors.Heartbeat-want) > 1e-12 {
		t.Errorf("heartbeat factor, 50 of 100 on time: got %v, want %v", v.Factors.Heartbeat, want)
	}
}

func TestDecay(t *testing.T) {
	c := newClock()
	cfg := Config{HalfLife: 10 * time.Hour, ChallengeHalfLife: 40 * time.Hour}
	b := memBook(t, cfg, c)
	p := pid("p")
	b.Record(p, AwardAccepted, "")
	b.Record(p, ChallengePassed, "")
	c.add(10 * time.Hour)
	b.Record(p, AwardAccepted, "") // a lazy update in between
	c.add(30 * time.Hour)
	v, _ := b.View(p)
	// accepted: 2^-4 + 2^-3; passed: 2^-1.
	if got, want := v.Counts[AwardAccepted], 1.0/16+1.0/8; math.Abs(got-want) > 1e-12 {
		t.Errorf("accepted: got %v, want %v", got, want)
	}
	if got, want := v.Counts[ChallengePassed], 0.5; math.Abs(got-want) > 1e-12 {
		t.Errorf("challenge passed: got %v, want %v", got, want)
	}
	if got, want := v.FirstSeen, c.now().Add(-40*time.Hour); !got.Equal(want) {
		t.Errorf("first seen: got %v, want %v (never decayed)", got, want)
	}
	if got, want := v.LastSeen, c.now().Add(-30*time.Hour); !got.Equal(want) {
		t.Errorf("last seen: got %v, want %v", got, want)
	}
}

func TestScoreReturnsTowardNeutral(t *testing.T) {
	const neutral = 2.0 / 3 // a known peer with no recent history
	c := newClock()
	b := memBook(t, Config{}, c)
	good, bad := pid("good"), pid("bad")
	record(b, good, JobCompleted, 30)
	record(b, bad, JobFailed, 5)
	record(b, bad, Violation, 1)
	record(b, bad, ChallengeFailed, 1)
	c.add(NewcomerPeriod)
	dGood, dBad := b.Score(good)-neutral, neutral-b.Score(bad)
	if dGood <= 0 || dBad <= 0 {
		t.Fatalf("start: good %v, bad %v; want them either side of %v", b.Score(good), b.Score(bad), neutral)
	}
	for _, step := range []time.Duration{7 * day, 30 * day, 90 * day, 365 * day} {
		c.add(step)
		g, d := b.Score(good)-neutral, neutral-b.Score(bad)
		if g < 0 || g >= dGood || d < 0 || d >= dBad {
			t.Fatalf("after %s more: distances good %v (was %v), bad %v (was %v); want both shrinking, same side",
				step, g, dGood, d, dBad)
		}
		dGood, dBad = g, d
	}
	if dGood > 1e-6 || dBad > 1e-3 {
		t.Errorf("after 1.5 years: distances to neutral %v and %v, want about 0", dGood, dBad)
	}
}

func TestEventsKept(t *testing.T) {
	c := newClock()
	b := memBook(t, Config{}, c)
	p := pid("p")
	for i := range MaxEvents + 3 {
		b.Record(p, AwardDeclined, fmt.Sprintf("reason %d", i))
		c.add(time.Second)
	}
	long := strings.Repeat("x", MaxDetail-1) + "é and more"
	b.Record(p, Violation, long)
	v, _ := b.View(p)
	if len(v.Events) != MaxEvents {
		t.Fatalf("events: got %d, want %d", len(v.Events), MaxEvents)
	}
	if got, want := v.Events[0].Detail, "reason 4"; got != want {
		t.Errorf("oldest event kept: got %q, want %q", got, want)
	}
	last := v.Events[MaxEvents-1]
	if last.Kind != Violation || !last.At.Equal(c.now()) {
		t.Errorf("last event: got %s at %v, want %s at %v", last.Kind, last.At, Violation, c.now())
	}
	if want := strings.Repeat("x", MaxDetail-1); last.Detail != want { // "é" would be split: cut before it
		t.Errorf("long detail: got %d bytes, want %d", len(last.Detail), len(want))
	}
}

func TestRecordIgnoresUnknown(t *testing.T) {
	b := memBook(t, Config{}, newClock())
	b.Record("", AwardAccepted, "")
	b.Record(pid("p"), "award_granted", "")
	if got := b.All(); len(got) != 0 {
		t.Errorf("got %d peers, want none", len(got))
	}
}

func TestMaxPeersEvictsOldestLastSeen(t *testing.T) {
	c := newClock()
	b := memBook(t, Config{MaxPeers: 3}, c)
	p1, p2, p3, p4 := pid("1"), pid("2"), pid("3"), pid("4")
	for _, p := range []peer.ID{p1, p2, p3, p1} { // p1 seen again last
		b.Record(p, AwardAccepted, "")
		c.add(time.Minute)
	}
	b.Record(p4, AwardAccepted, "")
	if _, ok := b.View(p2); ok {
		t.Error("p2, seen least recently, is still in the book")
	}
	for _, p := range []peer.ID{p1, p3, p4} {
		if _, ok := b.View(p); !ok {
			t.Errorf("%s was evicted, want kept", p)
		}
	}
	if got := len(b.All()); got != 3 {
		t.Errorf("peers: got %d, want 3", got)
	}
}

func TestAllSorted(t *testing.T) {
	c := newClock()
	b := memBook(t, Config{}, c)
	record(b, pid("best"), JobCompleted, 5)
	record(b, pid("worst"), JobFailed, 2)
	b.Record(pid("x"), ChallengePassed, "") // x and y score the same
	b.Record(pid("y"), ChallengePassed, "")
	all := b.All()
	if len(all) != 4 {
		t.Fatalf("got %d views, want 4", len(all))
	}
	if all[0].Peer != pid("best") || all[3].Peer != pid("worst") {
		t.Errorf("order: got %v first and %v last, want best first and worst last", all[0].Peer, all[3].Peer)
	}
	if all[1].Score != all[2].Score || all[1].Peer > all[2].Peer {
		t.Errorf("ties: got %v (%v) before %v (%v), want equal scores by peer ID",
			all[1].Peer, all[1].Score, all[2].Peer, all[2].Score)
	}
}

// TestBookMonotone replays random event sequences with random gaps into two
// books that differ by one extra event (after the first, so both share a
// first-seen time), and checks the extra event moves the score the right way.
func TestBookMonotone(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	p := pid("p")
	for i := range 500 {
		c := newClock()
		a, b := memBook(t, Config{}, c), memBook(t, Config{}, c)
		extra := Kinds[r.IntN(len(Kinds))]
		n := 2 + r.IntN(30)
		at := 1 + r.IntN(n-1)
		for j := range n {
			if j == at {
				a.Record(p, extra, "")
			}
			k := Kinds[r.IntN(len(Kinds))]
			a.Record(p, k, "")
			b.Record(p, k, "")
			c.add(time.Duration(r.Int64N(int64(20 * day))))
		}
		sa, sb := a.Score(p), b.Score(p)
		const slack = 1e-12 // lazy decay in different steps rounds differently
		isGood := extra == AwardAccepted || extra == JobCompleted || extra == ChallengePassed || extra == HeartbeatOnTime
		if isGood && sa < sb-slack || !isGood && sa > sb+slack {
			t.Fatalf("case %d: one more %s moved the score from %v to %v", i, extra, sb, sa)
		}
	}
}

// TestBookInRange replays random sequences, with the clock sometimes going
// backwards, and checks every score is finite and in [0, 1].
func TestBookInRange(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	c := newClock()
	b := memBook(t, Config{MaxPeers: 20, HalfLife: time.Hour, ChallengeHalfLife: 3 * time.Hour}, c)
	for i := range 20000 {
		p := pid(fmt.Sprint(r.IntN(30)))
		b.Record(p, Kinds[r.IntN(len(Kinds))], "")
		c.add(time.Duration(r.Int64N(int64(2*time.Hour))) - 10*time.Minute)
		if s := b.Score(p); !(s >= 0 && s <= 1) {
			t.Fatalf("step %d: score %v outside [0, 1]", i, s)
		}
	}
	for _, v := range b.All() {
		if !(v.Score >= 0 && v.Score <= 1) {
			t.Errorf("%s: score %v outside [0, 1]", v.Peer, v.Score)
		}
	}
	if got := len(b.All()); got > 20 {
		t.Errorf("peers: got %d, want at most MaxPeers 20", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	b, err := Open(t.TempDir()+"/reputation.json", Config{}, newClock().now) // a fixed clock: nothing decays
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 16, 300
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				p := pid(fmt.Sprint(i % 10))
				b.Record(p, AwardAccepted, fmt.Sprint(w))
				if s := b.Score(p); !(s >= 0 && s <= 1) {
					t.Errorf("score %v outside [0, 1]", s)
				}
				b.View(p)
				if i%50 == 0 {
					b.All()
					if err := b.Save(); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	total := 0.0
	for _, v := range b.All() {
		total += v.Counts[AwardAccepted]
	}
	if total != workers*each {
		t.Errorf("accepted awards recorded: got %v, want %d", total, workers*each)
	}
}

func TestClockBackwardsPausesDecay(t *testing.T) {
	c := newClock()
	b := memBook(t, Config{}, c)
	p := pid("p")
	b.Record(p, AwardAccepted, "")
	c.add(-day)
	b.Record(p, AwardAccepted, "")
	v, _ := b.View(p)
	if got := v.Counts[AwardAccepted]; got != 2 {
		t.Errorf("accepted after the clock went back a day: got %v, want 2 (no growth, no decay)", got)
	}
	if want := c.now().Add(day); !v.LastSeen.Equal(want) {
		t.Errorf("last seen: got %v, want %v (never moves back)", v.LastSeen, want)
	}
}
