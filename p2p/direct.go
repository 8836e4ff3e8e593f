package p2p

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Which protocol may ride a relay. A relayed (limited) connection carries
// a circuit relay v2 circuit: by default 128 KiB each way for 2 minutes,
// and the relay's operator pays for it. So:
//   - control messages (invites, bids, awards, heartbeats and pings,
//     capacity records, receipts) are small and may use one: their
//     streams are opened with AllowRelayed;
//   - bulk data (a run's inputs, outputs and logs; a challenge's openings)
//     needs a direct path: EnsureDirect waits a short while for hole
//     punching to upgrade a relayed connection, then fails fast with
//     ErrRelayedOnly instead of waiting out the work's deadline.

// ErrRelayedOnly is returned by EnsureDirect when the only connection to
// a peer goes through a relay and no direct one came in time.
var ErrRelayedOnly = errors.New("bulk data needs a direct path")

// DirectWait is how long EnsureDirect gives hole punching (DCUtR: one
// round trip through the relay, then simultaneous dials) to replace a
// relayed connection with a direct one.
const DirectWait = 8 * time.Second

// Path says how EnsureDirect found a direct connection.
type Path int

const (
	// PathDirect: a direct connection existed, or the first dial made one.
	PathDirect Path = iota
	// PathUpgraded: the only connection was relayed, and hole punching (or
	// a direct dial to an address learnt through the relay) replaced it.
	PathUpgraded
)

// String names the path for job events and logs.
func (p Path) String() string {
	if p == PathUpgraded {
		return "direct after hole punching"
	}
	return "direct"
}

// AllowRelayed marks ctx so that a stream opened with it for proto may
// use a relayed connection: for small control messages only.
func AllowRelayed(ctx context.Context, proto string) context.Context {
	return network.WithAllowLimitedConn(ctx, proto)
}

// Relayed reports whether h's only connections to p go through a relay.
func Relayed(h host.Host, p peer.ID) bool {
	return h.Network().Connectedness(p) == network.Limited
}

// EnsureDirect makes sure h has a direct connection to p before bulk data
// is sent: it connects (through a relay if that is all there is), and if
// the connection is relayed it waits up to wait (DirectWait when 0) for
// hole punching to upgrade it while dialling p's direct addresses itself.
// Errors: ErrRelayedOnly (wrapped, naming p) when no direct path came,
// ctx's error when ctx ended, else why p could not be reached at all.
func EnsureDirect(ctx context.Context, h host.Host, p peer.ID, wait time.Duration) (Path, error) {
	if wait <= 0 {
		wait = DirectWait
	}
	if err := h.Connect(AllowRelayed(ctx, "connect"), peer.AddrInfo{ID: p}); err != nil {
		if ctx.Err() != nil {
			return PathDirect, ctx.Err()
		}
		return PathDirect, fmt.Errorf("connect to %s: %w", p, err)
	}
	if !Relayed(h, p) {
		return PathDirect, nil
	}
	if err := awaitDirect(ctx, h, p, wait); err != nil {
		return PathDirect, err
	}
	return PathUpgraded, nil
}

// Repunching. go-libp2p hole-punches a relayed connection once, when it
// comes in, and only if the node already knows a public address of its
// own: its hole punching service looks for one 0.25 s, 0.75 s, 1.75 s,
// 3.75 s... after start. A relayed connection that came sooner (in the
// namespace test, a bid to a requester 1.3 s after it started) is never
// punched, and nothing tries again. So when a relayed connection is still
// relayed repunchAfter into the wait, awaitDirect replaces it once: it
// closes it and dials p through the relay again, an inbound relayed
// connection on p's side, on which p's hole punching (ready by then)
// starts anew. Once only: right after a connection closes, go-libp2p's
// dialer may hand the closed one back to a second redial.
const (
	repunchAfter = 3 * time.Second
	maxRedials   = 2 // connections again after the repunch, if it is reported lost
)

// awaitDirect waits until h has a direct connection to p, dialling p's
// direct addresses meanwhile and asking for hole punching again once while
// it waits (see repunchAfter); it gives up after wait.
func awaitDirect(ctx context.Context, h host.Host, p peer.ID, wait time.Duration) error {
	sub, err := h.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged))
	if err != nil {
		return fmt.Errorf("watch connections: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	var wg sync.WaitGroup
	defer func() {
		cancel()        // ends the dial,
		_ = sub.Close() // stops events queueing for a loop that has left,
		wg.Wait()       // and the dial is over when this returns
	}()
	wg.Go(func() {
		// Addresses learnt through the relay may be dialable (a peer whose
		// NAT maps ports, or one on our LAN); failures are expected.
		_ = h.Connect(network.WithForceDirectDial(wctx, "bulk data"), peer.AddrInfo{ID: p})
	})
	repunch := time.NewTimer(repunchAfter)
	defer repunch.Stop()
	redials := 0 // connections lost since the last repunch, ours included
	for {
		switch h.Network().Connectedness(p) {
		case network.Connected:
			return nil
		case network.Limited:
		default:
			// The relayed connection we closed may be reported gone after
			// the new one was counted: connect again, a bounded number of
			// times.
			if redials == 0 || redials > maxRedials {
				return fmt.Errorf("connect to %s: connection lost while waiting for a direct one", p)
			}
			redials++
			if err := h.Connect(AllowRelayed(wctx, "hole punching"), peer.AddrInfo{ID: p}); err != nil && wctx.Err() == nil {
				return fmt.Errorf("connect to %s through a relay again, for hole punching: %w", p, err)
			}
			continue
		}
		select {
		case <-sub.Out():
		case <-repunch.C:
			if err := redialRelayed(wctx, h, p); err != nil && wctx.Err() == nil {
				return fmt.Errorf("connect to %s through a relay again, for hole punching: %w", p, err)
			}
			redials = 1
		case <-wctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("only a relayed connection to %s, and hole punching found no direct path in %s: %w", p, wait, ErrRelayedOnly)
		}
	}
}

// redialRelayed closes h's relayed connections to p and connects to p
// through a relay again, unless a direct connection came meanwhile.
func redialRelayed(ctx context.Context, h host.Host, p peer.ID) error {
	if h.Network().Connectedness(p) != network.Limited {
		return nil
	}
	for _, c := range h.Network().ConnsToPeer(p) {
		if c.Stat().Limited {
			_ = c.Close()
		}
	}
	return h.Connect(AllowRelayed(ctx, "hole punching"), peer.AddrInfo{ID: p})
}
