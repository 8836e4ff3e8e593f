package gossip

import (
	"context"
	"errors"
	"fmt"
	"slices"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
)

// errNotStarted: Publish before Start.
var errNotStarted = errors.New("gossip router not started")

// scoredTopics are the topics peer scoring covers: those the router
// subscribes to, the version 2 jobs and capacity topics, every jobs shard
// (any of which it may publish on) and every capacity shard (any of which
// it may announce on, or follow for a running job).
func (r *Router) scoredTopics() []string {
	out := slices.Clone(r.join)
	all := append([]string{TopicJobs, TopicCapacity}, JobShardTopics()...)
	for _, t := range append(all, CapacityShardTopics()...) {
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

// subscribe joins and subscribes to name, if it is not yet, and starts
// its reader, which ends when the subscription is cancelled.
func (r *Router) subscribe(name string) error {
	t, err := r.joinTopic(name)
	if err != nil {
		return err
	}
	r.tmu.Lock()
	defer r.tmu.Unlock()
	if _, ok := r.subs[name]; ok {
		return nil
	}
	sub, err := t.Subscribe()
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", name, err)
	}
	r.subs[name] = sub
	r.wg.Add(1)
	// The reader ends with its subscription (Close, Resubscribe), not
	// with a context: sub.Next returns once the subscription is cancelled.
	go r.read(context.Background(), name, sub)
	return nil
}

// Resubscribe makes the router's subscriptions exactly topics, once
// started: it subscribes to those it lacks and cancels the others (their
// topics stay joined, for publishing). A provider whose offer moves to
// another region or pool moves its jobs shards this way.
func (r *Router) Resubscribe(topics []string) error {
	if r.ps == nil {
		return errNotStarted
	}
	r.tmu.Lock()
	for name, sub := range r.subs {
		if !slices.Contains(topics, name) {
			sub.Cancel()
			delete(r.subs, name)
		}
	}
	r.tmu.Unlock()
	var errs []error
	for _, name := range topics {
		errs = append(errs, r.subscribe(name))
	}
	return errors.Join(errs...)
}

// Subscriptions lists the topics the router subscribes to now, sorted.
func (r *Router) Subscriptions() []string {
	r.tmu.Lock()
	defer r.tmu.Unlock()
	out := make([]string, 0, len(r.subs))
	for name := range r.subs {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
