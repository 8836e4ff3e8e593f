package market

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/gpu/proof"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/p2p/coord"
	"github.com/gpumesh/gpumesh/p2p/frame"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/internal/lifetime"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// Stream protocols of the market.
const (
	// BidProtocol carries a provider's signed bid to the requester, which
	// answers with an Ack.
	BidProtocol = protocol.ID("/gpumesh/bid/1")
	// AwardProtocol carries the requester's signed award (answered by a
	// signed accept or decline) or release (answered by an Ack).
	AwardProtocol = protocol.ID("/gpumesh/award/1")
	// InviteProtocol carries a signed job request straight to a provider,
	// which answers with an Ack saying whether it will bid and why not.
	InviteProtocol = protocol.ID("/gpumesh/invite/1")
)

// Size limits of the market's stream messages.
const (
	maxBidBytes    = 16 << 10
	maxAwardBytes  = 256 << 10 // 256 peers with their addresses
	maxAnswerBytes = 64 << 10
	maxAckBytes    = 1 << 10
	streamTimeout  = 10 * time.Second
)

// Ack answers a bid, an invitation or a release.
type Ack struct {
	// OK is whether the message was taken.
	OK bool `json:"ok"`
	// Reason says why not, or for an invitation why no bid will come.
	Reason string `json:"reason,omitempty"`
}

// Publisher publishes signed messages on a gossip topic (gossip.Router).
type Publisher interface {
	Publish(ctx context.Context, topic string, msg gossip.Message) error
}

// Offer is what this node offers now, as the provider side sees it.
type Offer struct {
	// Record is the node's capacity record (devices, prices, executors,
	// hours, region); its Seq is the latest published one's.
	Record capacity.Record
	// HostCores and HostRAMGB describe the machine around the devices.
	HostCores int
	HostRAMGB float64
	// GPUs are the record's devices a job's work is handed, as executors
	// name them (NVML index and UUID), by index in Record.Devices: its
	// NVIDIA GPUs. A device absent (a CPU, an Apple GPU) is held by a job
	// like any other, but handed to no executor.
	GPUs map[int]executor.Device
	// MaxWall is the longest this node runs a job (executor.max_wall): a
	// request for a longer duration gets no bid. Zero: no bound.
	MaxWall time.Duration
	// NoGPUs says, by executor, why it cannot hand GPUs to its work (the
	// Docker engine has neither the NVIDIA runtime nor CDI GPU devices): a
	// request for GPUs with that executor gets no bid.
	NoGPUs map[string]string
}

// Deps is what the market needs from its node.
type Deps struct {
	Host host.Host
	Key  crypto.PrivKey
	// Gossip publishes job requests.
	Gossip Publisher
	// Book is this node's view of its peers' reputations.
	Book *reputation.Book
	// Coordinate is this node's network coordinate.
	Coordinate func() (coord.Coordinate, bool)
	// Addrs are the addresses this node advertises.
	Addrs func() []string
	// Offer is what this node offers; nil or false when it offers nothing.
	Offer func() (Offer, bool)
	// Invitees finds up to enough providers that may serve req, for direct
	// invitations; nil disables invitations.
	Invitees func(ctx context.Context, req *gossip.JobRequest, enough int) []peer.AddrInfo
	// JobTopics are the topics a request is published on; nil publishes
	// on gossip.TopicJobs alone (version 2). A node passes
	// gossip.RequestJobTopics: the request's shards.
	JobTopics func(req *gossip.JobRequest) []string
	// TopicPeers lists the peers known to subscribe to a topic; when one
	// of a request's topics has none, its providers are invited directly
	// (if market.invite is on) whatever the network's size. nil: never.
	TopicPeers func(topic string) []peer.ID
	// Auditor is the wasm executor audits re-run ranks in: the node's own,
	// with its limits and compiled-module cache; nil builds one with the
	// default limits for each audited job.
	Auditor executor.Executor
	// Challenge puts a proof-of-compute challenge to provider p for the
	// device class it claims and returns the verdict (see
	// market.verify_class); nil checks no class.
	Challenge func(ctx context.Context, p peer.ID, class string) (proof.Verdict, error)
	// RoutingTableSize says how large the network looks.
	RoutingTableSize func() int
	// Changed is called when this node's reservations change.
	Changed func()
	// ResultsDir is where the outputs of this node's jobs are written, a
	// folder per job.
	ResultsDir string
	// Ledger keeps the receipts of every run this node took part in, as
	// requester or provider; nil exchanges no receipts.
	Ledger *ledger.Log
	// Log receives the market's logs.
	Log *slog.Logger
	// Knobs are interception points for tests; zero in production.
	Knobs Knobs
	// Settle, if set, pays for receipts with vouchers on chain (issue 24);
	// nil pays nothing.
	Settle *Settlement
}

// core is what both roles of the market share, and all they share: the
// node's identity and dependencies, the sequence of signed messages, the
// counters, and the owner of every background goroutine. It holds no job
// or reservation state; each role keeps its own under its own lock.
type core struct {
	cfg  Config
	d    Deps
	self peer.ID
	log  *slog.Logger
	seq  atomic.Uint64

	stats tally          // counts of decisions, under its own lock
	life  lifetime.Group // every goroutine of the market; Close ends them
}

// Market is a node's market, both roles. Create it with New, Start it,
// Close it.
type Market struct {
	*core
	*requester // the requester side: this node's jobs (requester.go)

	prov *provider // the provider side, with its own lock (provider.go)
}

// Stats counts what the market decided, by reason.
type Stats struct {
	// Declined counts requests this node did not bid on, by check.
	Declined map[string]uint64 `json:"declined"`
	// BidsSent counts bids sent; BidsRefused those the requester refused.
	BidsSent    uint64 `json:"bids_sent"`
	BidsRefused uint64 `json:"bids_refused"`
	// Refused counts bids, awards, releases and RTT probes this node refused, by reason.
	Refused map[string]uint64 `json:"refused"`
	// Accepted and Released count awards accepted and reservations ended.
	Accepted uint64 `json:"accepted"`
	Released uint64 `json:"released"`
}

// New returns a market that has not started.
func New(cfg Config, d Deps) (*Market, error) {
	if err := cfg.Validate("market"); err != nil {
		return nil, err
	}
	if d.Host == nil || d.Key == nil || d.Gossip == nil || d.Book == nil {
		return nil, errors.New("market: host, key, gossip and reputation book are required")
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Coordinate == nil {
		d.Coordinate = func() (coord.Coordinate, bool) { return coord.Coordinate{}, false }
	}
	if d.Addrs == nil {
		d.Addrs = func() []string { return nil }
	}
	if d.Changed == nil {
		d.Changed = func() {}
	}
	c := &core{cfg: cfg, d: d, self: d.Host.ID(), log: d.Log}
	// Sequence numbers follow the clock, so they keep growing across restarts.
	c.seq.Store(gossip.ClockSeq(time.Now()))
	m := &Market{core: c, requester: newRequester(c), prov: newProvider(c)}
	return m, nil
}

// Start registers the stream handlers and starts expiring reservations;
// the market's work lives until Close, or until ctx ends.
func (m *Market) Start(ctx context.Context) {
	m.d.Host.SetStreamHandler(BidProtocol, m.handleBid)
	m.d.Host.SetStreamHandler(AwardProtocol, m.prov.handleAward)
	m.d.Host.SetStreamHandler(InviteProtocol, m.prov.handleInvite)
	m.d.Host.SetStreamHandler(ReceiptProtocol, m.prov.handleSettle)
	m.d.Host.SetStreamHandler(RTTRoundProtocol, m.prov.handleRTTProbe)
	m.life.Go(func(life context.Context) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(life, cancel)
		defer stop()
		m.sweep(ctx)
	})
}

// Close removes the handlers, ends the market's work (a job still forming
// fails, releasing the awards it holds) and waits for its goroutines: once
// it began, the market starts no more (goBackground), so nothing heard
// after it (a request on gossip, a stream already open) starts new work.
func (m *Market) Close() error {
	for _, p := range []protocol.ID{BidProtocol, AwardProtocol, InviteProtocol, ReceiptProtocol, RTTRoundProtocol} {
		m.d.Host.RemoveStreamHandler(p)
	}
	m.life.Close()
	return nil
}

// ErrClosed is returned for work asked of a market that was closed.
var ErrClosed = errors.New("market closed")

// goBackground runs f in a goroutine the market's Close waits for, with a
// context that ends when Close begins, unless the market is closed; it
// reports whether f started. Every goroutine of the market starts here.
func (c *core) goBackground(f func(ctx context.Context)) bool { return c.life.Go(f) }

// Stats returns the market's counts so far.
func (m *Market) Stats() Stats { return m.stats.snapshot() }

// tally counts the market's decisions (Stats) under its own lock, which
// is held for nothing else. The zero value is ready.
type tally struct {
	mu sync.Mutex
	s  Stats
}

// declined counts a request not bid on, by check.
func (t *tally) declined(check string) { t.add(func(s *Stats) { s.Declined[check]++ }) }

// refused counts a message refused, by reason.
func (t *tally) refused(reason string) { t.add(func(s *Stats) { s.Refused[reason]++ }) }

// add applies f to the counts under the lock.
func (t *tally) add(f func(*Stats)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.s.Declined == nil {
		t.s.Declined, t.s.Refused = map[string]uint64{}, map[string]uint64{}
	}
	f(&t.s)
}

// snapshot is a copy of the counts.
func (t *tally) snapshot() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.s
	s.Declined = maps.Clone(t.s.Declined)
	s.Refused = maps.Clone(t.s.Refused)
	if s.Declined == nil {
		s.Declined, s.Refused = map[string]uint64{}, map[string]uint64{}
	}
	return s
}

// nextSeq is the next sequence number for a message this node signs.
func (c *core) nextSeq() uint64 { return c.seq.Add(1) }

// sweep ends lapsed reservations and forgets expired bids every second.
func (m *Market) sweep(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			m.prov.expire(now)
		}
	}
}

// send opens a stream of proto to p (adding addrs to the peerstore first),
// writes msg signed, and reads one answer of at most limit bytes.
func (c *core) send(ctx context.Context, p peer.ID, addrs []string, proto protocol.ID, msg gossip.Message, limit int) ([]byte, error) {
	addAddrs(c.d.Host, p, addrs)
	data, err := gossip.Encode(msg, c.d.Key)
	if err != nil {
		return nil, err
	}
	s, err := p2p.NewStreamPastBackoff(network.WithAllowLimitedConn(ctx, string(proto)), c.d.Host, p, proto)
	if err != nil {
		return nil, fmt.Errorf("open %s to %s: %w", proto, short(p), err)
	}
	defer s.Close()
	deadline := time.Now().Add(streamTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = s.SetDeadline(deadline)
	if err := frame.Write(s, data); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("send to %s: %w", short(p), err)
	}
	_ = s.CloseWrite()
	answer, err := frame.Read(bufio.NewReader(s), limit)
	if err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("answer from %s: %w", short(p), err)
	}
	return answer, nil
}

// receive reads one signed message of the given types from s, and checks
// that the stream's remote peer signed it.
func (c *core) receive(s network.Stream, limit int, types ...gossip.Type) (gossip.Message, error) {
	data, err := frame.Read(bufio.NewReader(s), limit)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", gossip.ErrMalformed, err)
	}
	msg, signer, err := gossip.Decode(data, types, time.Now(), limit, time.Minute)
	if err != nil {
		return nil, err
	}
	if signer != s.Conn().RemotePeer() {
		return nil, fmt.Errorf("%w: signed by %s, sent by %s", errForged, short(signer), short(s.Conn().RemotePeer()))
	}
	return msg, nil
}

// errForged: a message signed by someone other than the peer sending it.
var errForged = errors.New("signed by someone else")

// reply writes an Ack and closes the stream.
func reply(s network.Stream, ok bool, reason string) {
	b, _ := json.Marshal(Ack{OK: ok, Reason: reason})
	_ = frame.Write(s, b)
	_ = s.Close()
}

// readAck decodes an Ack.
func readAck(b []byte) (Ack, error) {
	var a Ack
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("%w: ack: %w", gossip.ErrMalformed, err)
	}
	return a, nil
}

// violation records a protocol violation by p and counts the refusal.
func (c *core) violation(p peer.ID, what string, err error) {
	c.d.Book.Record(p, reputation.Violation, fmt.Sprintf("%s: %v", what, err))
	c.stats.refused(refusalLabel(err))
	c.log.Debug("refused a market message", "peer", short(p), "what", what, "err", err)
}

// refusalLabel names an error for Stats.Refused.
func refusalLabel(err error) string {
	switch {
	case errors.Is(err, errForged):
		return "forged"
	case errors.Is(err, gossip.ErrExpired):
		return "expired"
	case errors.Is(err, gossip.ErrTooLarge):
		return "too_large"
	case errors.Is(err, gossip.ErrBadSignature):
		return "bad_signature"
	case errors.Is(err, gossip.ErrInvalid):
		return "invalid"
	case errors.Is(err, gossip.ErrUnknownType):
		return "unknown_type"
	}
	return "malformed"
}

// addAddrs puts addrs for p in the peerstore for a while, so a stream can
// be opened to a peer heard of only through gossip.
func addAddrs(h host.Host, p peer.ID, addrs []string) {
	var out []ma.Multiaddr
	for _, a := range addrs {
		if m, err := ma.NewMultiaddr(a); err == nil {
			out = append(out, m)
		}
	}
	if len(out) > 0 {
		h.Peerstore().AddAddrs(p, out, peerstore.TempAddrTTL)
	}
}

// short is a peer ID's last 8 characters, for logs and events.
func short(p peer.ID) string {
	s := p.String()
	if len(s) > 8 {
		return s[len(s)-8:]
	}
	return s
}

// ErrUnknownJob is returned for a job ID this node does not know.
var ErrUnknownJob = errors.New("unknown job")

// writeSigned writes a signed message's bytes as a frame and closes the stream.
func writeSigned(s network.Stream, data []byte) error {
	if err := frame.Write(s, data); err != nil {
		_ = s.Reset()
		return err
	}
	return s.Close()
}
