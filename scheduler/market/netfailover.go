package market

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/scheduler/run"
)

// A networked job (networked) runs its ranks on one job network, its
// subnet derived from the job's ID. When a failover replaces a provider,
// the replacement's run names the job's network (RunRequest.Network), so
// its ranks take over the lost ranks' addresses, and every other provider
// still serving the job is told, by an update the requester signs
// (run.MemberUpdate), to accept the replacement's packets from those
// addresses. In failover mode restart the update also has each of them
// start its ranks again: a torch.distributed group is not elastic.

// networked says whether a job of spec runs on a job network: a process
// job of more than one worker (providers that have no overlay run it
// without one, as before).
func networked(s Spec) bool { return s.Executor == "process" && s.Workers > 1 }

// restartsAll says whether replacing a lost provider of a job of spec
// starts every rank again.
func restartsAll(s Spec) bool { return networked(s) && s.Failover == FailoverRestart }

// networkOf is the job network a run of mb names, where it is not mb's
// request: a replacement won a failover request of its own.
func (d *driver) networkOf(mb *member) string {
	if mb.req == d.j.view.ID {
		return ""
	}
	return d.j.view.ID
}

// generation is how many times a failover changed the job network's
// members before mb's run: the failovers so far for a replacement, 0 for
// a first member (its restarts count on its provider); the job's lock is
// held.
func (d *driver) generation(mb *member) int {
	if !networked(d.j.view.Spec) || mb.attempt == 0 {
		return 0
	}
	return min(d.j.view.Failovers, run.MaxGeneration)
}

// announce tells every other provider serving w that next now holds its
// ranks on the job's network, before next runs them, and says so in the
// job's events. A provider that cannot be told is only noted: its ranks
// fail on their own if they needed the lost ones.
func (d *driver) announce(ctx context.Context, w *work, next *member) {
	j := d.j
	if !networked(j.view.Spec) {
		return
	}
	restart := restartsAll(j.view.Spec)
	j.mu.Lock()
	var others []peer.ID
	for _, o := range w.others(next) {
		if !slices.Contains(others, o.peer) {
			others = append(others, o.peer)
		}
	}
	j.mu.Unlock()
	u := run.MemberUpdate{Network: j.view.ID, Ranks: slices.Clone(next.ranks), Peer: next.peer.String(), Restart: restart}
	var mu sync.Mutex
	var told int
	var failed []string
	var wg sync.WaitGroup
	for _, p := range others {
		wg.Go(func() {
			up := u
			up.Seq, up.Sent = d.nextSeq(), time.Now()
			err := run.SendMember(ctx, d.d.Host, d.d.Key, p, &up)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed = append(failed, short(p)+": "+trim(err.Error()))
				return
			}
			told++
		})
	}
	wg.Wait()
	what := "the other ranks go on (failover replace)"
	if restart {
		what = "every other rank starts again (failover restart)"
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.event(EventNetworkMember, next.peer, "job network: ranks %v now run on %s at the same addresses; %d of %d other providers told; %s",
		next.ranks, short(next.peer), told, len(others), what)
	for _, f := range failed {
		j.event("network_member_failed", next.peer, "job network: could not tell %s", f)
	}
}

// EventNetworkMember is the kind of the job event that says a
// replacement took over lost ranks on the job's network.
const EventNetworkMember = "network_member"

// netCounters keeps c as mb's run's job-network counters and sums every
// run's into the job's view.
func (j *job) netCounters(mb *member, c run.NetCounters) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.nets == nil {
		j.nets = map[*member]run.NetCounters{}
	}
	j.nets[mb] = c
	var sum run.NetCounters
	for _, n := range j.nets {
		sum = sum.Add(n)
	}
	j.view.Network = &sum
}
