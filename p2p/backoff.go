package p2p

import (
	"context"
	"errors"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
)

// NewStreamPastBackoff opens a stream as h.NewStream does, and when the
// swarm refuses because an earlier dial of p failed (its dial backoff,
// 5 s and growing), clears p's backoff and tries once more. For exchanges
// with a deadline shorter than a backoff (an invitation inside a 2 s bid
// window): one transient failure, such as a handshake that timed out on a
// loaded host, must not leave the peer unreachable for the whole window.
// One retry per call keeps a dead peer from being hammered.
func NewStreamPastBackoff(ctx context.Context, h host.Host, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	s, err := h.NewStream(ctx, p, pids...)
	if err == nil || !errors.Is(err, swarm.ErrDialBackoff) || ctx.Err() != nil {
		return s, err
	}
	sw, ok := h.Network().(*swarm.Swarm)
	if !ok {
		return nil, err
	}
	sw.Backoff().Clear(p)
	return h.NewStream(ctx, p, pids...)
}
