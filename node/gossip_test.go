package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/nodetest"
)

func sealed(t *testing.T, msg gossip.Message, k crypto.PrivKey) []byte {
	t.Helper()
	b, err := gossip.Encode(msg, k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNodeSurvivesGarbageOnItsTopics has a peer publish everything a
// validator must refuse on every gpumesh topic, and checks that the node
// rejects it all, scores the sender down, and keeps gossiping with honest peers.
func TestNodeSurvivesGarbageOnItsTopics(t *testing.T) {
	f := nodetest.Start(t, 2, nodetest.Options{})
	f.WaitHeard(t, 30*time.Second)
	target, honest := f.Nodes[0], f.Nodes[1]

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h, ps := rawGossiper(t, ctx, target)
	attackerKey := h.Peerstore().PrivKey(h.ID())
	now := time.Now()
	hb := func(sent, expires time.Time) *gossip.Heartbeat {
		return &gossip.Heartbeat{Seq: uint64(sent.UnixNano()), Sent: sent, Expires: expires, Agent: "evil"}
	}
	// Each kind once per topic, in a fixed order: after a few invalid
	// messages GossipSub graylists the attacker and drops the rest unread,
	// so the capacity topic, where heartbeats belong and every kind is
	// meaningful, goes first.
	payloads := [][]byte{
		[]byte("\x00\x01garbage that is no envelope"),
		bytes.Repeat([]byte{0x0a}, 70<<10),
		sealed(t, hb(now, now.Add(time.Hour)), attackerKey), // lifetime too long
		sealed(t, hb(now.Add(-time.Hour), now.Add(-50*time.Minute)), attackerKey),
	}
	topics := joinTopics(t, ps, target, gossip.TopicCapacity, gossip.TopicJobs, gossip.TopicAnchors)

	attackStart := time.Now()
	for _, tp := range topics {
		for _, data := range payloads {
			if err := tp.Publish(ctx, data); err != nil {
				t.Fatalf("publish on %s: %v", tp.String(), err)
			}
		}
		// A valid heartbeat where no heartbeat belongs.
		if tp.String() != gossip.TopicCapacity {
			if err := tp.Publish(ctx, sealed(t, hb(now, now.Add(time.Minute)), attackerKey)); err != nil {
				t.Fatal(err)
			}
		}
	}

	want := map[string]uint64{"malformed": 1, "too_large": 1, "invalid": 1, "unknown_type": 1}
	var st gossip.Stats
	nodetest.WaitFor(t, 10*time.Second, func() bool {
		st = target.Gossip().Stats()
		for reason, n := range want {
			if st.Rejected[reason] < n {
				return false
			}
		}
		return st.Ignored >= 1
	}, func() string { return "rejections so far: " + formatStats(st) })

	nodetest.WaitFor(t, 10*time.Second, func() bool {
		s, ok := target.Gossip().PeerScore(h.ID())
		return ok && s < 0
	}, func() string {
		s, ok := target.Gossip().PeerScore(h.ID())
		return "attacker score " + formatScore(s, ok)
	})

	// The node still answers its API and still hears honest gossip.
	if _, err := api.NewClient(target.APIURL()).Status(ctx); err != nil {
		t.Fatalf("API after attack: %v", err)
	}
	nodetest.WaitFor(t, 10*time.Second, func() bool {
		seen, ok := target.Gossip().Presence().Lookup(honest.PeerID())
		return ok && seen.Sent.After(attackStart)
	}, func() string { return "no heartbeat from the honest peer since the attack" })
}

// rawGossiper is an attacker's GossipSub on its own host, connected to
// target. It speaks gpumesh's dialect (no GossipSub signatures, flood
// publishing) so its messages reach target's validators.
func rawGossiper(t *testing.T, ctx context.Context, target *node.Node) (host.Host, *pubsub.PubSub) {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithFloodPublish(true), pubsub.WithNoAuthor(),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithMessageIdFn(func(m *pb.Message) string { return string(m.GetData()) }))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Connect(ctx, peer.AddrInfo{ID: target.PeerID(), Addrs: target.Network().Host().Addrs()}); err != nil {
		t.Fatal(err)
	}
	return h, ps
}

// joinTopics joins and subscribes to names on ps and waits until target
// is a peer on each.
func joinTopics(t *testing.T, ps *pubsub.PubSub, target *node.Node, names ...string) []*pubsub.Topic {
	t.Helper()
	var topics []*pubsub.Topic
	for _, name := range names {
		tp, err := ps.Join(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tp.Subscribe(); err != nil {
			t.Fatal(err)
		}
		topics = append(topics, tp)
	}
	nodetest.WaitFor(t, 10*time.Second, func() bool {
		for _, tp := range topics {
			if !slices.Contains(tp.ListPeers(), target.PeerID()) {
				return false
			}
		}
		return true
	}, func() string { return "the target never joined the attacker's topics" })
	return topics
}

func formatStats(s gossip.Stats) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func formatScore(s float64, ok bool) string {
	if !ok {
		return "unknown"
	}
	return strconv.FormatFloat(s, 'f', 2, 64)
}
