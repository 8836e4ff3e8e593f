package gossip

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// TestPublishesCarryNoAuthor: what a router publishes reaches a plain
// GossipSub peer with StrictNoSign, as any other implementation runs it,
// without the author (from) or sequence number (seqno) that such peers
// refuse; the signed envelope in data is the whole message
// (docs/protocol/gossip-2.md, version note).
func TestPublishesCarryNoAuthor(t *testing.T) {
	a, ha := startLoopbackRouter(t)
	defer a.Close()
	a.Allow(TopicJobs, HeartbeatType)
	key, _ := newKey(t)
	hb, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ps, err := pubsub.NewGossipSub(ctx, hb, pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign), pubsub.WithMessageIdFn(contentID))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := ps.Subscribe(TopicJobs)
	if err != nil {
		t.Fatal(err)
	}
	if err := ha.Connect(ctx, peer.AddrInfo{ID: hb.ID(), Addrs: hb.Addrs()}); err != nil {
		t.Fatal(err)
	}
	got := make(chan *pubsub.Message, 1)
	go func() {
		for {
			m, err := sub.Next(ctx)
			if err != nil {
				return
			}
			if m.ReceivedFrom == ha.ID() {
				got <- m
				return
			}
		}
	}()
	// Publish until b hears one: the mesh forms after a GossipSub heartbeat.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for seq := uint64(1); ; seq++ {
		now := time.Now()
		if err := a.Publish(ctx, TopicJobs, &Heartbeat{Seq: seq, Sent: now, Expires: now.Add(time.Minute), Agent: "no-author"}); err != nil {
			t.Fatalf("publish: %v", err)
		}
		select {
		case m := <-got:
			if len(m.GetFrom()) != 0 || len(m.GetSeqno()) != 0 || len(m.GetSignature()) != 0 || len(m.GetKey()) != 0 {
				t.Fatalf("published with from %x, seqno %x, signature %d bytes, key %d bytes; want none", m.GetFrom(), m.GetSeqno(), len(m.GetSignature()), len(m.GetKey()))
			}
			if _, from, err := Decode(m.GetData(), []Type{HeartbeatType}, time.Now(), DefaultConfig().MaxMessageBytes, time.Minute); err != nil || from != ha.ID() {
				t.Fatalf("data decodes to signer %s, %v; want %s", from, err, ha.ID())
			}
			return
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the plain GossipSub peer heard nothing in 30s")
		}
	}
}

// TestMessagesWithAuthorAreRefused: a message that carries from and seqno
// (as version 1 nodes sent them) is refused before any handler sees it, and
// the peer that sent it is scored down as for any invalid message.
func TestMessagesWithAuthorAreRefused(t *testing.T) {
	b, hb := startLoopbackRouter(t)
	defer b.Close()
	b.Allow(TopicCapacity, HeartbeatType)
	heard := make(chan Received, 16)
	b.Handle(TopicCapacity, func(r Received) {
		select {
		case heard <- r:
		default:
		}
	})
	key, _ := newKey(t)
	ha, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ha.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// StrictNoSign without WithNoAuthor: from and seqno set, as before.
	ps, err := pubsub.NewGossipSub(ctx, ha, pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithMessageIdFn(contentID), pubsub.WithFloodPublish(true))
	if err != nil {
		t.Fatal(err)
	}
	topic, err := ps.Join(TopicCapacity)
	if err != nil {
		t.Fatal(err)
	}
	if err := ha.Connect(ctx, peer.AddrInfo{ID: hb.ID(), Addrs: hb.Addrs()}); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for seq := uint64(1); ; seq++ {
		now := time.Now()
		data, err := Encode(&Heartbeat{Seq: seq, Sent: now, Expires: now.Add(time.Minute), Agent: "v1"}, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := topic.Publish(ctx, data); err != nil {
			t.Fatal(err)
		}
		if s, ok := b.PeerScore(ha.ID()); ok && s < 0 {
			break
		}
		select {
		case r := <-heard:
			if r.From == ha.ID() {
				t.Fatal("a message with from and seqno reached a handler")
			}
		case <-tick.C:
		case <-ctx.Done():
			s, ok := b.PeerScore(ha.ID())
			t.Fatalf("the authoring peer's score is %v (known %v) after 30s, want negative", s, ok)
		}
	}
	select {
	case r := <-heard:
		if r.From == ha.ID() {
			t.Fatal("a message with from and seqno reached a handler")
		}
	default:
	}
}
