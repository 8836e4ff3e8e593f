package gossip

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

// startRouter starts a router listening on loopback with opts, closed
// with the test.
func startRouter(t *testing.T, opts ...Option) *Router {
	t.Helper()
	key, _ := newKey(t)
	h, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(DefaultConfig(), h, key, "test", nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		h.Close()
	})
	return r
}

// TestPublishOnShardsWithoutSubscribing: a requester that subscribes to no
// jobs topic publishes on a shard it joins on the spot; the provider on
// that shard receives it once per shard, counted under the shard's name;
// a topic no type is allowed on is refused.
func TestPublishOnShardsWithoutSubscribing(t *testing.T) {
	eu, na := JobShardTopic("cpu", "eu"), JobShardTopic("cpu", "na")
	limit := Limit{Every: time.Minute, Burst: 10}
	prov := startRouter(t, WithTopics(TopicCapacity, eu))
	req := startRouter(t, WithTopics(TopicCapacity))
	got := make(chan Received, 4)
	for _, r := range []*Router{prov, req} {
		for _, topic := range []string{eu, na} {
			r.AllowLimited(topic, JobRequestType, limit)
		}
	}
	prov.Handle(eu, func(r Received) { got <- r })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, r := range []*Router{prov, req} {
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := req.host.Connect(ctx, peer.AddrInfo{ID: prov.host.ID(), Addrs: prov.host.Addrs()}); err != nil {
		t.Fatal(err)
	}
	// The requester learns the provider's subscriptions when they connect.
	for !slices.Contains(req.PubSub().ListPeers(eu), prov.host.ID()) {
		select {
		case <-ctx.Done():
			t.Fatal("the requester never saw the provider's shard subscription")
		case <-time.After(10 * time.Millisecond):
		}
	}
	msg := validRequest()
	msg.Sent, msg.BidDeadline = time.Now(), time.Now().Add(time.Minute)
	msg.Seq = uint64(time.Now().UnixNano())
	for _, topic := range []string{eu, na} {
		if err := req.Publish(ctx, topic, msg); err != nil {
			t.Fatalf("publish on %s: %v", topic, err)
		}
	}
	select {
	case r := <-got:
		if r.Topic != eu || r.From != req.host.ID() {
			t.Errorf("received on %s from %s", r.Topic, r.From)
		}
	case <-ctx.Done():
		t.Fatal("the provider never received the request on its shard")
	}
	st := prov.Stats()
	if st.ByTopic[eu] != 1 || st.ByTopic[na] != 0 || st.ByTopic[TopicJobs] != 0 {
		t.Errorf("provider's counts by topic %v, want 1 on %s only", st.ByTopic, eu)
	}
	if s := req.Stats(); s.ByTopic[eu] != 1 || s.ByTopic[na] != 1 {
		t.Errorf("requester's stats %+v, want its request published and validated once on each shard", s)
	}
	if err := req.Publish(ctx, JobShardTopic("gpu", "eu"), msg); err == nil {
		t.Error("published on a shard no type is allowed on")
	}
	if slices.Contains(req.PubSub().GetTopics(), JobShardTopic("gpu", "eu")) {
		t.Error("joined a topic it may not publish on")
	}
}

// TestRateLimitPerShard: each shard has its own limit per signer, as
// gpumesh/jobs/2 has (node/market.go sets the same on every jobs topic).
func TestRateLimitPerShard(t *testing.T) {
	r, _, _ := newTestRouter(t)
	now := t0
	r.now = func() time.Time { return now }
	eu, na := JobShardTopic("gpu", "eu"), JobShardTopic("gpu", "na")
	for _, topic := range []string{eu, na} {
		r.AllowLimited(topic, HeartbeatType, Limit{Every: time.Second, Burst: 2})
	}
	a, aID := newKey(t)
	validate := func(topic string, seq uint64) bool {
		data := seal(t, &Heartbeat{Seq: seq, Sent: t0, Expires: t0.Add(time.Minute), Agent: "x"}, a)
		m := &pubsub.Message{Message: &pb.Message{Data: data}, ReceivedFrom: aID}
		return r.validator(topic)(context.Background(), aID, m) == pubsub.ValidationAccept
	}
	if !validate(eu, 1) || !validate(eu, 2) {
		t.Fatal("within the burst on eu: refused")
	}
	if validate(eu, 3) {
		t.Error("over the burst on eu: accepted")
	}
	if !validate(na, 1) {
		t.Error("na has a bucket of its own: refused")
	}
	if st := r.Stats(); st.Rejected["rate_limited"] != 1 || st.ByTopic[eu] != 2 || st.ByTopic[na] != 1 {
		t.Errorf("stats %+v", st)
	}
}
