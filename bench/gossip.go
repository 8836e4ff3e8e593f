package main

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p"
)

// probe stands in for a job request on the jobs topic until JobRequest
// exists: a signed envelope of about the same size, validated by the same
// pipeline (size, envelope, signature, signer = origin, contents).
type probe struct {
	ID   uint64    `json:"id"`
	Sent time.Time `json:"sent"`
	Pad  []byte    `json:"pad"`
}

func (*probe) Domain() string                   { return "gpumesh-bench-probe" }
func (*probe) Codec() []byte                    { return []byte("/gpumesh/bench-probe/1") }
func (p *probe) MarshalRecord() ([]byte, error) { return json.Marshal(p) }
func (p *probe) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, p) }
func (p *probe) Validate(now time.Time, skew time.Duration) error {
	if p.ID == 0 {
		return errors.New("id must be positive")
	}
	if p.Sent.After(now.Add(skew)) {
		return gossip.ErrExpired
	}
	return nil
}

var probeType = gossip.Type{Name: "bench-probe", New: func() gossip.Message { return new(probe) }}

// bareTopic is the baseline's topic: a go-libp2p-pubsub GossipSub with
// bareOptions (StrictSign, no validator, no scoring) on hosts configured and
// wired exactly as our fleet was, measured in the same run.
const bareTopic = "gpumesh-bench/bare/1"

// probeBytes is the size of the padding, so a probe weighs about what a job request will.
const probeBytes = 600

// latencies collects publish-to-delivery times for one topic.
type latencies struct {
	mu      sync.Mutex
	sent    map[uint64]time.Time
	samples []time.Duration
	got     atomic.Int64
	base    uint64 // added to this round's message numbers to make ids
}

func newLatencies() *latencies { return &latencies{sent: map[uint64]time.Time{}} }

// reset forgets what was measured, for the next round.
func (l *latencies) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent = map[uint64]time.Time{}
	l.samples = nil
	l.got.Store(0)
	l.base += 1 << 20 // a late delivery from an earlier round matches no id
}

func (l *latencies) record(id uint64, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s, ok := l.sent[id]; ok {
		l.samples = append(l.samples, at.Sub(s))
		l.got.Add(1)
	}
}

// publishFunc publishes message id from node from.
type publishFunc func(from int, id uint64, now time.Time) error

// measure publishes messages done+1 .. done+k, each from a node chosen by
// rng, in a closed loop: the next message goes out only once the previous
// one reached all n-1 other nodes (or 2 s passed), so the figures are
// propagation latency, not queueing behind earlier messages on 2 cores.
func measure(l *latencies, n, done, k int, rng *rand.Rand, publish publishFunc) error {
	for i := done; i < done+k; i++ {
		id := l.base + uint64(i+1)
		now := time.Now()
		l.mu.Lock()
		l.sent[id] = now
		l.mu.Unlock()
		if err := publish(rng.IntN(n), id, now); err != nil {
			return err
		}
		deadline := time.Now().Add(2 * time.Second)
		for l.got.Load() < int64(i+1)*int64(n-1) && time.Now().Before(deadline) {
			time.Sleep(200 * time.Microsecond)
		}
	}
	return nil
}

// benchGossip is B1: n full gpumesh nodes joined through the DHT publish
// msgs job-request-sized messages on the validated jobs topic; n plain hosts
// with the same connections do the same on a default GossipSub topic. It
// repeats for rounds rounds on the same fleets and reports the median of
// each round's figures: one round's p99 hangs on its two or three slowest
// messages, which on a shared 2-core machine is noise more than signal.
func benchGossip(n, msgs, rounds int) Result {
	res := Result{
		ID: "B1", Name: "gossip propagation", Unit: "ms",
		Params: map[string]any{"nodes": n, "messages": msgs, "rounds": rounds},
		Target: "100% delivered; p99 <= 50 ms at N=100; p99 within 1.2x of bare pubsub",
	}
	tb := &benchTB{}
	defer tb.close()
	oursLat, oursPub, edges, size := startOurs(tb, n)
	bareLat, barePub := startBare(tb, n, edges, size)
	res.Params["message_bytes"] = size
	// Fleets of DHT servers that start together refresh their routing
	// tables for a while; measure once the process has calmed down.
	res.Params["idle_cpu_pct_at_start"] = waitQuiet(50, 2*time.Minute)
	// Both fleets run at once and take turns, ten messages at a time, so
	// whatever else the machine does weighs on both alike.
	rngOurs := rand.New(rand.NewPCG(1, uint64(n)))
	rngBare := rand.New(rand.NewPCG(2, uint64(n)))
	var ours, bare []map[string]float64
	for range rounds {
		oursLat.reset()
		bareLat.reset()
		for sent := 0; sent < msgs; sent += 10 {
			k := min(10, msgs-sent)
			if err := measure(oursLat, n, sent, k, rngOurs, oursPub); err != nil {
				tb.Fatalf("publish: %v", err)
			}
			if err := measure(bareLat, n, sent, k, rngBare, barePub); err != nil {
				tb.Fatalf("publish baseline: %v", err)
			}
		}
		want := int64(msgs * (n - 1))
		ours = append(ours, summarize(oursLat, want))
		bare = append(bare, summarize(bareLat, want))
	}
	res.Figures = medians(ours)
	res.Baseline = medians(bare)
	ratio := res.Figures["p99"] / res.Baseline["p99"]
	res.Figures["p99_vs_bare"] = ratio
	res.Figures["p50_vs_bare"] = res.Figures["p50"] / res.Baseline["p50"]
	ok := res.Figures["delivered_pct"] == 100 && ratio <= 1.2 && (n < 100 || res.Figures["p99"] <= 50)
	res.Verdict = map[bool]string{true: "met", false: "missed"}[ok]
	return res
}

// medians returns, for each figure, its median over the rounds; for
// delivered_pct the lowest, and for max the highest.
func medians(rounds []map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k := range rounds[0] {
		var vs []float64
		for _, r := range rounds {
			vs = append(vs, r[k])
		}
		switch k {
		case "delivered_pct":
			out[k] = slices.Min(vs)
		case "max":
			out[k] = slices.Max(vs)
		default:
			out[k] = quantile(vs, 0.5)
		}
	}
	return out
}

// startOurs starts our fleet and returns its latencies, how to publish on
// it, its connection graph (pairs of node indexes) and the size of one
// signed probe on the wire.
func startOurs(tb *benchTB, n int) (*latencies, publishFunc, [][2]int, int) {
	f := nodetest.Start(tb, n, nodetest.Options{Configure: configureB1})
	f.WaitRoutingTables(tb, min(n-1, 5), 2*time.Minute)
	lat := newLatencies()
	for _, nd := range f.Nodes {
		nd.Gossip().Allow(gossip.TopicJobs, probeType)
		nd.Gossip().Handle(gossip.TopicJobs, func(r gossip.Received) {
			if p, ok := r.Msg.(*probe); ok {
				lat.record(p.ID, time.Now())
			}
		})
	}
	waitMeshes(tb, n, func(i int) int { return len(f.Nodes[i].Gossip().TopicPeers(gossip.TopicJobs)) })
	pad := make([]byte, probeBytes)
	ctx := context.Background()
	publish := func(from int, id uint64, now time.Time) error {
		return f.Nodes[from].Gossip().Publish(ctx, gossip.TopicJobs, &probe{ID: id, Sent: now, Pad: pad})
	}
	index := map[peer.ID]int{}
	for i, nd := range f.Nodes {
		index[nd.PeerID()] = i
	}
	var edges [][2]int
	for i, nd := range f.Nodes {
		for _, p := range nd.Network().Host().Network().Peers() {
			if j, ok := index[p]; ok && j > i {
				edges = append(edges, [2]int{i, j})
			}
		}
	}
	wire, err := gossip.Encode(&probe{ID: 1, Sent: time.Now(), Pad: pad}, f.Nodes[0].Network().Host().Peerstore().PrivKey(f.Nodes[0].PeerID()))
	if err != nil {
		tb.Fatalf("encode: %v", err)
	}
	return lat, publish, edges, len(wire)
}

// configureB1 is the configuration of both fleets' node i, ours through
// nodetest.Start and the baseline's hosts through b1Config: heartbeats,
// coordinate probes and capacity records would add traffic the baseline
// does not carry.
func configureB1(_ int, c *config.Config) {
	c.Gossip.HeartbeatInterval = p2p.Duration(time.Minute)
	c.P2P.ProbeInterval = p2p.Duration(time.Minute)
	c.Offer.Enabled = false
}

// b1Config is the configuration of baseline host i, built as nodetest.Start
// builds our node i: the test profile, node 0 (the bootstrap peer in our
// fleet) sized for the fleet, then configureB1.
func b1Config(i, n int) (config.Config, error) {
	c, err := config.ForProfile("test")
	if err != nil {
		return c, fmt.Errorf("baseline config: %w", err)
	}
	if i == 0 {
		nodetest.SizeForFleet(&c.P2P, n)
	}
	configureB1(i, &c)
	return c, nil
}

// bareOptions are the baseline's GossipSub options: what our router sets
// by accident of engineering rather than by design is set alike here (the
// validation queue, whose default of 32 overflows under bursts on a loaded
// machine; the largest RPC; flood publishing, off). What our design adds
// stays off: our envelope's signature instead of GossipSub's (the baseline
// keeps StrictSign, so both sign and verify each message once), content
// message ids, our validator and peer scoring.
func bareOptions(c config.Config) []pubsub.Option {
	return []pubsub.Option{
		pubsub.WithValidateQueueSize(gossip.ValidateQueueSize),
		pubsub.WithMaxMessageSize(max(1<<20, 4*c.Gossip.MaxMessageBytes)),
		pubsub.WithFloodPublish(c.Gossip.FloodPublish),
	}
}

// startBare starts the baseline: n hosts built by our own network layer
// (the same transports, limits and DHT as a gpumesh node, so the same
// background work), configured as our fleet's nodes, connected along edges,
// each with a GossipSub with bareOptions and no gossip layer of ours.
func startBare(tb *benchTB, n int, edges [][2]int, size int) (*latencies, publishFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	hosts := make([]host.Host, n)
	topics := make([]*pubsub.Topic, n)
	lat := newLatencies()
	var wg sync.WaitGroup
	tb.Cleanup(func() { cancel(); wg.Wait() })
	cfgs := make([]config.Config, n)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := range hosts {
		cfg, err := b1Config(i, n)
		if err != nil {
			tb.Fatalf("%v", err)
		}
		cfgs[i] = cfg
		key, _, err := crypto.GenerateEd25519Key(crand.Reader)
		if err != nil {
			tb.Fatalf("key: %v", err)
		}
		nw, err := p2p.New(cfg.P2P, key, "bench-baseline", quiet)
		if err != nil {
			tb.Fatalf("baseline network: %v", err)
		}
		if err := nw.Start(ctx); err != nil {
			tb.Fatalf("baseline network: %v", err)
		}
		tb.Cleanup(func() { _ = nw.Close() })
		hosts[i] = nw.Host()
	}
	for _, e := range edges {
		if err := connectHosts(ctx, hosts[e[0]], hosts[e[1]]); err != nil {
			tb.Fatalf("connect baseline hosts: %v", err)
		}
	}
	for i, h := range hosts {
		ps, err := pubsub.NewGossipSub(ctx, h, bareOptions(cfgs[i])...)
		if err != nil {
			tb.Fatalf("gossipsub: %v", err)
		}
		t, err := ps.Join(bareTopic)
		if err != nil {
			tb.Fatalf("join: %v", err)
		}
		sub, err := t.Subscribe()
		if err != nil {
			tb.Fatalf("subscribe: %v", err)
		}
		topics[i] = t
		self := h.ID()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				m, err := sub.Next(ctx)
				if err != nil {
					return
				}
				if m.ReceivedFrom != self && len(m.Data) >= 8 {
					lat.record(binary.BigEndian.Uint64(m.Data), time.Now())
				}
			}
		}()
	}
	waitMeshes(tb, n, func(i int) int { return len(topics[i].ListPeers()) })
	return lat, func(from int, id uint64, _ time.Time) error {
		data := make([]byte, size)
		binary.BigEndian.PutUint64(data, id)
		return topics[from].Publish(ctx, data)
	}
}

// waitMeshes waits until every node sees at least a few topic peers, then
// for two GossipSub heartbeats so that GRAFTs settle.
func waitMeshes(tb *benchTB, n int, topicPeers func(i int) int) {
	nodetest.WaitFor(tb, time.Minute, func() bool {
		for i := range n {
			if topicPeers(i) < min(n-1, 4) {
				return false
			}
		}
		return true
	}, func() string { return "topic meshes did not form" })
	time.Sleep(2 * time.Second)
}

func summarize(l *latencies, want int64) map[string]float64 {
	l.mu.Lock()
	lat := make([]float64, len(l.samples)) // ms, to the whole microsecond
	for i, d := range l.samples {
		lat[i] = float64(d.Microseconds()) / 1000
	}
	l.mu.Unlock()
	return map[string]float64{
		"delivered_pct": 100 * float64(len(lat)) / float64(want),
		"p50":           quantile(lat, 0.50),
		"p99":           quantile(lat, 0.99),
		"max":           quantile(lat, 1),
	}
}

// waitQuiet waits until this process uses less than maxPct of one core over
// a 2 s window, or timeout passes, and returns the last window's figure.
func waitQuiet(maxPct float64, timeout time.Duration) float64 {
	deadline := time.Now().Add(timeout)
	for {
		c0, t0 := processCPU(), time.Now()
		time.Sleep(2 * time.Second)
		pct := 100 * float64(processCPU()-c0) / float64(time.Since(t0))
		if pct < maxPct || time.Now().After(deadline) {
			return math.Round(pct)
		}
	}
}
