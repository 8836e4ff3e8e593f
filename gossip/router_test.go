package gossip

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
)

// TestValidatorVerdicts drives a router's validator directly with messages
// a peer could send, and checks each verdict and what it counts.
func TestValidatorVerdicts(t *testing.T) {
	key, id := newKey(t)
	h, err := libp2p.New(libp2p.Identity(key), libp2p.NoListenAddrs)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	r, err := New(DefaultConfig(), h, key, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
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
