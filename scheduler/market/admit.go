package market

import (
	"context"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
)

// maxFirstRequests bounds the requesters whose first request is
// considered at once on top of the shared slots (provider.sem).
const maxFirstRequests = 1024

// considering counts, per requester, its requests being considered (the
// decision, then the bid and the wait for its answer) at once. The zero
// value is ready.
type considering struct {
	mu sync.Mutex
	n  map[peer.ID]int
}

// goConsider considers req from requester in the background if there is
// room, and reports whether there was; a request turned away counts as
// declined, overloaded (or closed, once the market is). A requester none of whose requests is being
// considered always has room (up to maxFirstRequests of them at once);
// its further requests share the slots of provider.sem. So a group of peers
// that flood requests and then leave the bids they get unanswered holds
// one slot each beside the shared ones, and never keeps an honest
// requester's request from being bid on.
func (p *provider) goConsider(requester peer.ID, req *gossip.JobRequest) bool {
	c := &p.considering
	c.mu.Lock()
	if c.n == nil {
		c.n = map[peer.ID]int{}
	}
	shared := c.n[requester] > 0 || len(c.n) >= maxFirstRequests
	if shared {
		select {
		case p.sem <- struct{}{}:
		default:
			c.mu.Unlock()
			p.stats.declined("overloaded")
			return false
		}
	}
	c.n[requester]++
	c.mu.Unlock()
	done := func() {
		if shared {
			<-p.sem
		}
		c.mu.Lock()
		if c.n[requester]--; c.n[requester] <= 0 {
			delete(c.n, requester)
		}
		c.mu.Unlock()
	}
	if !p.goBackground(func(ctx context.Context) {
		defer done()
		_ = p.consider(ctx, requester, req)
	}) {
		done()
		p.stats.declined("closed")
		return false
	}
	return true
}
