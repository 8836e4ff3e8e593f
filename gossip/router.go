package gossip

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"
)

// Received is a message that passed validation, as handed to a Handler.
type Received struct {
	// Topic is where the message arrived.
	Topic string
	// From is the peer that signed the message (its origin, not the forwarder).
	From peer.ID
	// Msg is the decoded, verified message.
	Msg Message
}

// Handler consumes messages from one topic. It runs on the topic's reader
// goroutine and must not block for long.
type Handler func(Received)

// Sequenced is implemented by messages that carry a per-sender sequence
// number; the router drops one that is not newer than the last it accepted
// from the same sender, so a replayed message is ignored.
type Sequenced interface {
	Sequence() uint64
}

// SequenceKeyed is implemented by Sequenced messages whose sequence runs
// per key rather than per sender: a node's requests for different jobs,
// published at once, may arrive in any order, and only a replay of the same
// job's request is stale.
type SequenceKeyed interface {
	SequenceKey() string
}

// Stats counts what the validators decided since start.
type Stats struct {
	// Accepted counts messages delivered to handlers (ours included).
	Accepted uint64 `json:"accepted"`
	// Ignored counts stale, replayed or expired messages dropped without
	// penalty, and messages over their signer's rate limit that another
	// peer passed on.
	Ignored uint64 `json:"ignored"`
	// Rejected counts messages dropped with a penalty to their sender, by reason.
	Rejected map[string]uint64 `json:"rejected"`
	// Published counts the messages this node published (its own count
	// among Accepted too: GossipSub validates local messages).
	Published uint64 `json:"published"`
	// ByTopic counts Accepted by topic (its name in Topics or
	// JobShardTopics, not its wire name): which shards' messages reached
	// this node.
	ByTopic map[string]uint64 `json:"by_topic,omitempty"`
}

// rejectReasons maps decode errors to the labels used in Stats and logs.
var rejectReasons = []struct {
	err   error
	label string
}{
	{ErrTooLarge, "too_large"},
	{ErrMalformed, "malformed"},
	{ErrNonCanonical, "non_canonical"},
	{ErrUnknownType, "unknown_type"},
	{ErrBadSignature, "bad_signature"},
	{ErrInvalid, "invalid"},
	{ErrRateLimited, "rate_limited"},
}

// ErrRateLimited: the message's signer sent more of its type than the
// topic's limit allows.
var ErrRateLimited = errors.New("sender over its rate limit")

// Limit bounds how many messages of one type one signer may originate on a
// topic: Burst at once, then one per Every. Messages over it are rejected,
// which scores down the peer that sent them.
type Limit struct {
	Every time.Duration
	Burst int
}

// Router is a node's GossipSub: it joins the gpumesh topics, validates every
// message against the types allowed on its topic, publishes this node's own
// messages as signed envelopes, and announces the node on the capacity topic.
type Router struct {
	cfg         Config
	topicPrefix string // the network's topic prefix; "" is main's ("gpumesh")
	host        host.Host
	key         crypto.PrivKey
	log         *slog.Logger
	now         func() time.Time

	mu       sync.RWMutex
	types    map[string][]Type
	handlers map[string][]Handler
	lastSeq  map[seqKey]seqSeen
	limits   map[seqKey]Limit   // by topic and codec; from is empty
	buckets  map[seqKey]*bucket // by topic, codec and signer

	ps     *pubsub.PubSub
	join   []string // the topics Start joins and subscribes to
	beats  []string // the topics heartbeats are published on, under mu
	tmu    sync.Mutex
	topics map[string]*pubsub.Topic        // under tmu once started
	subs   map[string]*pubsub.Subscription // by topic, under tmu

	presence *Presence

	accepted, ignored atomic.Uint64
	published         atomic.Uint64 // messages this node published
	scores            atomic.Pointer[map[peer.ID]float64]
	rejMu             sync.Mutex
	rejected          map[string]uint64
	byTopic           map[string]uint64 // under rejMu
	lastWarn          time.Time
	overflows         map[peer.ID]overflowCount // under rejMu

	wg           sync.WaitGroup
	cancel       context.CancelFunc
	stopAnnounce context.CancelFunc
}

type seqKey struct {
	topic, codec string
	from         peer.ID
	key          string // a SequenceKeyed message's key
}

// seqSeen is the newest sequence number accepted for a seqKey, and when.
type seqSeen struct {
	seq uint64
	at  time.Time
}

// bucket is one signer's rate limiter on one topic and type.
type bucket struct {
	lim  *rate.Limiter
	used time.Time
}

// validateQueue is how many received messages may wait for validation
// (at most 16 MB of them at the default gossip.max_message_bytes).
const validateQueue = 256

// ValidateQueueSize is the GossipSub validation queue the router runs with,
// exported so that a baseline measured beside it (bench B1) runs with the same.
const ValidateQueueSize = validateQueue

// seqMemory is how long the router remembers a sender's last sequence
// number; messages older than that are refused by their own expiry.
const seqMemory = time.Hour

// New returns a Router for host h that signs with key (the host's identity).
// It starts nothing; call Start.
func New(cfg Config, h host.Host, key crypto.PrivKey, agent string, log *slog.Logger, opts ...Option) (*Router, error) {
	if err := cfg.Validate("gossip"); err != nil {
		return nil, err
	}
	if h == nil || key == nil {
		return nil, errors.New("gossip: host and key are required")
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Router{
		cfg: cfg, host: h, key: key, log: log, now: time.Now,
		types:    map[string][]Type{TopicCapacity: {HeartbeatType}},
		handlers: map[string][]Handler{},
		lastSeq:  map[seqKey]seqSeen{},
		limits:   map[seqKey]Limit{},
		buckets:  map[seqKey]*bucket{},
		topics:   map[string]*pubsub.Topic{},
		subs:     map[string]*pubsub.Subscription{},
		rejected: map[string]uint64{},
		byTopic:  map[string]uint64{},
		join:     Topics,
		beats:    []string{TopicCapacity},

		overflows: map[peer.ID]overflowCount{},
	}
	for _, t := range CapacityShardTopics() {
		r.types[t] = []Type{HeartbeatType}
	}
	r.presence = newPresence(agent)
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// Option changes how a Router is built.
type Option func(*Router)

// WithTopicPrefix puts the router on the topics of a network other than
// main: each topic's wire name starts with prefix rather than "gpumesh"
// ("gpumesh-test/jobs/2"), so networks never share gossip. Handlers,
// Allow and Publish keep using the names in Topics.
func WithTopicPrefix(prefix string) Option {
	return func(r *Router) { r.topicPrefix = prefix }
}

// WithTopics replaces the topics the router joins and subscribes to at
// Start (Topics by default): a node joins the jobs shards it serves
// (OfferJobTopics) and, while it still listens to version 2 requesters,
// TopicJobs. A topic it publishes on without subscribing (a request's
// shards) is joined on its first Publish.
func WithTopics(names ...string) Option {
	return func(r *Router) { r.join = slices.Clone(names) }
}

// WithHeartbeatTopics replaces the topics the router announces this node
// on (TopicCapacity by default): a version 3 provider's capacity shards
// (OfferCapacityTopics) and, while gossip.legacy_capacity_topic is on,
// TopicCapacity. With none, the node announces itself nowhere.
func WithHeartbeatTopics(names ...string) Option {
	return func(r *Router) { r.beats = slices.Clone(names) }
}

// SetHeartbeatTopics changes the topics the router announces this node on
// from the next heartbeat (a provider whose offer moved region).
func (r *Router) SetHeartbeatTopics(names []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.beats = slices.Clone(names)
}

// HeartbeatTopics are the topics the router announces this node on.
func (r *Router) HeartbeatTopics() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.beats)
}

// wireTopic is the name topic travels under on this router's network.
func (r *Router) wireTopic(topic string) string {
	if r.topicPrefix == "" {
		return topic
	}
	return r.topicPrefix + strings.TrimPrefix(topic, "gpumesh")
}

// Allow lets messages of type t travel on topic. Later issues add the job,
// bid and anchor types this way; a topic with no types rejects everything.
func (r *Router) Allow(topic string, t Type) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.types[topic] = append(r.types[topic], t)
}

// AllowLimited is Allow with a per-signer rate limit on the type.
func (r *Router) AllowLimited(topic string, t Type, l Limit) {
	r.Allow(topic, t)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.limits[seqKey{topic: topic, codec: t.codec()}] = l
}

// Handle adds fn to the handlers of topic; messages that arrive before it is
// added are not replayed to it.
func (r *Router) Handle(topic string, fn Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handlers[topic] = append(r.handlers[topic], fn)
}

// Start creates the GossipSub router, registers the validators, joins and
// subscribes to every topic in Topics, and starts announcing this node.
func (r *Router) Start(ctx context.Context) error {
	opts := []pubsub.Option{
		// Every gpumesh message is a signed envelope whose signer is its
		// origin, so GossipSub's own per-message signature would be a second
		// Ed25519 signature to make and check at every hop. We turn it off
		// (StrictNoSign also drops any message that carries one) and name
		// messages by content, as Ethereum's consensus layer does.
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		// Nor an author or sequence number: other implementations'
		// StrictNoSign drops a message that carries them, and the
		// envelope's signer and seq already say both
		// (docs/protocol/gossip-2.md, version note). WithNoAuthor sets
		// StrictNoSign too; it stays above to say the policy.
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(contentID),
		pubsub.WithFloodPublish(r.cfg.FloodPublish),
		// An RPC may batch several messages; each message is held to
		// MaxMessageBytes by the validators.
		pubsub.WithMaxMessageSize(max(1<<20, 4*r.cfg.MaxMessageBytes)),
		// Messages wait here for a validator; past the queue they are
		// dropped unread, honest ones with the rest, and nobody is scored
		// down. GossipSub's 32 overflowed under a burst of a few dozen bad
		// messages on a loaded machine; a flooder is graylisted after a
		// handful, so a deeper queue rides out the burst.
		pubsub.WithValidateQueueSize(validateQueue),
	}
	if r.cfg.PeerScoring {
		var wire []string
		for _, name := range r.scoredTopics() {
			wire = append(wire, r.wireTopic(name))
		}
		params, thresholds := scoreParams(wire, r.appScore)
		opts = append(opts, pubsub.WithPeerScore(params, thresholds),
			pubsub.WithPeerScoreInspect(r.setScores, time.Second))
	}
	// GossipSub lives until Close, not until the caller's ctx ends.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	ps, err := pubsub.NewGossipSub(runCtx, r.host, opts...)
	if err != nil {
		cancel()
		return fmt.Errorf("start gossipsub: %w", err)
	}
	r.ps = ps
	for _, name := range r.join {
		if err := r.subscribe(name); err != nil {
			cancel()
			return err
		}
	}
	annCtx, stopAnnounce := context.WithCancel(runCtx)
	r.stopAnnounce = stopAnnounce
	r.wg.Add(1)
	go r.announce(annCtx)
	return nil
}

// Close stops what Start started, in reverse: the announcer, the readers
// (waited for), the topics, then GossipSub. It is safe to call on a router
// that did not start, and more than once.
func (r *Router) Close() error {
	if r.cancel == nil {
		return nil // not started, or closed
	}
	if r.stopAnnounce != nil {
		r.stopAnnounce()
	}
	// Readers exit once their subscription is closed; only then may the
	// topics close, since GossipSub refuses to close a subscribed topic.
	r.tmu.Lock()
	for name, s := range r.subs {
		s.Cancel()
		delete(r.subs, name)
	}
	r.tmu.Unlock()
	r.wg.Wait()
	var errs []error
	r.tmu.Lock()
	for _, t := range r.topics {
		errs = append(errs, t.Close())
	}
	r.tmu.Unlock()
	r.cancel() // stops GossipSub
	r.cancel = nil
	return errors.Join(errs...)
}

// PubSub exposes the underlying GossipSub, for benchmarks that compare a bare
// topic with ours on the same router.
func (r *Router) PubSub() *pubsub.PubSub { return r.ps }

// Presence returns the peers this node has heard heartbeats from.
func (r *Router) Presence() *Presence { return r.presence }

// Publish signs msg in an envelope with this node's key and publishes it on topic.
func (r *Router) Publish(ctx context.Context, topic string, msg Message) error {
	return r.PublishAll(ctx, []string{topic}, msg)
}

// PublishAll signs msg once and publishes the same envelope on every topic
// of topics (a heartbeat on its shards and the version 2 topic), returning
// every topic's error.
func (r *Router) PublishAll(ctx context.Context, topics []string, msg Message) error {
	ts := make([]*pubsub.Topic, 0, len(topics))
	for _, name := range topics {
		t, err := r.publishTopic(name)
		if err != nil {
			return err
		}
		ts = append(ts, t)
	}
	data, err := Encode(msg, r.key)
	if err != nil {
		return err
	}
	if len(data) > r.cfg.MaxMessageBytes {
		return fmt.Errorf("publish on %s: %w: %d bytes", strings.Join(topics, ", "), ErrTooLarge, len(data))
	}
	var errs []error
	for i, t := range ts {
		if err := t.Publish(ctx, data); err != nil {
			errs = append(errs, fmt.Errorf("publish on %s: %w", topics[i], err))
			continue
		}
		r.published.Add(1)
	}
	return errors.Join(errs...)
}

// TopicPeers returns the peers this node knows to be subscribed to topic.
// A topic it has not joined (a shard it has not published on yet) is
// answered from the subscriptions its peers announced.
func (r *Router) TopicPeers(topic string) []peer.ID {
	r.tmu.Lock()
	t, ok := r.topics[topic]
	r.tmu.Unlock()
	if ok {
		return t.ListPeers()
	}
	if r.ps != nil {
		return r.ps.ListPeers(r.wireTopic(topic))
	}
	return nil
}

// setScores keeps GossipSub's latest peer scores for PeerScore.
func (r *Router) setScores(m map[peer.ID]float64) { r.scores.Store(&m) }

// PeerScore returns GossipSub's score for p as of the last second, and
// whether it has one (scoring on and p known).
func (r *Router) PeerScore(p peer.ID) (float64, bool) {
	m := r.scores.Load()
	if m == nil {
		return 0, false
	}
	s, ok := (*m)[p]
	return s, ok
}

// Stats returns the validators' counts so far.
func (r *Router) Stats() Stats {
	r.rejMu.Lock()
	defer r.rejMu.Unlock()
	rej := make(map[string]uint64, len(r.rejected))
	for k, v := range r.rejected {
		rej[k] = v
	}
	by := make(map[string]uint64, len(r.byTopic))
	for k, v := range r.byTopic {
		by[k] = v
	}
	return Stats{Accepted: r.accepted.Load(), Ignored: r.ignored.Load(), Rejected: rej, Published: r.published.Load(), ByTopic: by}
}

// validator decodes and checks every message on topic before GossipSub
// forwards it. Rejected messages count against their sender's score; stale
// ones are ignored without penalty since honest peers can forward them late.
func (r *Router) validator(topic string) pubsub.ValidatorEx {
	return func(_ context.Context, _ peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		r.mu.RLock()
		types := r.types[topic]
		r.mu.RUnlock()
		msg, from, err := Decode(m.GetData(), types, r.now(), r.cfg.MaxMessageBytes, time.Duration(r.cfg.MaxClockSkew))
		if errors.Is(err, ErrExpired) {
			r.ignored.Add(1)
			return pubsub.ValidationIgnore
		}
		if err != nil {
			r.reject(topic, m.ReceivedFrom, err)
			return pubsub.ValidationReject
		}
		if s, ok := msg.(Sequenced); ok && !r.newer(topic, msg, from, s.Sequence()) {
			r.ignored.Add(1)
			return pubsub.ValidationIgnore
		}
		if !r.admit(topic, msg, from) {
			// Ignored, not rejected: another node may have had a token
			// for it and passed it on honestly (see scoreParams). The
			// signer pays, through the app score, for what it sends us
			// itself.
			if m.ReceivedFrom != from {
				r.ignored.Add(1)
				return pubsub.ValidationIgnore
			}
			r.overflow(from)
			r.reject(topic, m.ReceivedFrom, fmt.Errorf("%w: %s from %s", ErrRateLimited, msg.Codec(), from))
			return pubsub.ValidationIgnore
		}
		m.ValidatorData = Received{Topic: topic, From: from, Msg: msg}
		r.accepted.Add(1)
		r.rejMu.Lock()
		r.byTopic[topic]++
		r.rejMu.Unlock()
		return pubsub.ValidationAccept
	}
}

// newer records seq as the latest from (topic, type, from) if it is newer
// than the last one accepted.
func (r *Router) newer(topic string, msg Message, from peer.ID, seq uint64) bool {
	k := seqKey{topic: topic, codec: string(msg.Codec()), from: from}
	if kk, ok := msg.(SequenceKeyed); ok {
		k.key = kk.SequenceKey()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq <= r.lastSeq[k].seq {
		return false
	}
	r.lastSeq[k] = seqSeen{seq: seq, at: r.now()}
	return true
}

// admit takes one token from the signer's bucket for msg's type on topic,
// if the type is limited there.
func (r *Router) admit(topic string, msg Message, from peer.ID) bool {
	if from == r.host.ID() {
		return true // our own messages: the user decides how many
	}
	k := seqKey{topic: topic, codec: string(msg.Codec())}
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.limits[k]
	if !ok {
		return true
	}
	k.from = from
	b := r.buckets[k]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Every(l.Every), l.Burst)}
		r.buckets[k] = b
	}
	now := r.now()
	b.used = now
	return b.lim.AllowN(now, 1)
}

// overflowCount is how many messages over its rate limit a peer sent us
// itself, decayed as of at.
type overflowCount struct {
	n  float64
	at time.Time
}

// decayed is c's count at now: it falls to 1% in invalidDecay, as P4 does.
func (c overflowCount) decayed(now time.Time) float64 {
	return c.n * math.Pow(0.01, float64(now.Sub(c.at))/float64(invalidDecay))
}

// overflow counts one message over its rate limit that p sent us itself.
func (r *Router) overflow(p peer.ID) {
	now := r.now()
	r.rejMu.Lock()
	defer r.rejMu.Unlock()
	r.overflows[p] = overflowCount{n: r.overflows[p].decayed(now) + 1, at: now}
}

// appScore is GossipSub's application-specific score of p: minus the
// square of its decayed rate-limit overflow, at P4's weight.
func (r *Router) appScore(p peer.ID) float64 {
	r.rejMu.Lock()
	c, ok := r.overflows[p]
	r.rejMu.Unlock()
	if !ok {
		return 0
	}
	n := c.decayed(r.now())
	return invalidWeight * n * n
}

// forgetOldSeqs drops sequence numbers and rate buckets not used within
// seqMemory, and rate-limit overflows decayed to nothing, so the tables
// stay as small as the set of recently active senders.
func (r *Router) forgetOldSeqs(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, v := range r.lastSeq {
		if now.Sub(v.at) > seqMemory {
			delete(r.lastSeq, k)
		}
	}
	for k, b := range r.buckets {
		if now.Sub(b.used) > seqMemory {
			delete(r.buckets, k)
		}
	}
	r.rejMu.Lock()
	defer r.rejMu.Unlock()
	for p, c := range r.overflows {
		if c.decayed(now) < 0.01 {
			delete(r.overflows, p)
		}
	}
}

// contentID names a message by the hash of its bytes: with no GossipSub
// signature there is no (origin, seqno) pair, and an identical replay within
// the seen-cache window is dropped as a duplicate.
//
// On a version 3 jobs or capacity shard the topic's wire name is hashed
// first (sha256(topic, 0x00, data)): a requester publishes the same signed
// request on several shards, a provider the same heartbeat on each of its
// shards, and with the bytes alone as its name the router's seen cache
// would send it on the first topic only (docs/protocol/gossip-3.md).
func contentID(m *pb.Message) string {
	h := sha256.New()
	if t := m.GetTopic(); strings.Contains(t, shardWireMark) || strings.Contains(t, capacityWireMark) {
		h.Write([]byte(t))
		h.Write([]byte{0})
	}
	h.Write(m.GetData())
	return string(h.Sum(nil)[:20])
}

// shardWireMark is in the wire name of every version 3 jobs shard, on any
// network: "<prefix>/jobs/3/<pool>/<region>".
const shardWireMark = "/jobs/3/"

// reject counts a rejected message and logs it, at most one warning every
// ten seconds so a flood of garbage cannot flood the log too. via is the peer
// that forwarded it, whom GossipSub's scoring penalises.
func (r *Router) reject(topic string, via peer.ID, err error) {
	label := "other"
	for _, rr := range rejectReasons {
		if errors.Is(err, rr.err) {
			label = rr.label
			break
		}
	}
	r.rejMu.Lock()
	r.rejected[label]++
	warn := time.Since(r.lastWarn) > 10*time.Second
	if warn {
		r.lastWarn = time.Now()
	}
	r.rejMu.Unlock()
	level := slog.LevelDebug
	if warn {
		level = slog.LevelWarn
	}
	r.log.Log(context.Background(), level, "dropped gossip message", "topic", topic, "via", via.String(), "reason", label, "err", err)
}

// read delivers validated messages on one topic to its handlers until ctx
// ends or the subscription is cancelled.
func (r *Router) read(ctx context.Context, topic string, sub *pubsub.Subscription) {
	defer r.wg.Done()
	self := r.host.ID()
	for {
		m, err := sub.Next(ctx)
		if err != nil {
			return
		}
		if m.ReceivedFrom == self {
			continue
		}
		rcv, ok := m.ValidatorData.(Received)
		if !ok {
			continue
		}
		if hb, ok := rcv.Msg.(*Heartbeat); ok {
			r.presence.observe(rcv.From, hb)
		}
		r.mu.RLock()
		hs := r.handlers[topic]
		r.mu.RUnlock()
		for _, h := range hs {
			h(rcv)
		}
	}
}

// announce publishes a heartbeat at once, again two seconds later (the
// first usually goes out before any mesh has formed), then every
// HeartbeatInterval until ctx ends, on every heartbeat topic.
func (r *Router) announce(ctx context.Context) {
	defer r.wg.Done()
	every := time.Duration(r.cfg.HeartbeatInterval)
	t := time.NewTimer(min(2*time.Second, every))
	defer t.Stop()
	for {
		now := r.now()
		r.forgetOldSeqs(now)
		if topics := r.HeartbeatTopics(); len(topics) > 0 {
			hb := r.presence.next(now, every)
			if err := r.PublishAll(ctx, topics, hb); err != nil && ctx.Err() == nil {
				r.log.Debug("publish heartbeat", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			t.Reset(every)
		}
	}
}
