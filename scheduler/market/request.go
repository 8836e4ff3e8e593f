package market

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/internal/human"
)

// The request stage: the job's request is built from its spec, signed
// and published on the jobs topic and, in a large network, sent straight
// to providers found through capability keys (invite).

// newRequest is a request for spec, sent now from this node, and why its
// bid window is longer than spec's (window.go), empty if it is not.
func (r *requester) newRequest(spec Spec, now time.Time) (*gossip.JobRequest, string, error) {
	req := spec.request(gossip.NewJobID(), r.nextSeq(), now)
	if c, ok := r.d.Coordinate(); ok {
		req.Coord = &c
	}
	req.Addrs = r.d.Addrs()
	window, widened := r.relayedWindow(spec, req.Addrs)
	req.BidDeadline = now.Add(window)
	if err := req.Validate(now, time.Minute); err != nil {
		return nil, "", err
	}
	return req, widened, nil
}

// publish signs req and publishes it on its jobs topics (Deps.JobTopics):
// it fails only when no topic took it. A topic with no known subscriber
// among its shards (one with no mesh yet) marks the job for invitations.
func (d *driver) publish(ctx context.Context, req *gossip.JobRequest) error {
	topics := []string{gossip.TopicJobs}
	if d.d.JobTopics != nil {
		topics = d.d.JobTopics(req)
	}
	var errs []error
	for _, t := range topics {
		if err := d.d.Gossip.Publish(ctx, t, req); err != nil {
			errs = append(errs, err)
			continue
		}
		if d.d.TopicPeers != nil && gossip.IsJobShard(t) && len(d.d.TopicPeers(t)) == 0 {
			d.j.unmeshed.Store(true)
		}
	}
	if len(errs) == len(topics) {
		return errors.Join(errs...)
	}
	if len(errs) > 0 {
		d.d.Log.Debug("some jobs topics refused the request", "job", req.ID, "err", errors.Join(errs...))
	}
	return nil
}

// startInvites invites providers found through capability keys in the
// background, when the market does; j.invited closes once they answered.
func (d *driver) startInvites() {
	if !d.invites() || !d.goBackground(d.invite) {
		close(d.j.invited)
	}
}

// invites reports whether d's request goes to providers found through
// capability keys too: when the network is large enough, or when one of
// its jobs topics had no subscriber to publish to (a shard with no mesh
// yet: invitations are its only way to its providers).
func (d *driver) invites() bool {
	return d.invitesAtSize() || d.j.unmeshed.Load() && d.cfg.Invite && d.d.Invitees != nil
}

// invitesAtSize reports whether requests go to providers found through
// capability keys too, as the network's size says.
func (r *requester) invitesAtSize() bool {
	return r.cfg.Invite && r.d.Invitees != nil && (r.cfg.InviteAbove == 0 || r.d.RoutingTableSize != nil && r.d.RoutingTableSize() >= r.cfg.InviteAbove)
}

// invite asks providers found through capability keys directly.
func (d *driver) invite(ctx context.Context) {
	j := d.j
	defer close(j.invited)
	req := j.request()
	ctx, cancel := context.WithDeadline(ctx, req.BidDeadline)
	defer cancel()
	found := d.d.Invitees(ctx, req, d.cfg.EnoughBidsPerWorker*req.Workers)
	sem := make(chan struct{}, 16)
	asked, had, declined, details := 0, 0, map[string]int{}, map[string]string{}
	results := make(chan *Refusal, len(found)) // nil: it will bid
	for _, p := range found {
		if p.ID == d.self {
			continue
		}
		j.mu.Lock()
		already := j.bidder(p.ID) >= 0
		j.mu.Unlock()
		if already {
			had++
			continue
		}
		asked++
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			answer, err := d.send(ctx, p.ID, addrStrings(p), InviteProtocol, req, maxAckBytes)
			if err != nil {
				results <- &Refusal{Check: "unreachable", Detail: trim(err.Error())}
				return
			}
			ack, err := readAck(answer)
			switch {
			case err != nil:
				results <- &Refusal{Check: "unreadable answer", Detail: trim(err.Error())}
			case ack.OK:
				results <- nil
			default:
				results <- parseRefusal(ack.Reason)
			}
		}()
	}
	for range asked {
		if r := <-results; r != nil {
			declined[r.Check]++
			if details[r.Check] == "" {
				details[r.Check] = r.Detail
			}
		}
	}
	j.mu.Lock()
	j.view.Found, j.view.Invited, j.view.InviteRefusals, j.view.InviteReasons = len(found), asked, declined, details
	j.event("invited", "", "capability keys gave %s: %d had bid already; invited %d, of whom %d said they would not bid%s",
		human.Plural(len(found), "provider"), had, asked, total(declined), reasonList(declined))
	j.mu.Unlock()
}

// parseRefusal is a provider's refusal as its Ack sent it ("check:
// detail", Refusal.Error): the wire carries text, the job keeps it typed.
func parseRefusal(reason string) *Refusal {
	check, detail, _ := strings.Cut(reason, ":")
	return &Refusal{Check: check, Detail: strings.TrimSpace(detail)}
}

// maxRebids bounds how often a job reopens bidding because this node's
// other jobs took its bidders; rebidWait bounds each wait for one of them
// to end.
const (
	maxRebids = 3
	rebidWait = 2 * time.Minute
)

// mayRebid reports whether bidding may reopen: this node's other jobs
// hold providers, and the job has not asked again too often.
func (d *driver) mayRebid() bool {
	return d.rebids < maxRebids && d.othersHold(d.j)
}

// rebid waits until another of this node's jobs ends (they hold the job's
// bidders), then publishes its request again, with a new deadline, and
// gathers bids anew: a provider bids again on a newer request. It reports
// whether the job goes on.
func (d *driver) rebid(ctx context.Context) bool {
	j := d.j
	d.rebids++
	if !d.waitForFreed(ctx, fmt.Sprintf("the providers that bid are running your other jobs; waiting for one of those to end, then asking again (%d of %d)", d.rebids, maxRebids)) {
		return false
	}
	window, widened := d.relayedWindow(j.view.Spec, j.request().Addrs)
	now := time.Now()
	j.mu.Lock()
	req := *j.req
	req.Seq, req.Sent, req.BidDeadline = d.nextSeq(), now, now.Add(window)
	j.req, j.closed = &req, false
	j.received = nil // old bids may have lapsed, or their bidders gone
	j.event("request", "", "asked again; bids close by %s%s", req.BidDeadline.Format("15:04:05.000"), paren(widened))
	j.mu.Unlock()
	if err := d.publish(ctx, &req); err != nil {
		return false
	}
	return d.collect(ctx)
}

// waitForFreed records why the job waits, then waits until another of
// this node's jobs ends, or rebidWait passes; false when ctx ended first.
func (d *driver) waitForFreed(ctx context.Context, why string) bool {
	freed := d.freedChan()
	d.j.note("waiting", "", "%s", why)
	t := time.NewTimer(rebidWait)
	defer t.Stop()
	select {
	case <-freed:
		return true
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// addrStrings is p's addresses as text.
func addrStrings(p peer.AddrInfo) []string {
	out := make([]string, 0, len(p.Addrs))
	for _, a := range p.Addrs {
		out = append(out, a.String())
	}
	return out
}

// paren is s in parentheses after a space, or nothing when s is empty.
func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}
