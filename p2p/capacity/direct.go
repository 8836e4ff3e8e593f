package capacity

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gpumesh/gpumesh/p2p"
)

// ProtocolID is the stream protocol on which a provider hands out its
// latest signed capacity record: the fast path for a requester already
// connected to it, and the only one on a LAN without DHT servers. The
// requester opens a stream and reads; nothing is sent to the provider.
const ProtocolID = protocol.ID("/gpumesh/capacity/1")

// streamTimeout bounds a whole exchange on ProtocolID.
const streamTimeout = 5 * time.Second

// Serve answers ProtocolID on h with the signed record latest returns
// (nothing when it returns nil: the node offers nothing).
func Serve(h host.Host, latest func() []byte, log *slog.Logger) {
	h.SetStreamHandler(ProtocolID, func(s network.Stream) {
		defer s.Close()
		_ = s.SetDeadline(time.Now().Add(streamTimeout))
		data := latest()
		if data == nil {
			_ = s.Reset()
			return
		}
		if _, err := s.Write(data); err != nil {
			log.Debug("capacity record not sent", "peer", s.Conn().RemotePeer(), "err", err)
			_ = s.Reset()
		}
	})
}

// Fetch asks p for its signed capacity record over ProtocolID and verifies
// it as Verify does.
func Fetch(ctx context.Context, h host.Host, p peer.ID, now time.Time) (*Record, error) {
	ctx, cancel := context.WithTimeout(ctx, streamTimeout)
	defer cancel()
	// A capacity record is a few KiB: a relayed connection will do.
	s, err := h.NewStream(p2p.AllowRelayed(ctx, string(ProtocolID)), p, ProtocolID)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	_ = s.CloseWrite()
	data, err := io.ReadAll(io.LimitReader(s, MaxSize+1))
	if err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("read capacity record: %w", err)
	}
	r, _, err := Verify(Key(p), data, now)
	return r, err
}
