package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/gpu/proof"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/challenge"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// TestAdversarialNetwork puts an honest fleet (a requester and CPU
// providers, GossipSub scoring on) under attack on every gossip topic and
// every stream protocol at once: garbage, truncated, oversized and
// wrongly typed messages; forged ones (edited after signing, naming
// another peer's key, signed by someone other than the sender); replays
// of captured heartbeats, job requests, bids, awards and receipts, byte
// for byte and rewrapped, from the capturer and from other peers; slow
// and stalled streams on every protocol; and a Sybil group of peers
// flooding validly signed job requests far over the rate limit and
// leaving every bid they get unanswered. Every bad message is refused, with
// the gossip rejections counted by reason and the stream violations in
// the target's reputation book; the attackers' GossipSub scores fall
// below zero on every honest node; no honest node keeps anything from
// them (no job, reservation, receipt, presence or anchor); and a job
// submitted during the flood still forms on honest providers and
// succeeds. The attacks through the work itself (run slots, env
// injection, sparse outputs, log floods) are TestAdversarialWork's.
func TestAdversarialNetwork(t *testing.T) {
	providers, sybils, flood := 6, 20, 40
	longest := 30 * time.Second // the longest stream deadline waited for
	if testing.Short() {
		// The same attacks with fewer peers, and no stream held for longer
		// than 10 s.
		providers, sybils, longest = 3, 5, 10*time.Second
	}
	module := executortest.WasmModule(t, "hello")
	f := nodetest.Start(t, 1+providers, nodetest.Options{Configure: func(i int, c *config.Config) {
		c.Offer.Enabled = i > 0
		// Ten requests at once, then one every two seconds, from each peer.
		c.Market.RequestsPerMinute = 30
		// The requester checks each provider's CPU with a challenge before
		// an award, as a real one does; the attackers stall the provers.
		// The tolerance forgives two loaded cores any slowness: what is
		// checked is that a challenge is answered at all.
		c.Market.VerifyClass = market.VerifyCPU
		c.GPU.ProofTolerance = 0.01
	}})
	f.WaitHeard(t, 60*time.Second)
	s := &siege{t: t, f: f, req: f.Nodes[0], provs: f.Nodes[1:], streams: map[string][]streamAttack{}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The attackers, each joined to every honest node. A gossip attacker
	// sends at most two bad messages per topic, so that GossipSub has not
	// graylisted it (and dropped the rest unread) before all are counted.
	a := attackers{
		garbage:  nodetest.NewAttacker(t, nodetest.AttackerOptions{}),
		sizer:    nodetest.NewAttacker(t, nodetest.AttackerOptions{}),
		invalid:  nodetest.NewAttacker(t, nodetest.AttackerOptions{}),
		forger:   nodetest.NewAttacker(t, nodetest.AttackerOptions{}),
		replayer: nodetest.NewAttacker(t, nodetest.AttackerOptions{}),
		relayer:  nodetest.NewAttacker(t, nodetest.AttackerOptions{}),
		anchorer: nodetest.NewAttacker(t, nodetest.AttackerOptions{}),
		bidder:   nodetest.NewAttacker(t, nodetest.AttackerOptions{}),
		inviter:  nodetest.NewAttacker(t, nodetest.AttackerOptions{}),
		awarder:  nodetest.NewAttacker(t, nodetest.AttackerOptions{AnswerBids: true}),
		settler:  nodetest.NewAttacker(t, nodetest.AttackerOptions{}),
		runner:   nodetest.NewAttacker(t, nodetest.AttackerOptions{}),
		prover:   nodetest.NewAttacker(t, nodetest.AttackerOptions{}),
		holder:   nodetest.NewAttacker(t, nodetest.AttackerOptions{}),
		// They leave every bid they get unanswered, holding the
		// provider's wait for an answer as long as it lasts.
		sybils: nodetest.Sybils(t, sybils, nodetest.AttackerOptions{StallBids: true}),
	}
	for _, at := range a.all() {
		if err := at.Join(ctx, f.Nodes...); err != nil {
			t.Fatal(err)
		}
	}
	for _, at := range a.all() {
		at.WaitTopics(t, 30*time.Second, f.Nodes...)
	}
	base := s.rejected()

	// Slow and stalled streams on every protocol, for the whole siege.
	holdCtx, stopHolding := context.WithCancel(ctx)
	defer stopHolding()
	held, holding := s.holdEverything(holdCtx, a.holder, longest)

	// Gossip: everything a validator must refuse, on every topic.
	want := s.gossipAttacks(ctx, a)
	s.waitRejected(base, want, 30*time.Second)
	for _, at := range a.gossipers() {
		s.waitScoresBelowZero(at, 20*time.Second)
	}
	for i, nd := range f.Nodes {
		nodetest.WaitFor(t, 10*time.Second, func() bool {
			v, _ := nd.Reputation().View(a.anchorer.ID())
			return violations(v) >= 1
		}, func() string {
			return fmt.Sprintf("node %d did not hold a bogus anchor announcement against its sender (gossip %s)", i, formatStats(nd.Gossip().Stats()))
		})
	}

	own, ownBid, target := s.ownRequest(ctx, a.awarder)

	// The Sybil flood, and an honest job submitted while it is on.
	floodCtx, stopFlood := context.WithCancel(ctx)
	defer stopFlood()
	var floods sync.WaitGroup
	sent := make([]int, len(a.sybils))
	for i, sy := range a.sybils {
		floods.Go(func() {
			sent[i], _ = sy.Flood(floodCtx, gossip.TopicJobs, flood, 25*time.Millisecond, func(int) gossip.Message {
				return attackerRequest(sy, 10*time.Minute) // the longest bid window
			})
		})
	}
	nodetest.WaitFor(t, 20*time.Second, func() bool {
		return s.provs[0].Gossip().Stats().Rejected["rate_limited"] > 0
	}, func() string { return "the Sybils' flood never went over the rate limit" })
	honest, err := s.req.Market().Submit(ctx, market.Spec{Workers: 2, Module: module})
	if err != nil {
		t.Fatal(err)
	}
	// Stream attacks while the job forms, among them replays of its
	// request, captured from the jobs topic.
	s.streamAttacks(ctx, a, honest.ID, own, ownBid, target)
	if honest, err = s.req.Market().Wait(ctx, honest.ID); err != nil {
		t.Fatal(err)
	}
	floods.Wait()
	if honest.State != market.StateSucceeded {
		for _, e := range honest.Events {
			t.Logf("%s %-16s %s", e.At.Format("15:04:05.000"), e.Kind, e.Text)
		}
		t.Fatalf("honest job during the siege: %s (%s)", honest.State, honest.Error)
	}
	s.checkCluster(honest)

	// Replayed receipts, now that the job has some.
	s.receiptReplays(ctx, a.settler, honest)

	held.Wait() // each ended by the node's deadline
	stopHolding()
	holding.Wait()
	for _, sy := range a.sybils {
		s.waitScoresBelowZero(sy, time.Minute)
	}
	s.checkStreams(a, target)
	s.checkNoPollution(a, honest)
	s.report(base, a, target, sent, flood)
}

// attackers are the scenario's bad actors, one per kind of attack so
// that each one's score and violations measure that attack alone.
type attackers struct {
	garbage, sizer, invalid, forger, replayer, relayer, anchorer *nodetest.Attacker // gossip
	bidder, inviter, awarder, settler, runner, prover            *nodetest.Attacker // streams
	holder                                                       *nodetest.Attacker // slow streams
	sybils                                                       []*nodetest.Attacker
}

func (a attackers) gossipers() []*nodetest.Attacker {
	return []*nodetest.Attacker{a.garbage, a.sizer, a.invalid, a.forger, a.replayer, a.relayer}
}

func (a attackers) all() []*nodetest.Attacker {
	return append(append(a.gossipers(), a.anchorer, a.bidder, a.inviter, a.awarder, a.settler, a.runner, a.prover, a.holder), a.sybils...)
}

// siege is the scenario's state: the fleet and what the attacks got.
type siege struct {
	t     *testing.T
	f     *nodetest.Fleet
	req   *node.Node
	provs []*node.Node

	mu      sync.Mutex
	streams map[string][]streamAttack // by protocol
}

// streamAttack is one bad message sent on a stream, and what came back.
type streamAttack struct {
	name   string
	target peer.ID
	res    nodetest.StreamResult
	// limit, if set, is how long the node may take to refuse: less than
	// its stream deadline, for a message it must refuse without reading.
	limit time.Duration
}

// rejected sums the gossip rejections by reason over the honest nodes.
func (s *siege) rejected() map[string]uint64 {
	sum := map[string]uint64{}
	for _, nd := range s.f.Nodes {
		for k, v := range nd.Gossip().Stats().Rejected {
			sum[k] += v
		}
	}
	return sum
}

// waitRejected waits until, for each reason, the honest nodes together
// rejected at least want[reason] more messages than base.
func (s *siege) waitRejected(base, want map[string]uint64, timeout time.Duration) {
	s.t.Helper()
	var got map[string]uint64
	nodetest.WaitFor(s.t, timeout, func() bool {
		got = s.rejected()
		for k, n := range want {
			if got[k]-base[k] < n {
				return false
			}
		}
		return true
	}, func() string {
		var per []string
		for i, nd := range s.f.Nodes {
			per = append(per, fmt.Sprintf("node %d: %v conns %d", i, nd.Gossip().Stats().Rejected, len(nd.Network().Host().Network().Peers())))
		}
		return fmt.Sprintf("rejections %v since %v, want at least %v more; %s", got, base, want, strings.Join(per, "; "))
	})
}

// waitScoresBelowZero waits until every honest node scores at below 0.
func (s *siege) waitScoresBelowZero(at *nodetest.Attacker, timeout time.Duration) {
	s.t.Helper()
	var worst string
	nodetest.WaitFor(s.t, timeout, func() bool {
		for i, nd := range s.f.Nodes {
			if sc, ok := nd.Gossip().PeerScore(at.ID()); !ok || sc >= 0 {
				worst = fmt.Sprintf("node %d scores attacker %s at %s", i, at.ID(), formatScore(sc, ok))
				return false
			}
		}
		return true
	}, func() string { return worst })
}

// gossipAttacks publishes, on every topic, each kind of message the
// validators must refuse, and returns how many rejections of each reason
// the honest nodes must count together.
func (s *siege) gossipAttacks(ctx context.Context, a attackers) map[string]uint64 {
	t := s.t
	t.Helper()
	now := time.Now()
	victim := nodetest.PublicKey(s.req)
	// A valid message of each topic's own type, and one of another.
	own := func(at *nodetest.Attacker) map[string]gossip.Message {
		return map[string]gossip.Message{
			gossip.TopicJobs:     attackerRequest(at, time.Minute),
			gossip.TopicCapacity: &gossip.Heartbeat{Seq: at.NextSeq(), Sent: now, Expires: now.Add(time.Minute), Agent: "evil"},
			gossip.TopicAnchors:  &gossip.AnchorAnnouncement{Seq: at.NextSeq(), Sent: now, Expires: now.Add(time.Minute), Anchor: []byte(`{"not":"an anchor"}`)},
		}
	}
	wrong := map[string]gossip.Message{
		gossip.TopicJobs:     &gossip.Heartbeat{Seq: 1, Sent: now, Expires: now.Add(time.Minute), Agent: "evil"},
		gossip.TopicCapacity: attackerRequest(a.sizer, time.Minute),
		gossip.TopicAnchors:  attackerBid(a.sizer, strings.Repeat("ab", 16)),
	}
	invalid := map[string]gossip.Message{
		gossip.TopicJobs: func() gossip.Message {
			r := attackerRequest(a.invalid, time.Minute)
			r.Workers = 0
			return r
		}(),
		gossip.TopicCapacity: &gossip.Heartbeat{Seq: a.invalid.NextSeq(), Sent: now, Expires: now.Add(time.Hour), Agent: "evil"},
		gossip.TopicAnchors:  &gossip.AnchorAnnouncement{Seq: a.invalid.NextSeq(), Sent: now, Expires: now.Add(time.Minute)},
	}
	// Honest heartbeats to replay, captured from the capacity topic.
	var heartbeats []nodetest.Captured
	nodetest.WaitFor(t, 10*time.Second, func() bool {
		heartbeats = a.replayer.Captured(gossip.TopicCapacity)
		return len(heartbeats) >= 2
	}, func() string { return "the replayer captured no heartbeats" })

	publish := func(at *nodetest.Attacker, topic string, data []byte) {
		t.Helper()
		if err := at.PublishRaw(ctx, topic, data); err != nil {
			t.Fatal(err)
		}
	}
	seal := func(at *nodetest.Attacker, m gossip.Message) []byte {
		b, err := gossip.Encode(m, at.Key())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, topic := range gossip.Topics {
		valid := seal(a.garbage, own(a.garbage)[topic])
		publish(a.garbage, topic, nodetest.Garbage(300))
		publish(a.garbage, topic, valid[:len(valid)/2]) // truncated

		big := attackerRequest(a.sizer, time.Minute)
		big.Workload = strings.Repeat("x", 70<<10)
		publish(a.sizer, topic, seal(a.sizer, big))
		publish(a.sizer, topic, seal(a.sizer, wrong[topic]))

		publish(a.invalid, topic, seal(a.invalid, invalid[topic]))

		tampered, err := nodetest.Tamper(seal(a.forger, own(a.forger)[topic]))
		if err != nil {
			t.Fatal(err)
		}
		publish(a.forger, topic, tampered)
		impersonated, err := nodetest.Impersonate(own(a.forger)[topic], a.forger.Key(), victim)
		if err != nil {
			t.Fatal(err)
		}
		publish(a.forger, topic, impersonated)
	}
	// Replays of honest heartbeats: byte for byte (GossipSub drops them as
	// seen), and rewrapped, by the capturer and by another peer.
	for i, hb := range heartbeats[:2] {
		if err := a.replayer.Replay(ctx, hb); err != nil {
			t.Fatal(err)
		}
		publish(a.replayer, gossip.TopicCapacity, nodetest.Rewrap(hb.Data, uint64(i+1)))
	}
	publish(a.relayer, gossip.TopicCapacity, nodetest.Rewrap(heartbeats[0].Data, 99))
	// A well-formed announcement whose anchor is garbage: gossip takes
	// it, the node's anchor handler must not.
	publish(a.anchorer, gossip.TopicAnchors, seal(a.anchorer, own(a.anchorer)[gossip.TopicAnchors]))

	n := uint64(len(s.f.Nodes))
	return map[string]uint64{
		"malformed":     6 * n,
		"too_large":     3 * n,
		"unknown_type":  3 * n,
		"invalid":       3 * n,
		"bad_signature": 6 * n,
		"non_canonical": 3 * n,
	}
}

// attackerRequest is a valid job request from at, asking for one CPU
// worker with bids sent to at.
func attackerRequest(at *nodetest.Attacker, window time.Duration) *gossip.JobRequest {
	now := time.Now()
	return &gossip.JobRequest{ID: gossip.NewJobID(), Seq: at.NextSeq(), Sent: now, BidDeadline: now.Add(window),
		Workers: 1, PerWorker: gossip.Resources{GPUs: 1}, MaxPrice: 5, Duration: time.Hour,
		Executor: "wasm", Workload: "none", Urgency: gossip.UrgencyNormal, Addrs: at.Addrs()}
}

// attackerBid is a valid bid from at for job.
func attackerBid(at *nodetest.Attacker, job string) *gossip.Bid {
	now := time.Now()
	return &gossip.Bid{Job: job, Seq: at.NextSeq(), Sent: now, Expires: now.Add(time.Minute), Price: 0.01, Workers: 1, Class: "CPU-x86", Addrs: at.Addrs()}
}

// violations is how many violations a reputation view counts, rounded:
// the book decays its counts from the moment each was recorded.
func violations(v reputation.View) float64 { return math.Round(v.Counts[reputation.Violation]) }

// holdEverything opens, on every stream protocol of every provider (and
// the requester's bid protocol), a stream that sends half a frame and
// never closes, and on the challenge protocol also one that goes silent
// after the commitment: each must be ended by the node's deadline. The
// challenge holds start again as soon as they end, until ctx ends, so
// that the provers are under that pressure while the honest job's
// providers are challenged. Holds whose deadline is over longest are left
// out. Wait on the first group for the single holds to end; cancel ctx
// and wait on the second to stop the rest.
func (s *siege) holdEverything(ctx context.Context, holder *nodetest.Attacker, longest time.Duration) (single, repeated *sync.WaitGroup) {
	single, repeated = new(sync.WaitGroup), new(sync.WaitGroup)
	half := nodetest.FrameHeader(100) // a frame that never comes in full
	hold := func(target peer.ID, proto protocol.ID, name string, prefix []byte, deadline time.Duration, again bool) {
		if deadline > longest {
			return
		}
		wg := single
		if again {
			wg = repeated
		}
		wg.Go(func() {
			for {
				res := holder.Hold(ctx, target, proto, prefix)
				if ctx.Err() != nil {
					return
				}
				s.add(proto, streamAttack{name: name, target: target, res: res, limit: deadline + 5*time.Second})
				if !again {
					return
				}
				if res.Took < time.Second { // turned away at once: again in a while
					select {
					case <-ctx.Done():
						return
					case <-time.After(time.Second):
					}
				}
			}
		})
	}
	hold(s.req.PeerID(), market.BidProtocol, "stalled", half, 10*time.Second, false)
	ch := nodetest.Frame(validChallenge(s.t))
	for _, p := range s.provs {
		hold(p.PeerID(), market.InviteProtocol, "stalled", half, 10*time.Second, false)
		hold(p.PeerID(), market.AwardProtocol, "stalled", half, 10*time.Second, false)
		hold(p.PeerID(), market.ReceiptProtocol, "stalled", half, 20*time.Second, false)
		hold(p.PeerID(), run.Protocol, "stalled", half, 30*time.Second, false)
		hold(p.PeerID(), challenge.ProtocolID, "stalled", nodetest.FrameHeader(proof.ChallengeSize), 10*time.Second, true)
		// Silent after the commitment: the challenge's deadline and margins.
		hold(p.PeerID(), challenge.ProtocolID, "stalled after commitment", ch, 30*time.Second, true)
	}
	return single, repeated
}

// validChallenge is a small proof-of-compute challenge any node accepts.
func validChallenge(t *testing.T) []byte {
	t.Helper()
	ch, err := proof.NewChallenge(rand.Reader, 128, proof.Int8FP32, 8, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ch.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (s *siege) add(proto protocol.ID, at streamAttack) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.streams[string(proto)] = append(s.streams[string(proto)], at)
}

// send sends raw on proto to target and records the outcome.
func (s *siege) send(ctx context.Context, at *nodetest.Attacker, target peer.ID, proto protocol.ID, name string, raw []byte) nodetest.StreamResult {
	res := at.Send(ctx, target, proto, raw)
	s.add(proto, streamAttack{name: name, target: target, res: res})
	return res
}

// oversize sends a frame header over limit with a little of the body and
// holds the stream: the node must refuse it at once, not read on.
func (s *siege) oversize(ctx context.Context, at *nodetest.Attacker, target peer.ID, proto protocol.ID, limit int) {
	ctx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	res := at.Hold(ctx, target, proto, append(nodetest.FrameHeader(uint64(limit)+1), nodetest.Garbage(512)...))
	s.add(proto, streamAttack{name: "oversized", target: target, res: res, limit: 5 * time.Second})
}

// malformed sends garbage, a truncated frame and an oversized one on proto.
func (s *siege) malformed(ctx context.Context, at *nodetest.Attacker, target peer.ID, proto protocol.ID, limit int) {
	s.send(ctx, at, target, proto, "garbage", nodetest.Frame(nodetest.Garbage(200)))
	s.send(ctx, at, target, proto, "truncated", append(nodetest.FrameHeader(100), nodetest.Garbage(10)...))
	s.oversize(ctx, at, target, proto, limit)
}

// ownRequest has the awarder ask for a worker itself, so as to receive
// real bids, and returns its request, the first bid that came and the
// provider that sent it.
func (s *siege) ownRequest(ctx context.Context, awarder *nodetest.Attacker) (*gossip.JobRequest, nodetest.Captured, *node.Node) {
	t := s.t
	t.Helper()
	own := attackerRequest(awarder, time.Minute)
	if err := awarder.Publish(ctx, gossip.TopicJobs, own); err != nil {
		t.Fatal(err)
	}
	c := awarder.WaitCaptured(t, string(nodetest.BidProtocol), 20*time.Second, func(c nodetest.Captured) bool {
		m, _, err := gossip.Decode(c.Data, []gossip.Type{gossip.BidType}, c.At, 1<<20, time.Minute)
		return err == nil && m.(*gossip.Bid).Job == own.ID
	})
	for _, nd := range s.provs {
		if nd.PeerID() == c.From {
			return own, c, nd
		}
	}
	t.Fatalf("a bid from %s, no provider", c.From)
	return nil, c, nil
}

// streamAttacks throws bad messages at every stream protocol of the
// requester and of provider p, which bid on the awarder's request own
// (bid c), while the honest job forms.
func (s *siege) streamAttacks(ctx context.Context, a attackers, job string, own *gossip.JobRequest, c nodetest.Captured, target *node.Node) {
	t := s.t
	t.Helper()
	p := target.PeerID()
	m, _, err := gossip.Decode(c.Data, []gossip.Type{gossip.BidType}, c.At, 1<<20, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	bid := m.(*gossip.Bid)
	seal := func(signer *nodetest.Attacker, m gossip.Message) []byte {
		b, err := gossip.Encode(m, signer.Key())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tamper := func(b []byte) []byte {
		out, err := nodetest.Tamper(b)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// The honest request, captured from the jobs topic, replayed: on
	// gossip byte for byte and rewrapped by a peer other than its
	// capturer, and as an invitation.
	isHonest := func(c nodetest.Captured) bool {
		// As of its capture: the request expires with its bid window.
		_, signer, err := gossip.Decode(c.Data, []gossip.Type{gossip.JobRequestType}, c.At, 1<<20, time.Minute)
		return err == nil && signer == s.req.PeerID()
	}
	var req nodetest.Captured
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		for _, at := range a.all() {
			for _, c := range at.Captured(gossip.TopicJobs) {
				if isHonest(c) {
					req = c
					return true
				}
			}
		}
		return false
	}, func() string {
		v, _ := s.req.Market().Job(job)
		var ev []string
		for _, e := range v.Events {
			ev = append(ev, e.Kind+": "+e.Text)
		}
		n := 0
		for _, at := range a.all() {
			n += len(at.Captured(gossip.TopicJobs))
		}
		return fmt.Sprintf("no attacker captured the honest job request (of %d captured); job %s: %s; provider 1: %s %+v", n, v.State, strings.Join(ev, " | "), formatStats(s.provs[0].Gossip().Stats()), s.provs[0].Market().Stats())
	})
	if err := a.relayer.Replay(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := a.relayer.PublishRaw(ctx, gossip.TopicJobs, nodetest.Rewrap(req.Data, 7)); err != nil {
		t.Fatal(err)
	}

	// /gpumesh/invite/1, to a provider.
	s.malformed(ctx, a.inviter, p, market.InviteProtocol, gossip.DefaultConfig().MaxMessageBytes)
	s.send(ctx, a.inviter, p, market.InviteProtocol, "wrong type", nodetest.Frame(seal(a.inviter, attackerBid(a.inviter, job))))
	s.send(ctx, a.inviter, p, market.InviteProtocol, "replayed (another's request)", nodetest.Frame(req.Data))
	s.send(ctx, a.inviter, p, market.InviteProtocol, "forged (edited after signing)", nodetest.Frame(tamper(seal(a.inviter, attackerRequest(a.inviter, time.Minute)))))

	// /gpumesh/bid/1, to the requester: the captured bid replayed by
	// another peer, and bad ones of the bidder's own.
	s.malformed(ctx, a.bidder, s.req.PeerID(), market.BidProtocol, 16<<10)
	s.send(ctx, a.bidder, s.req.PeerID(), market.BidProtocol, "wrong type", nodetest.Frame(seal(a.bidder, attackerRequest(a.bidder, time.Minute))))
	s.send(ctx, a.bidder, s.req.PeerID(), market.BidProtocol, "replayed (another's bid)", nodetest.Frame(c.Data))
	s.send(ctx, a.bidder, s.req.PeerID(), market.BidProtocol, "forged (edited after signing)", nodetest.Frame(tamper(seal(a.bidder, attackerBid(a.bidder, job)))))

	// /gpumesh/award/1, to the provider that bid: an award under its bid
	// (declined) and the same award again (a replay), one signed by
	// someone else, and bad ones.
	now := time.Now()
	award := seal(a.awarder, &gossip.Award{Job: own.ID, Provider: p.String(), Seq: a.awarder.NextSeq(), Sent: now, AcceptBy: now.Add(10 * time.Second),
		Price: bid.Price / 2, Ranks: []int{0}, WorldSize: 1, Peers: []string{p.String()}})
	if res := s.send(ctx, a.awarder, p, market.AwardProtocol, "under the bid's price", nodetest.Frame(award)); !res.Refused() {
		t.Errorf("an award under the bid's price was accepted")
	}
	s.send(ctx, a.awarder, p, market.AwardProtocol, "replayed (own award)", nodetest.Frame(award))
	forged := &gossip.Award{Job: own.ID, Provider: p.String(), Seq: a.awarder.NextSeq(), Sent: now, AcceptBy: now.Add(10 * time.Second),
		Price: bid.Price, Ranks: []int{0}, WorldSize: 1, Peers: []string{p.String()}}
	s.send(ctx, a.awarder, p, market.AwardProtocol, "forged (another's signature)", nodetest.Frame(seal(a.sybils[0], forged)))
	s.send(ctx, a.awarder, p, market.AwardProtocol, "wrong type", nodetest.Frame(seal(a.awarder, bid)))
	s.malformed(ctx, a.awarder, p, market.AwardProtocol, 256<<10)

	// /gpumesh/run/1: work for the honest job, by a peer that holds no
	// award, and signed by someone else; and bad frames.
	s.send(ctx, a.runner, p, run.Protocol, "unauthorized", nodetest.Frame(seal(a.runner, runRequest(job, p))))
	s.send(ctx, a.runner, p, run.Protocol, "forged (another's signature)", nodetest.Frame(seal(a.sybils[1], runRequest(job, p))))
	s.send(ctx, a.runner, p, run.Protocol, "wrong type", nodetest.Frame(seal(a.runner, attackerRequest(a.runner, time.Minute))))
	s.malformed(ctx, a.runner, p, run.Protocol, run.MaxRequestBytes)

	// /gpumesh/challenge/1 and /gpumesh/receipt/1: bad frames.
	s.malformed(ctx, a.prover, p, challenge.ProtocolID, proof.ChallengeSize)
	s.malformed(ctx, a.settler, p, market.ReceiptProtocol, 4<<10)
}

// runRequest is a well-formed run request for rank 0 of job on p.
func runRequest(job string, p peer.ID) *run.RunRequest {
	sum := sha256.Sum256([]byte("module"))
	d := "sha256:" + hex.EncodeToString(sum[:])
	return &run.RunRequest{Job: job, Seq: uint64(time.Now().UnixNano()), Sent: time.Now(), Ranks: []int{0}, WorldSize: 1, Peers: []string{p.String()},
		Spec:  executor.Spec{Version: executor.SpecVersion, Executor: "wasm", Wasm: &executor.WasmSpec{Digest: d}},
		Files: []run.File{{Name: run.ModuleFile, Digest: d, Size: 6}}}
}

// receiptReplays sends the countersigned receipts of the honest job to
// the providers that served it and to the requester, as a settlement of
// the settler's own: none may take them.
func (s *siege) receiptReplays(ctx context.Context, settler *nodetest.Attacker, v market.JobView) {
	t := s.t
	t.Helper()
	entries, err := s.req.Ledger().ByJob(v.ID)
	if err != nil || len(entries) == 0 {
		t.Fatalf("the requester logged no receipts of the honest job: %v", err)
	}
	var receipts [][]byte
	for _, e := range entries {
		receipts = append(receipts, e.Data)
	}
	request, _ := json.Marshal(map[string]any{"job": v.ID, "ranks": []int{0, 1}})
	answer, _ := json.Marshal(map[string]any{"countersigned": receipts})
	raw := append(nodetest.Frame(request), nodetest.Frame(answer)...)
	targets := []*node.Node{s.req}
	for _, u := range v.Usage {
		for _, nd := range s.provs {
			if nd.PeerID().String() == u.Peer {
				targets = append(targets, nd)
			}
		}
	}
	sizes := map[peer.ID]int64{}
	for _, nd := range targets {
		sizes[nd.PeerID()] = nd.Ledger().Size()
	}
	for _, nd := range targets {
		s.send(ctx, settler, nd.PeerID(), market.ReceiptProtocol, "replayed receipts", raw)
	}
	for _, nd := range targets {
		if got := nd.Ledger().Size(); got != sizes[nd.PeerID()] {
			t.Errorf("node %s logged %d entries from replayed receipts", nd.PeerID(), got-sizes[nd.PeerID()])
		}
	}
}

// checkCluster checks that the honest job ran on honest providers only.
func (s *siege) checkCluster(v market.JobView) {
	honest := map[string]bool{}
	for _, nd := range s.provs {
		honest[nd.PeerID().String()] = true
	}
	for _, m := range v.Cluster {
		if !honest[m.Peer] {
			s.t.Errorf("the honest job's cluster holds %s, no honest provider", m.Peer)
		}
	}
}

// checkStreams checks that every bad message on a stream was refused,
// oversized ones at once and stalled ones by the node's deadline, and
// that the market's handlers held each against its sender.
func (s *siege) checkStreams(a attackers, p *node.Node) {
	t := s.t
	s.mu.Lock()
	defer s.mu.Unlock()
	for proto, list := range s.streams {
		for _, at := range list {
			if !at.res.Refused() {
				t.Errorf("%s %s to %s was taken: answer %q", proto, at.name, at.target, at.res.Answer)
			}
			if at.limit > 0 && (at.res.Took > at.limit || at.res.Err != nil && strings.Contains(at.res.Err.Error(), "kept the stream open")) {
				t.Errorf("%s %s to %s: the node took %s to end it, want under %s (%v)", proto, at.name, at.target, at.res.Took.Round(time.Millisecond), at.limit, at.res.Err)
			}
		}
	}
	for _, c := range []struct {
		proto string
		book  *node.Node
		at    *nodetest.Attacker
		want  float64
	}{
		{string(market.BidProtocol), s.req, a.bidder, 6},
		{string(market.InviteProtocol), p, a.inviter, 6},
		{string(market.AwardProtocol), p, a.awarder, 6},
		{string(market.ReceiptProtocol), p, a.settler, 3},
	} {
		v, _ := c.book.Reputation().View(c.at.ID())
		if got := violations(v); got < c.want {
			t.Errorf("%s: %.0f violations held against the attacker, want %.0f (events %+v)", c.proto, got, c.want, v.Events)
		}
	}
}

// checkNoPollution checks that no honest node kept anything from the
// attackers: jobs, reservations, receipts, presence, anchors.
func (s *siege) checkNoPollution(a attackers, v market.JobView) {
	t := s.t
	if jobs := s.req.Market().Jobs(); len(jobs) != 1 || jobs[0].ID != v.ID {
		t.Errorf("the requester has %d jobs, want only the honest one", len(jobs))
	}
	bad := map[peer.ID]bool{}
	for _, at := range a.all() {
		bad[at.ID()] = true
	}
	for i, nd := range s.f.Nodes {
		for _, r := range nd.Market().Reservations() {
			if r.Job != v.ID || r.Requester != s.req.PeerID().String() {
				t.Errorf("node %d holds a reservation of job %s for %s", i, r.Job, r.Requester)
			}
		}
		entries, err := nd.Ledger().ByPeer(nd.PeerID())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !bytes.Contains(e.Data, []byte(v.ID)) {
				t.Errorf("node %d logged entry %d of another job", i, e.Index)
			}
		}
		for _, seen := range nd.Gossip().Presence().Alive(time.Now()) {
			if bad[seen.Peer] {
				t.Errorf("node %d counts attacker %s as present", i, seen.Peer)
			}
		}
		for p := range bad {
			if _, ok := nd.PeerAnchor(p); ok {
				t.Errorf("node %d keeps an anchor announced by attacker %s", i, p)
			}
		}
		// No honest node is scored down for what it passed on.
		for j, other := range s.f.Nodes {
			if sc, ok := nd.Gossip().PeerScore(other.PeerID()); i != j && ok && sc < 0 {
				t.Errorf("node %d scores honest node %d at %.0f", i, j, sc)
			}
		}
		// The honest providers keep their good name with the requester.
		if i > 0 {
			if rv, ok := s.req.Reputation().View(nd.PeerID()); ok && (violations(rv) > 0 || math.Round(rv.Counts[reputation.ChallengeFailed]) > 0) {
				t.Errorf("the requester holds against honest node %d: %+v", i, rv.Events)
			}
		}
	}
}

// report logs what was refused, by kind: the figures the siege is quoted by.
func (s *siege) report(base map[string]uint64, a attackers, p *node.Node, sent []int, perSybil int) {
	t := s.t
	got := s.rejected()
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if d := got[k] - base[k]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, d))
		}
	}
	t.Logf("gossip rejected (summed over %d honest nodes): %s", len(s.f.Nodes), strings.Join(parts, ", "))
	s.mu.Lock()
	for _, proto := range slices.Sorted(maps.Keys(s.streams)) {
		byName := map[string][2]int{}
		for _, at := range s.streams[proto] {
			c := byName[at.name]
			c[1]++
			if at.res.Refused() {
				c[0]++
			}
			byName[at.name] = c
		}
		var row []string
		for _, name := range slices.Sorted(maps.Keys(byName)) {
			row = append(row, fmt.Sprintf("%s %d/%d", name, byName[name][0], byName[name][1]))
		}
		t.Logf("stream %s refused: %s", proto, strings.Join(row, ", "))
	}
	s.mu.Unlock()
	var recorded []string
	for _, c := range []struct {
		name string
		nd   *node.Node
		at   *nodetest.Attacker
	}{{"bid", s.req, a.bidder}, {"invite", p, a.inviter}, {"award", p, a.awarder}, {"receipt", p, a.settler}, {"anchor", s.req, a.anchorer}} {
		v, _ := c.nd.Reputation().View(c.at.ID())
		recorded = append(recorded, fmt.Sprintf("%s %.0f", c.name, violations(v)))
	}
	t.Logf("violations recorded: %s", strings.Join(recorded, ", "))
	total := 0
	for _, n := range sent {
		total += n
	}
	lo, hi, gray := 0.0, -1e18, 0
	for _, sy := range a.sybils {
		for _, nd := range s.f.Nodes {
			sc, _ := nd.Gossip().PeerScore(sy.ID())
			lo, hi = min(lo, sc), max(hi, sc)
			if sc < -2500 {
				gray++
			}
		}
	}
	t.Logf("sybils: %d peers sent %d job requests (%d each); GossipSub scores on honest nodes %.0f to %.0f, %d of %d (sybil, node) pairs graylisted",
		len(a.sybils), total, perSybil, lo, hi, gray, len(a.sybils)*len(s.f.Nodes))
	var scores []string
	for _, at := range append(a.gossipers(), a.anchorer) {
		sc, _ := s.req.Gossip().PeerScore(at.ID())
		scores = append(scores, fmt.Sprintf("%.0f", sc))
	}
	t.Logf("gossip attackers' scores on the requester: %s", strings.Join(scores, ", "))
	declined := map[string]uint64{}
	var bids uint64
	for _, nd := range s.provs {
		st := nd.Market().Stats()
		bids += st.BidsSent
		for k, v := range st.Declined {
			declined[k] += v
		}
	}
	t.Logf("providers: %d bids sent, requests not bid on %v", bids, declined)
}
