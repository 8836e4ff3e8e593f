package market_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/p2p/frame"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// peerOf is one libp2p host on loopback with its key.
type peerOf struct {
	h   host.Host
	key crypto.PrivKey
}

func newPeer(t *testing.T) peerOf {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return peerOf{h, key}
}

func connect(t *testing.T, a, b peerOf) {
	t.Helper()
	if err := a.h.Connect(context.Background(), peer.AddrInfo{ID: b.h.ID(), Addrs: b.h.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

// gossipTo stands in for the jobs topic: what the requester publishes
// reaches the providers' OnRequest as if heard on gossip.
type gossipTo struct {
	from      peer.ID
	providers []*market.Market
}

func (g *gossipTo) Publish(_ context.Context, _ string, msg gossip.Message) error {
	for _, p := range g.providers {
		p.OnRequest(gossip.Received{Topic: gossip.TopicJobs, From: g.from, Msg: msg})
	}
	return nil
}

// cpuOffer is one CPU device at price.
func cpuOffer(price float64) func() (market.Offer, bool) {
	return func() (market.Offer, bool) {
		return market.Offer{HostCores: 8, HostRAMGB: 16, Record: capacity.Record{
			Devices:   []capacity.Device{{Class: "CPU-x86", Pool: "cpu", MemoryMB: 16 << 10, Cores: 8, Free: true}},
			Prices:    map[string]float64{"CPU-x86": price},
			Executors: []string{"wasm"},
		}}, true
	}
}

func newMarket(t *testing.T, p peerOf, pub market.Publisher, offer func() (market.Offer, bool), edit ...func(*market.Config, *market.Deps)) (*market.Market, *reputation.Book) {
	t.Helper()
	book, err := reputation.Open("", reputation.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := market.DefaultConfig()
	cfg.BidWindow = 500 * 1e6
	d := market.Deps{Host: p.h, Key: p.key, Gossip: pub, Book: book, Offer: offer, Log: slog.New(slog.DiscardHandler),
		Addrs: func() []string { return []string{p.h.Addrs()[0].String()} }}
	for _, e := range edit {
		e(&cfg, &d)
	}
	m, err := market.New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	m.Start(context.Background())
	t.Cleanup(func() { m.Close() })
	return m, book
}

// send writes data on a new stream of proto from a to b and returns the
// raw answer frame.
func send(t *testing.T, a peerOf, b peer.ID, proto protocol.ID, data []byte) []byte {
	t.Helper()
	s, err := a.h.NewStream(context.Background(), b, proto)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(10 * time.Second))
	if err := frame.Write(s, data); err != nil {
		t.Fatal(err)
	}
	_ = s.CloseWrite()
	answer, err := frame.Read(bufio.NewReader(s), 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	return answer
}

func ack(t *testing.T, b []byte) market.Ack {
	t.Helper()
	var a market.Ack
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("answer %q is not an ack: %v", b, err)
	}
	return a
}

func seal(t *testing.T, msg gossip.Message, key crypto.PrivKey) []byte {
	t.Helper()
	b, err := gossip.Encode(msg, key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBadMarketMessagesAreRefused puts every message the market must
// refuse on its streams, from a rogue peer and from the requester itself,
// and checks each refusal's reason, the rogue's reputation, and that
// nothing beyond the one real award is reserved.
func TestBadMarketMessagesAreRefused(t *testing.T) {
	req, prov, rogue := newPeer(t), newPeer(t), newPeer(t)
	connect(t, req, prov)
	connect(t, rogue, req)
	connect(t, rogue, prov)
	pub := &gossipTo{from: req.h.ID()}
	mReq, reqBook := newMarket(t, req, pub, nil)
	mProv, provBook := newMarket(t, prov, &gossipTo{}, cpuOffer(0.10))
	pub.providers = []*market.Market{mProv}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := mReq.Submit(ctx, market.Spec{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	job := v.ID
	// While bidding is open: a bid for another job, a bid signed by a key
	// that is not the sender's, a bid from a peer that is not the provider
	// it claims, garbage.
	now := time.Now()
	bid := func(jobID string) *gossip.Bid {
		return &gossip.Bid{Job: jobID, Seq: uint64(now.UnixNano()), Sent: now, Expires: now.Add(time.Minute),
			Price: 0.01, Workers: 1, Class: "CPU-x86"}
	}
	if a := ack(t, send(t, rogue, req.h.ID(), market.BidProtocol, seal(t, bid(strings.Repeat("ab", 16)), rogue.key))); a.OK || a.Reason != "unknown_job" {
		t.Errorf("bid for another job: %+v, want refused as unknown_job", a)
	}
	otherKey, _, _ := crypto.GenerateEd25519Key(nil)
	if a := ack(t, send(t, rogue, req.h.ID(), market.BidProtocol, seal(t, bid(job), otherKey))); a.OK || !strings.Contains(a.Reason, "signed by someone else") {
		t.Errorf("bid signed by someone else: %+v, want refused", a)
	}
	if a := ack(t, send(t, rogue, req.h.ID(), market.BidProtocol, []byte("not an envelope"))); a.OK {
		t.Errorf("garbage bid: %+v, want refused", a)
	}
	if sc := reqBook.Score(rogue.h.ID()); sc >= reputation.DefaultMinReputation {
		t.Errorf("rogue's reputation %.3f after forged and garbage bids, want below %.1f", sc, reputation.DefaultMinReputation)
	}

	if v, err = mReq.Wait(ctx, job); err != nil || v.State != market.StateFormed {
		t.Fatalf("job: %s %s %v; provider: %+v requester: %+v", v.State, v.Error, err, mProv.Stats(), mReq.Stats())
	}
	if len(v.Cluster) != 1 || v.Cluster[0].Peer != prov.h.ID().String() {
		t.Fatalf("cluster %+v, want the provider alone: the rogue's bids must not count", v.Cluster)
	}
	// After the deadline: a well-formed bid from the rogue is too late.
	if a := ack(t, send(t, rogue, req.h.ID(), market.BidProtocol, seal(t, bid(job), rogue.key))); a.OK || a.Reason != "bidding_closed" {
		t.Errorf("bid after the deadline: %+v, want refused as bidding_closed", a)
	}

	// Awards: a replay by the requester (an old sequence number), one
	// relayed by the rogue with the requester's signature, one for a job
	// the provider never bid on, and one naming another provider.
	award := func(jobID, provider string, seq uint64) *gossip.Award {
		return &gossip.Award{Job: jobID, Provider: provider, Seq: seq, Sent: time.Now(), AcceptBy: time.Now().Add(5 * time.Second),
			Price: 1, Ranks: []int{0}, WorldSize: 1, Peers: []string{provider}}
	}
	decline := func(from peerOf, a *gossip.Award, key crypto.PrivKey) string {
		answer := send(t, from, prov.h.ID(), market.AwardProtocol, seal(t, a, key))
		msg, signer, err := gossip.Decode(answer, []gossip.Type{gossip.AcceptType, gossip.DeclineType}, time.Now(), 64<<10, time.Minute)
		if err == nil && signer != prov.h.ID() {
			err = errors.New("answer not signed by the provider")
		}
		if err != nil {
			var ack market.Ack
			if json.Unmarshal(answer, &ack) == nil && !ack.OK {
				return ack.Reason
			}
			t.Fatalf("answer to award: %v", err)
		}
		d, ok := msg.(*gossip.Decline)
		if !ok {
			t.Fatalf("award %+v accepted, want declined", a)
		}
		return d.Reason
	}
	provID := prov.h.ID().String()
	for name, c := range map[string]struct {
		from peerOf
		a    *gossip.Award
		key  crypto.PrivKey
		want string
	}{
		"replayed award":          {req, award(job, provID, 1), req.key, "replayed award"},
		"award relayed by rogue":  {rogue, award(job, provID, uint64(time.Now().UnixNano())*2), req.key, "signed by someone else"},
		"award for an unbid job":  {req, award(strings.Repeat("cd", 16), provID, uint64(time.Now().UnixNano())*2), req.key, "no bid of ours"},
		"award for another peer":  {req, award(job, rogue.h.ID().String(), uint64(time.Now().UnixNano())*2), req.key, "another provider"},
		"award from a non-sender": {rogue, award(job, provID, uint64(time.Now().UnixNano())*2), rogue.key, "did not request"},
	} {
		if got := decline(c.from, c.a, c.key); !strings.Contains(got, c.want) {
			t.Errorf("%s: answered %q, want %q", name, got, c.want)
		}
	}
	if r := mProv.Reservations(); len(r) != 1 || r[0].Job != job {
		t.Errorf("reservations %+v, want only the real award's", r)
	}
	if got := len(mProv.Reserved()); got != 1 {
		t.Errorf("%d devices reserved, want 1", got)
	}
	if sc := provBook.Score(rogue.h.ID()); sc >= reputation.DefaultMinReputation {
		t.Errorf("provider's view of the rogue %.3f, want below %.1f", sc, reputation.DefaultMinReputation)
	}
	st := mProv.Stats()
	t.Logf("provider refused: %v; requester refused: %v", st.Refused, mReq.Stats().Refused)

	// The work may start only from the requester, for its ranks, once.
	if _, err := mProv.BeginRun(job, rogue.h.ID(), []int{0}); err == nil {
		t.Error("a stranger started the job's work")
	}
	if _, err := mProv.BeginRun(job, req.h.ID(), []int{1}); err == nil || !strings.Contains(err.Error(), "rank 1") {
		t.Errorf("a rank not awarded: %v", err)
	}
	if _, err := mProv.BeginRun(job, req.h.ID(), []int{0}); err != nil {
		t.Fatalf("the requester's start: %v", err)
	}
	if _, err := mProv.BeginRun(job, req.h.ID(), []int{0}); err == nil {
		t.Error("the job started twice")
	}
	if r := mProv.Reservations(); !r[0].Running || !r[0].Until.After(time.Now().Add(30*time.Minute)) {
		t.Errorf("running reservation %+v: want it held for the job's duration", r[0])
	}
	// A release from the requester frees the devices; a replay of it does nothing.
	rel := &gossip.Release{Job: job, Provider: provID, Seq: uint64(time.Now().UnixNano()) * 3, Sent: time.Now(), Reason: "test"}
	if a := ack(t, send(t, req, prov.h.ID(), market.AwardProtocol, seal(t, rel, req.key))); !a.OK {
		t.Fatalf("release: %+v", a)
	}
	if a := ack(t, send(t, req, prov.h.ID(), market.AwardProtocol, seal(t, rel, req.key))); a.OK {
		t.Errorf("replayed release accepted")
	}
	if got := len(mProv.Reserved()); got != 0 {
		t.Errorf("%d devices reserved after the release, want 0", got)
	}
}

// TestBadSpecs: requests no provider should ever see are refused at submit.
func TestBadSpecs(t *testing.T) {
	p := newPeer(t)
	m, _ := newMarket(t, p, &gossipTo{from: p.h.ID()}, nil)
	neg := -0.5
	for name, spec := range map[string]market.Spec{
		"k = 10,000":        {Workers: 10000},
		"k negative":        {Workers: -1},
		"negative price":    {MaxPrice: -1},
		"bad reputation":    {MinReputation: &neg},
		"bad pool":          {Pool: "tpu"},
		"bad urgency":       {Urgency: "yesterday"},
		"hour-long bidding": {BidWindow: 3600 * 1e9},
		"unknown failover":  {Failover: "resume-somehow"},
	} {
		if _, err := m.Submit(context.Background(), spec); !errors.Is(err, market.ErrBadSpec) {
			t.Errorf("%s: %v, want ErrBadSpec", name, err)
		}
	}
	if len(m.Jobs()) != 0 {
		t.Errorf("bad specs left %d jobs", len(m.Jobs()))
	}
}

// TestParseSpec reads YAML and JSON job files and refuses unknown keys.
func TestParseSpec(t *testing.T) {
	y := "workers: 4\ngpus: 2\nclass: A100-80GB\nmax_rtt: 40ms\nmax_price: 2.5\nregions: [EU]\nduration: 2h\n"
	s, err := market.ParseSpec("job.yaml", []byte(y))
	if err != nil || s.Workers != 4 || *s.GPUs != 2 || s.Class != "A100-80GB" || s.MaxRTT != 40e6 || s.MaxPrice != 2.5 ||
		s.Regions[0] != "EU" || s.Duration != 7200e9 {
		t.Fatalf("yaml: %+v, %v", s, err)
	}
	j := `{"workers": 4, "gpus": 2, "class": "A100-80GB", "max_rtt": "40ms", "max_price": 2.5, "regions": ["EU"], "duration": "2h"}`
	s2, err := market.ParseSpec("job.json", []byte(j))
	if err != nil || fmt.Sprint(s2.Regions, s2.MaxRTT, *s2.GPUs) != fmt.Sprint(s.Regions, s.MaxRTT, *s.GPUs) {
		t.Fatalf("json: %+v, %v", s2, err)
	}
	for name, data := range map[string]string{"job.yaml": "wrokers: 4\n", "job.json": `{"wrokers": 4}`, "bad.yaml": "max_rtt: soon\n"} {
		if _, err := market.ParseSpec(name, []byte(data)); !errors.Is(err, market.ErrBadSpec) {
			t.Errorf("%s %q: %v, want ErrBadSpec", name, data, err)
		}
	}
}

// TestInvitations: with no gossip reaching the provider, a direct
// invitation still gets its bid; one it cannot serve comes back with the
// reason, and the failed job reports it.
func TestInvitations(t *testing.T) {
	req, prov := newPeer(t), newPeer(t)
	connect(t, req, prov)
	mProv, _ := newMarket(t, prov, &gossipTo{}, cpuOffer(0.10))
	_ = mProv
	mReq, _ := newMarket(t, req, &gossipTo{from: req.h.ID()}, nil, func(c *market.Config, d *market.Deps) {
		c.InviteAbove = 0
		d.RoutingTableSize = func() int { return 1 }
		d.Invitees = func(context.Context, *gossip.JobRequest, int) []peer.AddrInfo {
			return []peer.AddrInfo{{ID: prov.h.ID(), Addrs: prov.h.Addrs()}}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := mReq.Submit(ctx, market.Spec{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = mReq.Wait(ctx, v.ID); err != nil || v.State != market.StateFormed {
		t.Fatalf("invited provider's job: %s %s %v", v.State, v.Error, err)
	}
	v, err = mReq.Submit(ctx, market.Spec{Workers: 1, Class: "H100-80GB"})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = mReq.Wait(ctx, v.ID); err != nil || v.State != market.StateFailed {
		t.Fatalf("job no one can serve: %s %v", v.State, err)
	}
	if !strings.Contains(v.Error, "of 1 provider invited directly, 1 would not bid: 1 devices (no device matches class H100-80GB)") {
		t.Errorf("failure %q does not carry the invited provider's reason", v.Error)
	}
}
