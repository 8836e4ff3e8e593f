package gossip

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

func TestOfferCapacityTopics(t *testing.T) {
	cases := []struct {
		pools           []string
		region, country string
		want            []string
	}{
		{[]string{"gpu"}, "EU", "DE", []string{"gpumesh/capacity/3/gpu/eu"}},
		{[]string{"cpu"}, "eu-west", "", []string{"gpumesh/capacity/3/cpu/none"}},
		{[]string{"gpu", "cpu"}, "EU", "US", []string{"gpumesh/capacity/3/gpu/eu", "gpumesh/capacity/3/gpu/na", "gpumesh/capacity/3/cpu/eu", "gpumesh/capacity/3/cpu/na"}},
		{nil, "EU", "", nil},
	}
	for _, c := range cases {
		if got := OfferCapacityTopics(c.pools, c.region, c.country); !slices.Equal(got, c.want) {
			t.Errorf("OfferCapacityTopics(%v, %q, %q) = %v, want %v", c.pools, c.region, c.country, got, c.want)
		}
	}
	if n := len(CapacityShardTopics()); n != 21 {
		t.Errorf("%d capacity shards, want 21", n)
	}
	if !IsCapacityShard("gpumesh/capacity/3/apple/oc") || IsCapacityShard(TopicCapacity) || IsCapacityShard("gpumesh/jobs/3/cpu/eu") {
		t.Error("IsCapacityShard")
	}
}

// TestWatchedShardsMeet: a requester following a job's capacity shards
// (its members' pools, the job's regions) hears every provider that could
// have been chosen for it: each such provider announces on one of them.
func TestWatchedShardsMeet(t *testing.T) {
	providers := []struct{ pool, region, country string }{
		{"gpu", "EU", "DE"}, {"gpu", "", "FR"}, {"gpu", "eu-west", ""}, {"cpu", "NA", ""}, {"apple", "", "JP"}, {"gpu", "EU", "US"},
	}
	jobs := [][]string{{"DE"}, {"eu-west"}, {"US"}, {"NA"}, nil, {"JP", "EU"}}
	for _, p := range providers {
		announced := OfferCapacityTopics([]string{p.pool}, p.region, p.country)
		for _, regions := range jobs {
			fits := len(regions) == 0 || slices.ContainsFunc(regions, func(g string) bool {
				return equalFold(g, p.region) || equalFold(g, p.country)
			})
			if !fits {
				continue
			}
			watched := WatchCapacityTopics([]string{p.pool}, regions)
			if !slices.ContainsFunc(watched, func(t string) bool { return slices.Contains(announced, t) }) {
				t.Errorf("provider %+v (announces on %v) unheard by a job in %v (follows %v)", p, announced, regions, watched)
			}
		}
	}
	if got := WatchCapacityTopics([]string{"cpu", "tpu"}, []string{"DE", "FR"}); !slices.Equal(got, []string{"gpumesh/capacity/3/cpu/eu"}) {
		t.Errorf("cpu job in DE, FR follows %v", got)
	}
}

// TestContentIDOnCapacityShards: a capacity shard's message ID hashes its
// wire topic first, as a jobs shard's does; the version 2 topic keeps the
// data's hash (interop/js/wire.test.mjs checks the same vector).
func TestContentIDOnCapacityShards(t *testing.T) {
	data := []byte("x")
	id := func(topic string) string {
		return fmt.Sprintf("%x", contentID(&pb.Message{Topic: &topic, Data: data}))
	}
	if got := id("gpumesh/capacity/3/cpu/eu"); got != capacityShardVector {
		t.Errorf("capacity shard ID %s", got)
	}
	if id("gpumesh/capacity/3/cpu/eu") == id("gpumesh/capacity/3/cpu/na") {
		t.Error("two shards, one ID")
	}
	if id(TopicCapacity) == id("gpumesh/capacity/3/cpu/eu") {
		t.Error("the version 2 topic's ID is the shard's")
	}
}

// capacityShardVector is the ID of "x" on gpumesh/capacity/3/cpu/eu.
const capacityShardVector = "69f76f5504879977cdd55ff264ec6a531a1e2fc0"

// TestHeartbeatsOnShards: a provider announcing on its shard and the
// version 2 topic is heard by a peer on the shard and by a peer on the
// version 2 topic alone (an old node), each once per topic; a peer on
// another shard does not hear it.
func TestHeartbeatsOnShards(t *testing.T) {
	eu, na := CapacityShardTopic("cpu", "eu"), CapacityShardTopic("cpu", "na")
	prov := startRouter(t, WithTopics(eu, TopicCapacity), WithHeartbeatTopics(eu, TopicCapacity))
	same := startRouter(t, WithTopics(eu), WithHeartbeatTopics(eu))
	old := startRouter(t, WithTopics(TopicCapacity))
	other := startRouter(t, WithTopics(na), WithHeartbeatTopics(na))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	routers := []*Router{prov, same, old, other}
	for _, r := range routers {
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range routers[1:] {
		if err := r.host.Connect(ctx, peer.AddrInfo{ID: prov.host.ID(), Addrs: prov.host.Addrs()}); err != nil {
			t.Fatal(err)
		}
	}
	heard := func(r *Router) bool { _, ok := r.Presence().Lookup(prov.host.ID()); return ok }
	for !heard(same) || !heard(old) {
		select {
		case <-ctx.Done():
			t.Fatalf("heard on the shard: %v, on the version 2 topic: %v", heard(same), heard(old))
		case <-time.After(20 * time.Millisecond):
		}
	}
	if heard(other) {
		t.Error("a peer on another shard heard the provider")
	}
	if got := same.Stats().ByTopic[eu]; got == 0 {
		t.Errorf("the shard peer counted %v", same.Stats().ByTopic)
	}
	if got := old.Stats().ByTopic[TopicCapacity]; got == 0 {
		t.Errorf("the old peer counted %v", old.Stats().ByTopic)
	}
	// The provider hears its shard peer, not the other shard's.
	for _, ok := prov.Presence().Lookup(same.host.ID()); !ok; _, ok = prov.Presence().Lookup(same.host.ID()) {
		select {
		case <-ctx.Done():
			t.Fatal("the provider never heard its shard peer")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if _, ok := prov.Presence().Lookup(other.host.ID()); ok {
		t.Error("the provider heard another shard's peer")
	}
}
