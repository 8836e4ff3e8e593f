package gossip

import (
	"context"
	"strings"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
)

// rawRecord is a record whose payload is whatever bytes a hostile sender
// chose, signed under a real domain and payload type.
type rawRecord struct {
	domain, codec string
	payload       []byte
}

func (r *rawRecord) Domain() string                 { return r.domain }
func (r *rawRecord) Codec() []byte                  { return []byte(r.codec) }
func (r *rawRecord) MarshalRecord() ([]byte, error) { return r.payload, nil }
func (r *rawRecord) UnmarshalRecord(b []byte) error { r.payload = b; return nil }

// TestBadGossipAsDocumented drives a router's validator with each hostile
// input gossip-2.md's "Bad input" table lists and checks the verdict
// (reject, ignore, accept) and the label it is counted under.
func TestBadGossipAsDocumented(t *testing.T) {
	r, _, id := newTestRouter(t)
	r.now = func() time.Time { return t0 }
	r.Allow(TopicJobs, JobRequestType)
	key, _ := newKey(t)
	hbJSON := func(fields string) []byte {
		return seal(t, &rawRecord{HeartbeatDomain, string(heartbeatCodec), []byte(`{"sent":"2026-11-23T12:00:00Z","expires":"2026-11-23T12:01:00Z","agent":"x",` + fields + `}`)}, key)
	}
	jobJSON := func(price string) []byte {
		return seal(t, &rawRecord{JobRequestDomain, "/gpumesh/job-request/1", []byte(`{"id":"0123456789abcdef0123456789abcdef","seq":7,"sent":"2026-11-23T12:00:00Z","bid_deadline":"2026-11-23T12:00:05Z","workers":1,"per_worker":{"gpus":1,"pool":"gpu"},"max_price":` + price + `,"duration_ns":3600000000000,"executor":"wasm"}`)}, key)
	}
	valid := seal(t, &Heartbeat{Seq: 1, Sent: t0, Expires: t0.Add(time.Minute), Agent: "x"}, key)
	flipped := []byte(string(valid))
	flipped[len(flipped)-1] ^= 1 // the signature is the envelope's last field
	cases := []struct {
		name  string
		topic string
		data  []byte
		want  pubsub.ValidationResult
		label string // the Stats().Rejected label; "" for none
	}{
		{"over max_message_bytes", TopicCapacity, make([]byte, DefaultConfig().MaxMessageBytes+1), pubsub.ValidationReject, "too_large"},
		{"not an envelope", TopicCapacity, []byte("junk"), pubsub.ValidationReject, "malformed"},
		{"an unknown protobuf field added", TopicCapacity, append(append([]byte(nil), valid...), 0x48, 0x01), pubsub.ValidationReject, "non_canonical"},
		{"unknown payload type", TopicCapacity, seal(t, &rawRecord{HeartbeatDomain, "/gpumesh/heartbeat/2", []byte(`{}`)}, key), pubsub.ValidationReject, "unknown_type"},
		{"a job request on the capacity topic", TopicCapacity, jobJSON("1"), pubsub.ValidationReject, "unknown_type"},
		{"signature over other bytes", TopicCapacity, flipped, pubsub.ValidationReject, "bad_signature"},
		{"signed under another domain", TopicCapacity, seal(t, &rawRecord{JobRequestDomain, string(heartbeatCodec), []byte(`{}`)}, key), pubsub.ValidationReject, "bad_signature"},
		{"payload not JSON", TopicCapacity, seal(t, &rawRecord{HeartbeatDomain, string(heartbeatCodec), []byte(`seq=1`)}, key), pubsub.ValidationReject, "malformed"},
		{"seq as a string", TopicCapacity, hbJSON(`"seq":"5"`), pubsub.ValidationReject, "malformed"},
		{"seq of 2^64", TopicCapacity, hbJSON(`"seq":18446744073709551616`), pubsub.ValidationReject, "malformed"},
		{"seq negative", TopicCapacity, hbJSON(`"seq":-1`), pubsub.ValidationReject, "malformed"},
		{"seq a fraction", TopicCapacity, hbJSON(`"seq":1.5`), pubsub.ValidationReject, "malformed"},
		{"seq 0", TopicCapacity, hbJSON(`"seq":0`), pubsub.ValidationReject, "invalid"},
		{"agent over 128 bytes", TopicCapacity, hbJSON(`"seq":2,"agent":"` + strings.Repeat("a", 129) + `"`), pubsub.ValidationReject, "invalid"},
		{"coord with 7 components", TopicCapacity, hbJSON(`"seq":3,"coord":{"vec":[0,0,0,0,0,0,0],"error":0,"adjustment":0,"height":0}`), pubsub.ValidationReject, "invalid"},
		{"price NaN", TopicJobs, jobJSON("NaN"), pubsub.ValidationReject, "malformed"},
		{"price 1e400", TopicJobs, jobJSON("1e400"), pubsub.ValidationReject, "malformed"},
		{"price negative", TopicJobs, jobJSON("-1"), pubsub.ValidationReject, "invalid"},
		{"seq past 2^53 - 1 (Go reads 64 bits)", TopicCapacity, hbJSON(`"seq":9007199254740993`), pubsub.ValidationAccept, ""},
		{"an unknown JSON field (author)", TopicCapacity, hbJSON(`"seq":9007199254740994,"from":"12D3KooW"`), pubsub.ValidationAccept, ""},
		{"a replayed seq", TopicCapacity, hbJSON(`"seq":9007199254740994`), pubsub.ValidationIgnore, ""},
		{"sent 31 s ahead", TopicCapacity, seal(t, &Heartbeat{Seq: 1 << 60, Sent: t0.Add(31 * time.Second), Expires: t0.Add(time.Minute), Agent: "x"}, key), pubsub.ValidationIgnore, ""},
		{"past its expires", TopicCapacity, seal(t, &Heartbeat{Seq: 1 << 61, Sent: t0.Add(-2 * time.Minute), Expires: t0.Add(-time.Minute), Agent: "x"}, key), pubsub.ValidationIgnore, ""},
	}
	for _, c := range cases {
		before := r.Stats().Rejected[c.label]
		got := r.validator(c.topic)(context.Background(), id, &pubsub.Message{Message: &pb.Message{Data: c.data}, ReceivedFrom: id})
		if got != c.want {
			t.Errorf("%s: verdict %v, want %v", c.name, got, c.want)
		}
		if c.label != "" && r.Stats().Rejected[c.label] != before+1 {
			t.Errorf("%s: not counted as %s (%v)", c.name, c.label, r.Stats().Rejected)
		}
	}
}
