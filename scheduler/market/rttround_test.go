package market

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/placement"
)

const ms = time.Millisecond

func roundPeer(t testing.TB) (crypto.PrivKey, peer.ID) {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, id
}

// TestRoundSize: min(max(2k, k+4), most).
func TestRoundSize(t *testing.T) {
	for _, c := range []struct{ k, most, want int }{{2, 32, 10}, {4, 32, 12}, {8, 32, 24}, {16, 32, 32}, {8, 10, 10}} {
		if got := placement.RoundSize(c.k, c.most); got != c.want {
			t.Errorf("roundSize(%d, %d) = %d, want %d", c.k, c.most, got, c.want)
		}
	}
}

// truthRows are the rows honest candidates report on a matrix.
func truthRows(m [][]time.Duration) []map[int]time.Duration {
	rows := make([]map[int]time.Duration, len(m))
	for a := range m {
		rows[a] = map[int]time.Duration{}
		for b := range m {
			if a != b {
				rows[a][b] = m[a][b]
			}
		}
	}
	return rows
}

func peersN(t *testing.T, n int) []peer.ID {
	out := make([]peer.ID, n)
	for i := range out {
		_, out[i] = roundPeer(t)
	}
	return out
}

// TestJudgeHonest: every pair measured, at the larger of its two reports,
// nobody distrusted, and a planted detour (0-1 direct is shorter than the
// requester's pings suggest, within the tolerance) is taken as measured.
func TestJudgeHonest(t *testing.T) {
	m := [][]time.Duration{
		{0, 20 * ms, 80 * ms, 90 * ms},
		{20 * ms, 0, 85 * ms, 70 * ms},
		{80 * ms, 85 * ms, 0, 30 * ms},
		{90 * ms, 70 * ms, 30 * ms, 0},
	}
	rows := truthRows(m)
	rows[1][0] = 22 * ms // the two ends differ a little
	own := []time.Duration{10 * ms, 45 * ms, 60 * ms, 70 * ms}
	v := judge(peersN(t, 4), rows, own)
	if len(v.distrusted) != 0 {
		t.Fatalf("distrusted %v, want nobody", v.distrusted)
	}
	if len(v.pairs) != 6 || v.answered != 4 || v.reports != 12 {
		t.Fatalf("%d pairs from %d rows with %d reports, want 6 from 4 with 12", len(v.pairs), v.answered, v.reports)
	}
	if got := v.pairs[[2]int{0, 1}]; got != 22*ms {
		t.Errorf("pair 0-1 = %s, want the larger report 22ms", got)
	}
	if len(v.both) != 6 {
		t.Errorf("%d pairs measured from both ends, want 6", len(v.both))
	}
}

// TestJudgeLiar: a candidate reporting every RTT at a tenth of the truth
// is distrusted (by the other ends' reports) and its pairs keep the honest
// ends' reports; one contradicted by the requester's own pings alone is
// distrusted too.
func TestJudgeLiar(t *testing.T) {
	m := [][]time.Duration{
		{0, 60 * ms, 80 * ms, 90 * ms},
		{60 * ms, 0, 85 * ms, 70 * ms},
		{80 * ms, 85 * ms, 0, 30 * ms},
		{90 * ms, 70 * ms, 30 * ms, 0},
	}
	rows := truthRows(m)
	for b := range rows[0] {
		rows[0][b] /= 10
	}
	v := judge(peersN(t, 4), rows, []time.Duration{0, 0, 0, 0})
	if _, ok := v.distrusted[0]; !ok || len(v.distrusted) != 1 {
		t.Fatalf("distrusted %v, want candidate 0 alone", v.distrusted)
	}
	if v.charged[0] {
		t.Errorf("charged on the other ends' word alone, want distrusted only")
	}
	if got := v.pairs[[2]int{0, 1}]; got != 60*ms {
		t.Errorf("pair 0-1 = %s, want the honest end's 60ms", got)
	}

	// Candidate 3 never answers and candidate 0 understates everything:
	// its report about 3 is checked by the requester's own pings only (0
	// at 5 ms, 3 at 100 ms: at least 95 ms apart).
	rows = truthRows(m)
	rows[3] = nil
	for b := range rows[0] {
		rows[0][b] /= 10
	}
	v = judge(peersN(t, 4), rows, []time.Duration{5 * ms, 40 * ms, 50 * ms, 100 * ms})
	if _, ok := v.distrusted[0]; !ok || len(v.distrusted) != 1 {
		t.Fatalf("distrusted %v, want candidate 0 alone", v.distrusted)
	}
	if !v.charged[0] {
		t.Errorf("not charged, though this node's own pings contradict it")
	}
	if _, ok := v.pairs[[2]int{0, 3}]; ok {
		t.Errorf("pair 0-3 measured, want it unmeasured (the liar's report dropped, 3 silent)")
	}
	if v.answered != 3 {
		t.Errorf("%d answered, want 3", v.answered)
	}
	if v.both[[2]int{1, 3}] || !v.both[[2]int{1, 2}] || v.both[[2]int{0, 1}] {
		t.Errorf("measured from both ends: %v, want 1-2 and not 1-3 (silent end) nor 0-1 (a liar's end)", v.both)
	}
}

// TestJudgeNoiseDistrustsNobody: a busy host's pings running long now and
// then, and the requester's own pings off, contradict a few reports of
// honest candidates, never most of them.
func TestJudgeNoiseDistrustsNobody(t *testing.T) {
	const n = 8
	m := make([][]time.Duration, n)
	for a := range m {
		m[a] = make([]time.Duration, n)
		for b := range m[a] {
			if a != b {
				m[a][b] = ms
			}
		}
	}
	rows := truthRows(m)
	for b := range rows[5] {
		rows[5][b] = 40 * ms // node 5 was starved of CPU the whole round
	}
	rows[2][3] = 30 * ms
	own := []time.Duration{ms, ms, ms, ms, ms, 45 * ms, ms, ms}
	v := judge(peersN(t, n), rows, own)
	if len(v.distrusted) != 0 {
		t.Fatalf("distrusted %v, want nobody", v.distrusted)
	}
}

// TestJudgeOneHighReportFramesNobody: one candidate reporting a pair far
// above the truth does not get the honest other end distrusted.
func TestJudgeOneHighReportFramesNobody(t *testing.T) {
	m := [][]time.Duration{{0, 20 * ms, 30 * ms}, {20 * ms, 0, 25 * ms}, {30 * ms, 25 * ms, 0}}
	rows := truthRows(m)
	rows[2][0] = 500 * ms
	v := judge(peersN(t, 3), rows, []time.Duration{0, 0, 0})
	if len(v.distrusted) != 0 {
		t.Fatalf("distrusted %v, want nobody", v.distrusted)
	}
	if got := v.pairs[[2]int{0, 2}]; got != 500*ms {
		t.Errorf("pair 0-2 = %s, want the larger report", got)
	}
}

// signedRow is a row signed by key, as a candidate answers probe.
func signedRow(t testing.TB, key crypto.PrivKey, probe *gossip.RTTProbe, rtts []gossip.PeerRTT) []byte {
	t.Helper()
	data, err := gossip.Encode(&gossip.RTTRow{Job: probe.Job, Nonce: probe.Nonce, Sent: probe.Sent, RTTs: rtts}, key)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestReadRow: a row is taken only from the probed candidate, for the
// probe's job and round; entries about non-candidates and itself are
// dropped, a failed ping is unreachable.
func TestReadRow(t *testing.T) {
	key, self := roundPeer(t)
	otherKey, other := roundPeer(t)
	_, stranger := roundPeer(t)
	now := time.Now()
	probe := &gossip.RTTProbe{Job: "0123456789abcdef0123456789abcdef", Nonce: "00112233445566778899aabbccddeeff", Seq: 1, Sent: now, Deadline: now.Add(time.Second),
		Candidates: []gossip.RTTCandidate{{Peer: self.String()}, {Peer: other.String()}}}
	pos := map[string]int{self.String(): 0, other.String(): 1}
	data := signedRow(t, key, probe, []gossip.PeerRTT{{Peer: other.String(), RTT: 12 * ms}, {Peer: stranger.String(), RTT: ms}, {Peer: self.String(), RTT: ms}})
	row, err := readRow(data, probe, self, pos, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(row) != 1 || row[1] != 12*ms {
		t.Fatalf("row %v, want {1: 12ms}", row)
	}
	data = signedRow(t, key, probe, []gossip.PeerRTT{{Peer: other.String(), Err: "timeout"}})
	if row, err := readRow(data, probe, self, pos, now); err != nil || row[1] != unreachable {
		t.Fatalf("row %v, %v, want other unreachable", row, err)
	}
	if _, err := readRow(signedRow(t, otherKey, probe, nil), probe, self, pos, now); !errors.Is(err, errForged) {
		t.Errorf("row signed by another candidate: %v, want errForged", err)
	}
	again := *probe
	again.Nonce = "ffffffffffffffffffffffffffffffff"
	if _, err := readRow(signedRow(t, key, &again, nil), probe, self, pos, now); !errors.Is(err, gossip.ErrInvalid) {
		t.Errorf("row for another round: %v, want ErrInvalid", err)
	}
	if _, err := readRow([]byte(`{"job":"x"}`), probe, self, pos, now); err == nil {
		t.Error("unsigned row taken")
	}
}

// FuzzReadRow: any bytes as a candidate's answer. readRow never panics,
// takes nothing that does not decode, and what it takes names only
// candidates other than the sender, at RTTs within a minute or
// unreachable.
func FuzzReadRow(f *testing.F) {
	key, self := roundPeer(f)
	_, other := roundPeer(f)
	now := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)
	probe := &gossip.RTTProbe{Job: "0123456789abcdef0123456789abcdef", Nonce: "00112233445566778899aabbccddeeff", Seq: 1, Sent: now, Deadline: now.Add(time.Second),
		Candidates: []gossip.RTTCandidate{{Peer: self.String()}, {Peer: other.String()}}}
	pos := map[string]int{self.String(): 0, other.String(): 1}
	f.Add(signedRow(f, key, probe, []gossip.PeerRTT{{Peer: other.String(), RTT: 12 * ms}}))
	f.Add(signedRow(f, key, probe, []gossip.PeerRTT{{Peer: other.String(), Err: "no answer in time"}}))
	f.Add(signedRow(f, key, probe, nil))
	f.Add([]byte{})
	f.Add([]byte(`{"job":"0123456789abcdef0123456789abcdef"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		row, err := readRow(data, probe, self, pos, now)
		if err != nil {
			if row != nil {
				t.Fatalf("error %v with a row %v", err, row)
			}
			return
		}
		for i, rtt := range row {
			if i != 1 {
				t.Fatalf("row names position %d, want only 1", i)
			}
			if rtt < 0 || (rtt > time.Minute && rtt != unreachable) {
				t.Fatalf("RTT %s out of bounds", rtt)
			}
		}
	})
}

// TestBidPairs: a pair counts when both bids report each other, at the
// larger figure; one end's word, a failed ping or a non-bidder does not.
func TestBidPairs(t *testing.T) {
	ids := peersN(t, 4)
	bid := func(rtts ...gossip.PeerRTT) *gossip.Bid { return &gossip.Bid{RTTs: rtts} }
	bids := []received{
		{from: ids[0], bid: bid(gossip.PeerRTT{Peer: ids[1].String(), RTT: 10 * ms}, gossip.PeerRTT{Peer: ids[2].String(), RTT: 5 * ms}, gossip.PeerRTT{Peer: ids[3].String(), RTT: ms})},
		{from: ids[1], bid: bid(gossip.PeerRTT{Peer: ids[0].String(), RTT: 12 * ms})},
		{from: ids[2], bid: bid(gossip.PeerRTT{Peer: ids[0].String(), Err: "failed"})},
	}
	got := bidPairs(bids)
	if len(got) != 1 || got[[2]int{0, 1}] != 12*ms {
		t.Fatalf("pairs %v, want only 0-1 at 12ms", got)
	}
}

// TestRTTRoundConfig: the round's keys are checked, each by name.
func TestRTTRoundConfig(t *testing.T) {
	if err := DefaultConfig().Validate("market"); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c := DefaultConfig()
	c.RTTRoundCandidates = 0 // off
	if err := c.Validate("market"); err != nil {
		t.Errorf("round off: %v", err)
	}
	c.RTTRoundCandidates = gossip.MaxRTTCandidates + 1
	c.RTTRoundTimeout = 0
	c.RTTRoundSlack = 0.5
	c.RTTRoundBound = 0.05
	err := c.Validate("market")
	for _, key := range []string{"market.rtt_round_candidates", "market.rtt_round_timeout", "market.rtt_round_slack", "market.rtt_round_bound"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error %v does not name %s", err, key)
		}
	}
}

// TestRTTRoundDeadline: a round waits the lesser of rtt_round_timeout and
// rtt_round_bound times the job's bound, never under 10 ms.
func TestRTTRoundDeadline(t *testing.T) {
	c := DefaultConfig()
	c.RTTRoundTimeout = p2p.Duration(time.Second)
	c.RTTRoundBound = 0.5
	for _, tc := range []struct {
		bound, want time.Duration
	}{
		{100 * time.Millisecond, 50 * time.Millisecond},
		{10 * time.Second, time.Second},
		{time.Millisecond, minRoundDeadline},
		{0, time.Second},
	} {
		if got := rttRoundDeadline(c, tc.bound); got != tc.want {
			t.Errorf("bound %s: deadline %s, want %s", tc.bound, got, tc.want)
		}
	}
	c.RTTRoundBound = 0
	if got := rttRoundDeadline(c, 100*time.Millisecond); got != time.Second {
		t.Errorf("rtt_round_bound 0: deadline %s, want rtt_round_timeout", got)
	}
}

// TestRowMargin: a candidate keeps a quarter of the time left for its
// row's way back, or its RTT to the requester when more, never all of it
// and at most a second.
func TestRowMargin(t *testing.T) {
	for _, tc := range []struct {
		left, rtt, want time.Duration
	}{
		{40 * ms, 0, 10 * ms},
		{40 * ms, 20 * ms, 20 * ms},
		{40 * ms, 100 * ms, 30 * ms},
		{10 * time.Second, 0, time.Second},
	} {
		if got := rowMargin(tc.left, tc.rtt); got != tc.want {
			t.Errorf("rowMargin(%s, %s) = %s, want %s", tc.left, tc.rtt, got, tc.want)
		}
	}
}
