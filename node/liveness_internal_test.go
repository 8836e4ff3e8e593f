package node

import (
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestWatchTopics: a requester follows the capacity shards of its running
// clusters' providers (their pools, the job's regions) and of clusters
// formed within the hour, and leaves them once the job ends.
func TestWatchTopics(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	formed := func(ago time.Duration) *time.Time { at := now.Add(-ago); return &at }
	cpuEU := market.JobView{State: market.StateFormed, FormedAt: formed(time.Minute),
		Spec: market.Spec{Regions: []string{"DE"}}, Cluster: []market.Member{{Class: "CPU-x86_64"}}}
	gpuNA := market.JobView{State: market.StateRunning, FormedAt: formed(3 * time.Hour),
		Spec: market.Spec{Regions: []string{"US"}}, Cluster: []market.Member{{Class: "A100-40GB"}}}
	oldFormed := cpuEU
	oldFormed.FormedAt, oldFormed.Spec.Regions = formed(2*time.Hour), []string{"JP"}
	oldFormed.Cluster = []market.Member{{Class: "CPU-x86_64"}}
	ended := gpuNA
	ended.State, ended.Spec.Regions = market.StateSucceeded, []string{"AU"}
	ended.Cluster = []market.Member{{Class: "A100-40GB"}}
	bidding := market.JobView{State: market.StateBidding, Cluster: []market.Member{{Class: "CPU-x86_64"}}}

	got := watchTopics([]market.JobView{cpuEU, gpuNA, oldFormed, ended, bidding}, now)
	want := []string{"gpumesh/capacity/3/cpu/eu", "gpumesh/capacity/3/gpu/na"}
	if !slices.Equal(got, want) {
		t.Errorf("watched %v, want %v", got, want)
	}
	var w capWatch
	if !w.set(want, now) || w.set(want, now.Add(time.Second)) {
		t.Error("set reports a change only when the set changes")
	}
	if !w.young(want[:1], now.Add(time.Second), 2*time.Second) || w.young(want[:1], now.Add(2*time.Second), 2*time.Second) {
		t.Error("a shard is young for its grace only")
	}
	a, b, c := newPeerID(t), newPeerID(t), newPeerID(t)
	cpuEU.Cluster[0].Peer, gpuNA.Cluster[0].Peer, oldFormed.Cluster[0].Peer = a.String(), b.String(), c.String()
	if got := runningMembers([]market.JobView{cpuEU, gpuNA, oldFormed, ended}, now); !slices.Equal(got, []peer.ID{a, b}) {
		t.Errorf("running members %v", got)
	}
	if add, drop := w.setMembers([]peer.ID{a, b}); len(add) != 2 || len(drop) != 0 {
		t.Errorf("first protect: add %v, drop %v", add, drop)
	}
	if add, drop := w.setMembers([]peer.ID{a}); len(add) != 0 || !slices.Equal(drop, []peer.ID{b}) {
		t.Errorf("after b's job ended: add %v, drop %v", add, drop)
	}
	gpuNA.State = market.StateSucceeded
	if !w.set(watchTopics([]market.JobView{cpuEU, gpuNA}, now), now) || !slices.Equal(w.topics(), want[:1]) {
		t.Errorf("after the GPU job ended: %v", w.topics())
	}
}

// newPeerID is a fresh peer ID.
func newPeerID(t *testing.T) peer.ID {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
