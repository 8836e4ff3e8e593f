package gossip

import (
	"errors"
	"fmt"
	"slices"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
)

// errNotStarted: Publish before Start.
var errNotStarted = errors.New("gossip router not started")

// scoredTopics are the topics peer scoring covers: those the router
// subscribes to, the version 2 jobs topic and every jobs shard (any of
// which it may publish on).
func (r *Router) scoredTopics() []string {
	out := slices.Clone(r.join)
	for _, t := range append([]string{TopicJobs}, JobShardTopics()...) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// joinTopic registers topic's validator and joins it, once; the caller
// subscribes if it wants its messages.
func (r *Router) joinTopic(name string) (*pubsub.Topic, error) {
	r.tmu.Lock()
	defer r.tmu.Unlock()
	if t, ok := r.topics[name]; ok {
		return t, nil
	}
	// Inline: our validators only compute (decode, verify a signature),
	// so a goroutine per message would cost more than it saves.
	if err := r.ps.RegisterTopicValidator(r.wireTopic(name), r.validator(name), pubsub.WithValidatorInline(true)); err != nil {
		return nil, fmt.Errorf("register validator for %s: %w", name, err)
	}
	t, err := r.ps.Join(r.wireTopic(name))
	if err != nil {
		return nil, fmt.Errorf("join %s: %w", name, err)
	}
	r.topics[name] = t
	return t, nil
}

// publishTopic is the joined topic to publish on: one joined at Start, or
// a topic that some message type is allowed on (Allow), joined now without
// subscribing, so that GossipSub sends to its peers as a fanout.
func (r *Router) publishTopic(name string) (*pubsub.Topic, error) {
	r.tmu.Lock()
	t, ok := r.topics[name]
	r.tmu.Unlock()
	if ok {
		return t, nil
	}
	r.mu.RLock()
	allowed := len(r.types[name]) > 0
	r.mu.RUnlock()
	if !allowed || r.ps == nil {
		if r.ps == nil {
			return nil, fmt.Errorf("publish on %q: %w", name, errNotStarted)
		}
		return nil, fmt.Errorf("publish: not joined to topic %q", name)
	}
	return r.joinTopic(name)
}
