package gossip

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
)

// Topic names, versioned in their last element.
//
// Changelog:
//   - 1: messages published with GossipSub's from and seqno set.
//   - 2: published without them (pubsub.WithNoAuthor), and any message that
//     carries them refused, as every StrictNoSign implementation does. A
//     version 2 node would refuse, and score down, a version 1 node's
//     messages, so the topics moved rather than mix (docs/protocol/gossip-2.md).
//   - 3: job requests on shards, gpumesh/jobs/3/<pool>/<region> (shard.go),
//     with message IDs that hash the topic too; gpumesh/jobs/2 kept beside
//     them while gossip.legacy_jobs_topic is on. Capacity and anchors stay
//     at 2 (docs/protocol/gossip-3.md).
const (
	// TopicJobs carries job requests.
	TopicJobs = "gpumesh/jobs/2"
	// TopicCapacity carries capacity heartbeats.
	TopicCapacity = "gpumesh/capacity/2"
	// TopicAnchors carries anchor announcements.
	TopicAnchors = "gpumesh/anchors/2"
)

// Topics lists the topics a version 2 node joins, and a Router's default
// (WithTopics); a version 3 node joins capacity, anchors and its jobs
// shards (and TopicJobs while gossip.legacy_jobs_topic is on).
var Topics = []string{TopicJobs, TopicCapacity, TopicAnchors}

// Errors returned by Decode. Each rejected message matches exactly one.
var (
	// ErrTooLarge: the message is over the size limit.
	ErrTooLarge = errors.New("message too large")
	// ErrMalformed: the bytes are not a signed envelope, or its payload does not parse.
	ErrMalformed = errors.New("malformed message")
	// ErrUnknownType: the envelope's payload type is not allowed on this topic.
	ErrUnknownType = errors.New("payload type not allowed on topic")
	// ErrBadSignature: the envelope's signature does not verify under its domain.
	ErrBadSignature = errors.New("bad signature")
	// ErrInvalid: the message decoded but its contents are not acceptable.
	ErrInvalid = errors.New("invalid message")
	// ErrExpired: the message is past its expiry, or dated in the future.
	ErrExpired = errors.New("message expired or from the future")
	// ErrNonCanonical: the envelope decodes, but its bytes are not the
	// ones its contents encode to (an unknown or repeated field added): a
	// validly signed message rewrapped so that its content ID is new,
	// which is how a replay gets past GossipSub's seen-message cache.
	ErrNonCanonical = errors.New("envelope not in its canonical encoding")
)

// Message is a wire message: a libp2p record with its own signature domain and
// payload type, that can check its own contents.
type Message interface {
	record.Record
	// Validate returns every problem with the message's contents at time now,
	// with maxSkew the tolerated clock difference. Expiry errors wrap ErrExpired.
	Validate(now time.Time, maxSkew time.Duration) error
}

// Type describes one kind of wire message allowed on a topic.
type Type struct {
	// Name is a short label for logs and metrics.
	Name string
	// New returns an empty message of this type to decode into.
	New func() Message
}

// codec is the payload type the type's messages carry in their envelope.
func (t Type) codec() string { return string(t.New().Codec()) }

// Encode signs msg with key in a libp2p envelope under the message's own
// domain and returns the bytes that travel on a topic.
func Encode(msg Message, key crypto.PrivKey) ([]byte, error) {
	env, err := record.Seal(msg, key)
	if err != nil {
		return nil, fmt.Errorf("sign %T: %w", msg, err)
	}
	data, err := env.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode envelope: %w", err)
	}
	return data, nil
}

// Decode turns the bytes of a gossip message into a verified Message and the
// peer that signed it, its origin. types are the message types allowed on the
// topic. Decode never panics on any input; every error wraps one of the ErrX
// values.
func Decode(data []byte, types []Type, now time.Time, maxSize int, maxSkew time.Duration) (Message, peer.ID, error) {
	if len(data) > maxSize {
		return nil, "", fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, len(data), maxSize)
	}
	env, err := record.UnmarshalEnvelope(data)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	// One message, one byte string: the signature covers the payload, not
	// the envelope around it, and every honest sender marshals the
	// envelope the one way Encode does.
	if canon, err := env.Marshal(); err != nil || !bytes.Equal(canon, data) {
		return nil, "", fmt.Errorf("%w: %d bytes, %d when re-encoded", ErrNonCanonical, len(data), len(canon))
	}
	var typ *Type
	for i := range types {
		if types[i].codec() == string(env.PayloadType) {
			typ = &types[i]
			break
		}
	}
	if typ == nil {
		return nil, "", fmt.Errorf("%w: %q", ErrUnknownType, env.PayloadType)
	}
	msg := typ.New()
	if _, err := record.ConsumeTypedEnvelope(data, msg); err != nil {
		if errors.Is(err, record.ErrInvalidSignature) {
			return nil, "", fmt.Errorf("%w: %s", ErrBadSignature, typ.Name)
		}
		return nil, "", fmt.Errorf("%w: %s: %v", ErrMalformed, typ.Name, err)
	}
	signer, err := peer.IDFromPublicKey(env.PublicKey)
	if err != nil {
		return nil, "", fmt.Errorf("%w: signer key: %v", ErrMalformed, err)
	}
	if err := msg.Validate(now, maxSkew); err != nil {
		if errors.Is(err, ErrExpired) {
			return nil, "", fmt.Errorf("%s: %w", typ.Name, err)
		}
		return nil, "", fmt.Errorf("%w: %s: %w", ErrInvalid, typ.Name, err)
	}
	return msg, signer, nil
}
