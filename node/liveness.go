package node

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/gpu"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// capWatch is the set of capacity shards this node follows for its
// running jobs' providers, each with when it began following it.
type capWatch struct {
	mu      sync.Mutex
	since   map[string]time.Time
	members map[peer.ID]bool // running clusters' providers, connections protected
}

// clusterTag protects the connections to a running cluster's providers
// from the connection manager's trimming: their heartbeats reach the
// requester over them (a provider publishes on its capacity shards to the
// subscribers it is connected to), and so do its direct exchanges.
const clusterTag = "gpumesh-cluster"

// setMembers makes the protected members exactly want and returns those
// to protect and to unprotect.
func (w *capWatch) setMembers(want []peer.ID) (add, drop []peer.ID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.members == nil {
		w.members = map[peer.ID]bool{}
	}
	for p := range w.members {
		if !slices.Contains(want, p) {
			delete(w.members, p)
			drop = append(drop, p)
		}
	}
	for _, p := range want {
		if !w.members[p] {
			w.members[p] = true
			add = append(add, p)
		}
	}
	return add, drop
}

// topics lists the followed shards, sorted.
func (w *capWatch) topics() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.since))
	for t := range w.since {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// set makes the followed shards exactly want, those new since now, and
// reports whether the set changed.
func (w *capWatch) set(want []string, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.since == nil {
		w.since = map[string]time.Time{}
	}
	changed := false
	for t := range w.since {
		if !slices.Contains(want, t) {
			delete(w.since, t)
			changed = true
		}
	}
	for _, t := range want {
		if _, ok := w.since[t]; !ok {
			w.since[t] = now
			changed = true
		}
	}
	return changed
}

// young reports whether any of topics has been followed for less than
// grace at now: its mesh may not have carried a heartbeat yet.
func (w *capWatch) young(topics []string, now time.Time, grace time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range topics {
		if at, ok := w.since[t]; ok && now.Sub(at) < grace {
			return true
		}
	}
	return false
}

// formedWatch is how long a cluster that formed but runs no work (a job
// submitted through the market alone) is watched.
const formedWatch = time.Hour

// running reports whether j is a cluster of this node's whose providers'
// liveness it scores at now: one running work, or formed within the last
// formedWatch (a formed job's state stays formed until work runs on it).
func running(j market.JobView, now time.Time) bool {
	if j.FormedAt == nil {
		return false
	}
	return j.State == market.StateRunning || (j.State == market.StateFormed && now.Sub(*j.FormedAt) <= formedWatch)
}

// memberTopics are the capacity shards a provider of j with class
// announces itself on (a provider's shards are its pool's, in the regions
// j asked for; every region when it asked for none).
func memberTopics(j market.JobView, class string) []string {
	return gossip.WatchCapacityTopics([]string{gpu.Pool(class)}, j.Spec.Regions)
}

// jobCapacityTopics are the capacity shards of this node's running jobs'
// providers, sorted and deduplicated; none with gossip.job_shards off
// (every heartbeat arrives on the version 2 topic).
func (n *Node) jobCapacityTopics(now time.Time) []string {
	if !n.cfg.Gossip.JobShards {
		return nil
	}
	return watchTopics(n.jobs.Jobs(), now)
}

// watchTopics are the capacity shards of the providers of jobs that are
// running at now, sorted and deduplicated.
func watchTopics(jobs []market.JobView, now time.Time) []string {
	var out []string
	for _, j := range jobs {
		if !running(j, now) {
			continue
		}
		for _, mb := range j.Cluster {
			for _, t := range memberTopics(j, mb.Class) {
				if !slices.Contains(out, t) {
					out = append(out, t)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// runningMembers are the providers of this node's running clusters.
func runningMembers(jobs []market.JobView, now time.Time) []peer.ID {
	var out []peer.ID
	for _, j := range jobs {
		if !running(j, now) {
			continue
		}
		for _, mb := range j.Cluster {
			if p, err := peer.Decode(mb.Peer); err == nil && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// followJobs subscribes this node to its running jobs' capacity shards and
// protects its connections to their providers, and undoes both for jobs
// that ended.
func (n *Node) followJobs(now time.Time) {
	cm := n.net.Host().ConnManager()
	add, drop := n.watch.setMembers(runningMembers(n.jobs.Jobs(), now))
	for _, p := range add {
		cm.Protect(p, clusterTag)
	}
	for _, p := range drop {
		cm.Unprotect(p, clusterTag)
	}
	if !n.watch.set(n.jobCapacityTopics(now), now) {
		return
	}
	if err := n.gossip.Resubscribe(n.gossipTopics()); err != nil {
		n.log.Warn("could not follow the running jobs' capacity shards", "err", err)
	}
}

// watchHeartbeats follows the capacity shards of this node's running
// jobs (checked every two seconds, or every heartbeat interval if
// shorter) and scores the heartbeat adherence of their providers every
// three heartbeat intervals: each check finds a heartbeat within two
// intervals, or counts a miss. It ends with ctx.
func (n *Node) watchHeartbeats(ctx context.Context) {
	hb := time.Duration(n.cfg.Gossip.HeartbeatInterval)
	score := time.NewTicker(3 * hb)
	defer score.Stop()
	follow := time.NewTicker(min(2*time.Second, hb))
	defer follow.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-follow.C:
			n.followJobs(now)
		case now := <-score.C:
			n.followJobs(now)
			n.scoreHeartbeats(now)
		}
	}
}

// scoreHeartbeats records, for every provider of a running job, whether
// it was heard within two intervals: its latest heartbeat, or a direct
// coordinate exchange (a provider whose heartbeats stop arriving is asked
// directly, coordx.go). A provider not heard on a shard followed for less
// than two intervals is not scored yet: its heartbeats may not have
// reached this node so far.
func (n *Node) scoreHeartbeats(now time.Time) {
	hb := time.Duration(n.cfg.Gossip.HeartbeatInterval)
	for _, j := range n.jobs.Jobs() {
		if !running(j, now) {
			continue
		}
		for _, mb := range j.Cluster {
			p, err := peer.Decode(mb.Peer)
			if err != nil {
				continue
			}
			at, _, ok := n.LastHeard(p)
			switch {
			case ok && now.Sub(at) <= 2*hb:
				n.book.Record(p, reputation.HeartbeatOnTime, "")
			case n.watch.young(memberTopics(j, mb.Class), now, 2*hb):
			default:
				n.book.Record(p, reputation.HeartbeatMissed, "")
			}
		}
	}
}
