package market

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// directPath makes sure the work's bulk data (inputs, outputs, logs) has
// a direct connection to mb: a relay carries little for a short time. The
// job's events say which path the data takes when mb is behind NAT:
//   - "direct": hole punching replaced a relayed connection just now, or
//     mb advertises a relay address and a direct connection already
//     exists (hole punching or a direct dial made it earlier);
//   - "relayed": only a relayed connection came, and hole punching found
//     no direct path in p2p.DirectWait: the data is not sent through the
//     relay, and the member fails at once as a provider lost before it
//     ran anything (its ranks fail over), with the reason.
//
// A provider on a direct path that is not behind NAT gets no event.
func (d *driver) directPath(ctx context.Context, mb *member) error {
	start := time.Now()
	path, err := p2p.EnsureDirect(ctx, d.d.Host, mb.peer, p2p.DirectWait)
	switch {
	case errors.Is(err, p2p.ErrRelayedOnly):
		d.j.note("relayed", mb.peer, "%s is reachable only through a relay and hole punching found no direct path in %s: the work's data is not sent through a relay, so its ranks go elsewhere",
			short(mb.peer), p2p.DirectWait)
		return fmt.Errorf("%w: %w", run.ErrProviderLost, err)
	case err != nil:
		return fmt.Errorf("%w: %w", run.ErrProviderLost, err)
	case path == p2p.PathUpgraded:
		d.j.note("direct", mb.peer, "%s was reachable only through a relay; hole punching made a direct connection for the work's data in %s, over %s",
			short(mb.peer), time.Since(start).Round(time.Millisecond), d.directAddr(mb))
	case slices.ContainsFunc(mb.addrs, isCircuit):
		d.j.note("direct", mb.peer, "%s is behind NAT (it advertises a relay address); the work's data goes on a direct connection over %s, made earlier by hole punching or a direct dial",
			short(mb.peer), d.directAddr(mb))
	}
	return nil
}

// directAddr is the remote address of a direct connection to mb, or
// "an unknown address" if it has just closed.
func (d *driver) directAddr(mb *member) string {
	for _, c := range d.d.Host.Network().ConnsToPeer(mb.peer) {
		if !c.Stat().Limited {
			return c.RemoteMultiaddr().String()
		}
	}
	return "an unknown address"
}
