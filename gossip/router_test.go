package gossip

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// newTestRouter is a router on a host that listens nowhere, with its key
// and peer ID; the host closes with the test.
func newTestRouter(t *testing.T) (*Router, crypto.PrivKey, peer.ID) {
	t.Helper()
	key, id := newKey(t)
	h, err := libp2p.New(libp2p.Identity(key), libp2p.NoListenAddrs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	r, err := New(DefaultConfig(), h, key, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return r, key, id
}

// TestValidatorVerdicts drives a router's validator directly with messages
// a peer could send, and checks each verdict and what it counts.
func TestValidatorVerdicts(t *testing.T) {
	r, _, id := newTestRouter(t)
	r.now = func() time.Time { return t0 }
	senderKey, _ := newKey(t)
	hb := func(seq uint64) []byte {
		return seal(t, &Heartbeat{Seq: seq, Sent: t0, Expires: t0.Add(time.Minute), Agent: "x"}, senderKey)
	}
	validate := func(topic string, data []byte) pubsub.ValidationResult {
		return r.validator(topic)(context.Background(), id, &pubsub.Message{Message: &pb.Message{Data: data}, ReceivedFrom: id})
	}
	steps := []struct {
		name  string
		topic string
		data  []byte
		want  pubsub.ValidationResult
	}{
		{"fresh heartbeat", TopicCapacity, hb(5), pubsub.ValidationAccept},
		{"same sequence again", TopicCapacity, hb(5), pubsub.ValidationIgnore},
		{"older sequence", TopicCapacity, hb(4), pubsub.ValidationIgnore},
		{"newer sequence", TopicCapacity, hb(6), pubsub.ValidationAccept},
		{"heartbeat on the jobs topic", TopicJobs, hb(7), pubsub.ValidationReject},
		{"garbage", TopicAnchors, []byte("junk"), pubsub.ValidationReject},
	}
	for _, s := range steps {
		if got := validate(s.topic, s.data); got != s.want {
			t.Errorf("%s: verdict %v, want %v", s.name, got, s.want)
		}
	}
	st := r.Stats()
	if st.Accepted != 2 || st.Ignored != 2 || st.Rejected["unknown_type"] != 1 || st.Rejected["malformed"] != 1 {
		t.Errorf("stats = %+v, want 2 accepted, 2 ignored, 1 unknown_type, 1 malformed", st)
	}
	// A type allowed later is accepted from then on.
	r.Allow(TopicJobs, HeartbeatType)
	if got := validate(TopicJobs, hb(8)); got != pubsub.ValidationAccept {
		t.Errorf("after Allow: verdict %v, want accept", got)
	}
}

// TestRateLimitPerSigner: a limited type is accepted up to its burst from
// one signer, then dropped until tokens return: counted as rate_limited
// and held against the signer's app score when it sent the message
// itself, only ignored when another peer passed it on (GossipSub's own
// invalid-message penalty is never used: it would also fall on honest
// forwarders). Another signer has its own bucket, and replays are ignored
// before they cost one.
func TestRateLimitPerSigner(t *testing.T) {
	r, key, id := newTestRouter(t)
	now := t0
	r.now = func() time.Time { return now }
	r.AllowLimited(TopicJobs, HeartbeatType, Limit{Every: time.Second, Burst: 3})
	a, aID := newKey(t)
	b, _ := newKey(t)
	_, forwarder := newKey(t)
	hb := func(k crypto.PrivKey, seq uint64) []byte {
		return seal(t, &Heartbeat{Seq: seq, Sent: t0, Expires: t0.Add(time.Minute), Agent: "x"}, k)
	}
	// Every message comes straight from a, except those passed on below.
	validateVia := func(via peer.ID, data []byte) pubsub.ValidationResult {
		return r.validator(TopicJobs)(context.Background(), via, &pubsub.Message{Message: &pb.Message{Data: data}, ReceivedFrom: via})
	}
	validate := func(data []byte) pubsub.ValidationResult { return validateVia(aID, data) }
	for seq := uint64(1); seq <= 3; seq++ {
		if got := validate(hb(a, seq)); got != pubsub.ValidationAccept {
			t.Fatalf("message %d within the burst: %v", seq, got)
		}
	}
	if got := validate(hb(a, 3)); got != pubsub.ValidationIgnore {
		t.Errorf("a replay: %v, want ignore (not a rate rejection)", got)
	}
	if got := validateVia(forwarder, hb(a, 4)); got != pubsub.ValidationIgnore {
		t.Errorf("over the burst, passed on by another peer: %v, want ignore", got)
	}
	if s := r.appScore(forwarder); s != 0 {
		t.Errorf("the forwarder's app score %v, want 0", s)
	}
	if got := validate(hb(a, 5)); got != pubsub.ValidationIgnore {
		t.Errorf("over the burst, from the signer: %v, want ignore", got)
	}
	if s := r.appScore(aID); s != invalidWeight {
		t.Errorf("the signer's app score after one overflow: %v, want %v", s, float64(invalidWeight))
	}
	if got := validate(hb(a, 6)); got != pubsub.ValidationIgnore {
		t.Errorf("over the burst again: %v, want ignore", got)
	}
	if s := r.appScore(aID); s != 4*invalidWeight {
		t.Errorf("the signer's app score after two overflows: %v, want %v", s, float64(4*invalidWeight))
	}
	if got := validate(hb(b, 1)); got != pubsub.ValidationAccept {
		t.Errorf("another signer: %v, want accept", got)
	}
	now = now.Add(time.Second)
	if got := validate(hb(a, 7)); got != pubsub.ValidationAccept {
		t.Errorf("a second later: %v, want accept", got)
	}
	// Our own requests are never limited: the user decides how many.
	for seq := uint64(1); seq <= 5; seq++ {
		if got := validateVia(id, hb(key, seq)); got != pubsub.ValidationAccept {
			t.Errorf("own message %d: %v, want accept", seq, got)
		}
	}
	if st := r.Stats(); st.Rejected["rate_limited"] != 2 || st.Ignored != 2 {
		t.Errorf("stats %+v, want 2 rate_limited, 2 ignored (a replay, a forward)", st)
	}
	// The overflow decays as GossipSub's invalid deliveries do: to 1% in an hour.
	now = now.Add(invalidDecay)
	if s := r.appScore(aID); math.Abs(s-4*invalidWeight*0.0001) > 0.001 {
		t.Errorf("the signer's app score an hour later: %v, want about %v", s, 4*invalidWeight*0.0001)
	}
	r.forgetOldSeqs(now.Add(invalidDecay))
	if s := r.appScore(aID); s != 0 {
		t.Errorf("the signer's app score once forgotten: %v, want 0", s)
	}
}

// TestJobRequestSequencePerJob: a node's requests for different jobs may
// arrive in any order (it publishes them at once); only a replay of one
// job's request is ignored.
func TestJobRequestSequencePerJob(t *testing.T) {
	r, _, id := newTestRouter(t)
	r.now = func() time.Time { return t0 }
	r.Allow(TopicJobs, JobRequestType)
	a, _ := newKey(t)
	req := func(job string, seq uint64) []byte {
		m := validRequest()
		m.ID, m.Seq = job, seq
		return seal(t, m, a)
	}
	validate := func(data []byte) pubsub.ValidationResult {
		return r.validator(TopicJobs)(context.Background(), id, &pubsub.Message{Message: &pb.Message{Data: data}, ReceivedFrom: id})
	}
	jobA, jobB := strings.Repeat("a", 32), strings.Repeat("b", 32)
	for _, c := range []struct {
		name string
		data []byte
		want pubsub.ValidationResult
	}{
		{"job B, seq 11", req(jobB, 11), pubsub.ValidationAccept},
		{"job A, seq 10, after B's 11", req(jobA, 10), pubsub.ValidationAccept},
		{"job A asked again, seq 12", req(jobA, 12), pubsub.ValidationAccept},
		{"job A's seq 10 replayed", req(jobA, 10), pubsub.ValidationIgnore},
	} {
		if got := validate(c.data); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
