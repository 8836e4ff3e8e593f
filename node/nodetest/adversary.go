package nodetest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/record"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/p2p/frame"
)

// BidProtocol is the stream protocol on which providers send bids to a
// requester (market.BidProtocol, named here so that the harness needs no
// scheduler import).
const BidProtocol = protocol.ID("/gpumesh/bid/1")

// Attacker is a bad actor for adversarial tests: a bare libp2p host on
// loopback with its own identity and its own GossipSub, joined to the
// gpumesh topics under their real names and with the nodes' message
// policy (no GossipSub signature), but with no checks, rate limits or
// scores of its own. It records every message it receives (Captured) and
// forwards none, so that what the nodes get from it is only what the test
// has it send. It can put any bytes on any topic or stream protocol: the
// methods and functions below say what each knob does. Create attackers
// with NewAttacker or Sybils; the test's cleanup closes them.
type Attacker struct {
	host   host.Host
	key    crypto.PrivKey
	ps     *pubsub.PubSub
	topics map[string]*pubsub.Topic
	cancel context.CancelFunc
	seq    atomic.Uint64
	wg     sync.WaitGroup

	gen   atomic.Uint64 // of message IDs, see newAttacker
	trace meshTracer    // its GossipSub mesh (MeshSize)

	mu       sync.Mutex
	captured []Captured
	seen     map[string]bool // topic and bytes of each captured
}

// Captured is a message an attacker received: on a gossip topic it
// subscribed to, or on a stream protocol it serves (see AttackerOptions).
type Captured struct {
	// Topic is the gossip topic, or the stream protocol, it came on.
	Topic string
	// From is the peer that handed it to the attacker (on gossip, the
	// forwarder, not necessarily its signer).
	From peer.ID
	// Data is the message's bytes as they travelled (the frame's contents
	// on a stream).
	Data []byte
	// At is when it arrived.
	At time.Time
}

// AttackerOptions tune an attacker.
type AttackerOptions struct {
	// Key is the attacker's identity; a fresh Ed25519 key when nil.
	Key crypto.PrivKey
	// AnswerBids serves BidProtocol like a requester: every bid is
	// captured and answered with an OK Ack, so providers keep it open as
	// if the attacker might award it. Off, the attacker serves no
	// protocol and every bid sent to it fails at once.
	AnswerBids bool
	// StallBids serves BidProtocol and captures every bid, but never
	// answers: the provider's bid waits for its deadline. It takes
	// precedence over AnswerBids.
	StallBids bool
	// Host, if set, are the attacker's libp2p options in place of the
	// default listener on a free loopback TCP port: a host on a Sim's
	// simulated network (Sim.Sybil).
	Host []libp2p.Option
	// Topics are gossip topics the attacker joins beside gossip.Topics,
	// e.g. every sharded jobs and capacity topic (ShardTopics).
	Topics []string
}

// NewAttacker starts an attacker: a host listening on a free loopback
// port and a GossipSub joined to every topic in gossip.Topics, recording
// each message it receives. It joins no node: call Join.
func NewAttacker(t TB, opts AttackerOptions) *Attacker {
	t.Helper()
	a, err := newAttacker(opts)
	if err != nil {
		t.Fatalf("start attacker: %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

// Sybils starts n attackers at once, each with its own identity: a Sybil
// group whose members the network cannot tell apart from n honest
// newcomers.
func Sybils(t TB, n int, opts AttackerOptions) []*Attacker {
	t.Helper()
	out := make([]*Attacker, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			o := opts
			o.Key = nil // one identity each
			out[i], errs[i] = newAttacker(o)
		})
	}
	wg.Wait()
	for _, a := range out {
		if a != nil {
			t.Cleanup(a.Close)
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("start sybils: %v", err)
	}
	return out
}

func newAttacker(opts AttackerOptions) (*Attacker, error) {
	key := opts.Key
	if key == nil {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			return nil, err
		}
		key = k
	}
	hostOpts := opts.Host
	if hostOpts == nil {
		hostOpts = []libp2p.Option{libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0")}
	}
	h, err := libp2p.New(append([]libp2p.Option{libp2p.Identity(key)}, hostOpts...)...)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &Attacker{host: h, key: key, cancel: cancel, topics: map[string]*pubsub.Topic{}, seen: map[string]bool{}}
	// A message's ID is its content's hash, as on the nodes, with a
	// generation that each publish of the attacker's own moves on: its
	// GossipSub then sends the same bytes as often as it is told to (a
	// replay), where the nodes, naming messages by content alone, must
	// catch that themselves.
	ps, err := pubsub.NewGossipSub(ctx, h,
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(), // as the nodes publish, and as they require
		pubsub.WithMessageIdFn(func(m *pb.Message) string {
			sum := sha256.Sum256(m.GetData())
			return string(sum[:20]) + strconv.FormatUint(a.gen.Load(), 36)
		}),
		pubsub.WithFloodPublish(true), // straight to every peer on the topic
		pubsub.WithPeerOutboundQueueSize(4096),
		pubsub.WithMaxMessageSize(4<<20),
		pubsub.WithRawTracer(&a.trace),
	)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.ps = ps
	for _, name := range slices.Concat(gossip.Topics, opts.Topics) {
		// The attacker keeps what it receives and forwards nothing: its
		// own messages are the only ones it sends.
		err := ps.RegisterTopicValidator(name, func(_ context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
			if from == h.ID() {
				return pubsub.ValidationAccept
			}
			a.record(Captured{Topic: name, From: from, Data: m.GetData(), At: time.Now()})
			return pubsub.ValidationIgnore
		}, pubsub.WithValidatorInline(true))
		if err != nil {
			a.Close()
			return nil, err
		}
		tp, err := ps.Join(name)
		if err != nil {
			a.Close()
			return nil, err
		}
		sub, err := tp.Subscribe()
		if err != nil {
			a.Close()
			return nil, err
		}
		a.topics[name] = tp
		a.wg.Go(func() {
			for { // its own messages, delivered back to it
				if _, err := sub.Next(ctx); err != nil {
					return // the attacker closed
				}
			}
		})
	}
	if opts.AnswerBids || opts.StallBids {
		h.SetStreamHandler(BidProtocol, func(s network.Stream) { a.serveBid(ctx, s, opts.StallBids) })
	}
	return a, nil
}

// serveBid captures one bid and answers it with an OK Ack, or holds the
// stream unanswered (stall) for a minute, until the attacker closes, or
// until the provider resets it.
func (a *Attacker) serveBid(ctx context.Context, s network.Stream, stall bool) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(time.Minute))
	b, err := frame.Read(bufio.NewReader(s), 1<<20)
	if err != nil {
		_ = s.Reset()
		return
	}
	a.record(Captured{Topic: string(BidProtocol), From: s.Conn().RemotePeer(), Data: b, At: time.Now()})
	if stall {
		// The provider half-closed after its bid; it now waits for an
		// answer that never comes, until its own deadline.
		t := time.NewTimer(time.Minute)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		_ = s.Reset()
		return
	}
	_ = frame.Write(s, []byte(`{"ok":true}`)) // market.Ack: taken
}

// record keeps c, unless the same bytes came on the same topic before.
func (a *Attacker) record(c Captured) {
	k := c.Topic + "\x00" + string(c.Data)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen[k] {
		return
	}
	a.seen[k] = true
	a.captured = append(a.captured, c)
}

// Close stops the attacker's GossipSub and host.
func (a *Attacker) Close() {
	a.cancel()
	a.wg.Wait()
	_ = a.host.Close()
}

// ID is the attacker's peer ID.
func (a *Attacker) ID() peer.ID { return a.host.ID() }

// Key is the attacker's private key, to sign messages as it.
func (a *Attacker) Key() crypto.PrivKey { return a.key }

// Host is the attacker's libp2p host.
func (a *Attacker) Host() host.Host { return a.host }

// Addrs are the attacker's listen addresses, as a request or bid carries them.
func (a *Attacker) Addrs() []string {
	var out []string
	for _, m := range a.host.Addrs() {
		out = append(out, m.String())
	}
	return out
}

// NextSeq is a sequence number for the attacker's next signed message:
// it starts at the clock in nanoseconds and grows by one each call, as an
// honest node's do.
func (a *Attacker) NextSeq() uint64 {
	a.seq.CompareAndSwap(0, uint64(time.Now().UnixNano()))
	return a.seq.Add(1)
}

// Join connects the attacker to each node, as a newcomer bootstrapping
// through them would. GossipSub then announces its topics to them.
func (a *Attacker) Join(ctx context.Context, nodes ...*node.Node) error {
	var errs []error
	for _, nd := range nodes {
		ai := peer.AddrInfo{ID: nd.PeerID(), Addrs: nd.Network().Host().Addrs()}
		if err := a.host.Connect(ctx, ai); err != nil {
			errs = append(errs, fmt.Errorf("connect to %s: %w", nd.PeerID(), err))
		}
	}
	return errors.Join(errs...)
}

// WaitTopics waits until every node lists the attacker as a peer on every
// gossip topic (and the attacker them), so what it publishes reaches them.
func (a *Attacker) WaitTopics(t TB, timeout time.Duration, nodes ...*node.Node) {
	t.Helper()
	var missing string
	WaitFor(t, timeout, func() bool {
		for _, name := range gossip.Topics {
			mine := a.topics[name].ListPeers()
			for i, nd := range nodes {
				if !slices.Contains(nd.Gossip().TopicPeers(name), a.ID()) || !slices.Contains(mine, nd.PeerID()) {
					missing = fmt.Sprintf("attacker %s and node %d are not peers on %s", a.ID(), i, name)
					return false
				}
			}
		}
		return true
	}, func() string { return missing })
}

// PublishRaw puts data on topic as it is: garbage, an oversized message,
// a forged or replayed envelope. The nodes' validators see it as it is.
func (a *Attacker) PublishRaw(ctx context.Context, topic string, data []byte) error {
	tp, ok := a.topics[topic]
	if !ok {
		return fmt.Errorf("attacker: not joined to topic %q", topic)
	}
	a.gen.Add(1)
	return tp.Publish(ctx, data)
}

// Publish signs msg with the attacker's own key and puts it on topic: a
// validly signed message, which the nodes judge by its contents and their
// rate limits.
func (a *Attacker) Publish(ctx context.Context, topic string, msg gossip.Message) error {
	data, err := gossip.Encode(msg, a.key)
	if err != nil {
		return err
	}
	return a.PublishRaw(ctx, topic, data)
}

// Flood publishes n messages on topic, next(i) making the i-th (signed
// with the attacker's key), one every interval (as fast as it can when
// interval is 0). It returns how many went out; it stops at the first
// error or when ctx ends.
func (a *Attacker) Flood(ctx context.Context, topic string, n int, interval time.Duration, next func(i int) gossip.Message) (int, error) {
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for i := range n {
		if err := a.Publish(ctx, topic, next(i)); err != nil {
			return i, err
		}
		if tick != nil && i < n-1 {
			select {
			case <-tick:
			case <-ctx.Done():
				return i + 1, ctx.Err()
			}
		}
	}
	return n, nil
}

// Replay re-publishes a message captured earlier (by this attacker or
// another: a replay from a different peer) byte for byte. The nodes
// name messages by content, so within GossipSub's seen-cache window they
// drop it unread; Rewrap gets a replay past that.
func (a *Attacker) Replay(ctx context.Context, c Captured) error {
	return a.PublishRaw(ctx, c.Topic, c.Data)
}

// Captured returns the messages received on topic (a gossip topic or a
// stream protocol) so far, oldest first.
func (a *Attacker) Captured(topic string) []Captured {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Captured
	for _, c := range a.captured {
		if c.Topic == topic {
			out = append(out, c)
		}
	}
	return out
}

// WaitCaptured waits until a message on topic satisfies match (any, when
// nil) and returns the first that does.
func (a *Attacker) WaitCaptured(t TB, topic string, timeout time.Duration, match func(Captured) bool) Captured {
	t.Helper()
	var got Captured
	WaitFor(t, timeout, func() bool {
		for _, c := range a.Captured(topic) {
			if match == nil || match(c) {
				got = c
				return true
			}
		}
		return false
	}, func() string {
		return fmt.Sprintf("attacker %s captured %d messages on %s, none matching", a.ID(), len(a.Captured(topic)), topic)
	})
	return got
}

// StreamResult is how a node answered what an attacker sent on a stream.
type StreamResult struct {
	// Answer is what the node wrote back before the stream ended.
	Answer []byte
	// Reset is whether the node reset the stream (rather than closing it).
	Reset bool
	// Err is the error that ended the exchange: opening the stream,
	// writing, or reading the answer (io.EOF-free: a clean close is nil).
	Err error
	// Took is how long the exchange lasted, from the stream's opening to
	// its end.
	Took time.Duration
}

// Refused reports whether the node turned the message down: it reset
// the stream, closed it without an answer, answered an award with a
// signed decline, or answered with an Ack (or any JSON answer) whose
// "ok" is false or that carries an "error".
func (r StreamResult) Refused() bool {
	if r.Reset || r.Err != nil || len(r.Answer) == 0 {
		return true
	}
	b, err := frame.Read(bufio.NewReader(bytes.NewReader(r.Answer)), len(r.Answer))
	if err != nil {
		return true
	}
	// A signed answer to an award: a decline refuses it.
	if msg, _, err := gossip.Decode(b, []gossip.Type{gossip.AcceptType, gossip.DeclineType}, time.Now(), len(b), time.Minute); err == nil {
		_, declined := msg.(*gossip.Decline)
		return declined
	}
	var ack struct {
		OK    *bool  `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &ack) != nil {
		return false // an answer that is no Ack: a proof's commitment
	}
	return ack.Error != "" || (ack.OK != nil && !*ack.OK)
}

// Send opens a stream of proto to p, writes raw as it is (frames from
// Frame, a bare FrameHeader, garbage), closes its side and reads what
// comes back (at most 1 MiB) until the node closes or resets the stream,
// or ctx ends.
func (a *Attacker) Send(ctx context.Context, p peer.ID, proto protocol.ID, raw []byte) StreamResult {
	return a.exchange(ctx, p, proto, raw, true)
}

// Hold opens a stream of proto to p, writes prefix (nothing, a frame
// header promising more than a limit, half a message) and then neither
// writes more nor closes its side: a slow or stalled peer. It returns
// once the node ends the stream, which a handler with a deadline or a
// size check does on its own, or when ctx ends (Err then says so).
func (a *Attacker) Hold(ctx context.Context, p peer.ID, proto protocol.ID, prefix []byte) StreamResult {
	return a.exchange(ctx, p, proto, prefix, false)
}

func (a *Attacker) exchange(ctx context.Context, p peer.ID, proto protocol.ID, raw []byte, closeWrite bool) StreamResult {
	start := time.Now()
	s, err := a.host.NewStream(ctx, p, proto)
	if err != nil {
		return StreamResult{Err: fmt.Errorf("open %s: %w", proto, err), Took: time.Since(start)}
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	var res StreamResult
	if len(raw) > 0 {
		if _, err := s.Write(raw); err != nil {
			res.Err = fmt.Errorf("write: %w", err)
		}
	}
	if closeWrite {
		_ = s.CloseWrite()
	}
	res.Answer, err = io.ReadAll(io.LimitReader(s, 1<<20))
	res.Took = time.Since(start)
	switch {
	case ctx.Err() != nil:
		res.Err = fmt.Errorf("the node kept the stream open: %w", ctx.Err())
	case errors.Is(err, network.ErrReset):
		res.Reset = true
	case err != nil && res.Err == nil:
		res.Err = err
	}
	return res
}

// Frame is b as a stream message: its length as a uvarint, then b.
func Frame(b []byte) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(b))), b...)
}

// FrameHeader is the length prefix of a frame of n bytes, alone: sent
// with a few bytes after it, it claims a message the sender never sends
// in full, which a reader must refuse before reading when n is over its
// limit.
func FrameHeader(n uint64) []byte { return binary.AppendUvarint(nil, n) }

// Tamper returns a copy of the envelope data with one byte of its signed
// payload changed (a digit or letter swapped for another, so the payload
// still parses): the envelope is well formed and names its signer, but
// its signature no longer verifies. It is a message edited after signing.
func Tamper(data []byte) ([]byte, error) {
	env, err := record.UnmarshalEnvelope(data)
	if err != nil {
		return nil, err
	}
	i := bytes.Index(data, env.RawPayload)
	if i < 0 || len(env.RawPayload) == 0 {
		return nil, errors.New("tamper: payload not found in the envelope")
	}
	out := bytes.Clone(data)
	for j := i + len(env.RawPayload) - 1; j >= i; j-- {
		switch c := out[j]; {
		case c >= '0' && c <= '8', c >= 'a' && c <= 'e':
			out[j] = c + 1
			return out, nil
		case c == '9', c == 'f':
			out[j] = c - 1
			return out, nil
		}
	}
	return nil, errors.New("tamper: no digit to change in the payload")
}

// Impersonate signs msg with key but names victim's public key in the
// envelope: a message claiming to come from victim, whose signature does
// not verify under the key it names. Both keys must be of one type (the
// envelope keeps its layout).
func Impersonate(msg gossip.Message, key crypto.PrivKey, victim crypto.PubKey) ([]byte, error) {
	data, err := gossip.Encode(msg, key)
	if err != nil {
		return nil, err
	}
	own, err := crypto.MarshalPublicKey(key.GetPublic())
	if err != nil {
		return nil, err
	}
	theirs, err := crypto.MarshalPublicKey(victim)
	if err != nil {
		return nil, err
	}
	if len(own) != len(theirs) || !bytes.Contains(data, own) {
		return nil, errors.New("impersonate: keys of different types")
	}
	return bytes.Replace(data, own, theirs, 1), nil
}

// Rewrap returns the envelope data with an unknown protobuf field (number
// 15, value n) appended: the same signed payload under the same valid
// signature, in other bytes. A replay rewrapped this way has a content ID
// GossipSub has not seen, so only the node's own checks can catch it.
func Rewrap(data []byte, n uint64) []byte {
	return binary.AppendUvarint(append(bytes.Clone(data), 15<<3), n)
}

// Garbage returns n bytes of random noise: no envelope, no frame.
func Garbage(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// PublicKey returns nd's public key, for Impersonate.
func PublicKey(nd *node.Node) crypto.PubKey {
	return nd.Network().Host().Peerstore().PubKey(nd.PeerID())
}
