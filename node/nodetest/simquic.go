package nodetest

import (
	"net"
	"sync/atomic"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/config"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/transport"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"
	"github.com/marcopolo/simnet"
	"go.uber.org/fx"
)

// simQUIC is the QUIC transport on the simulated network, for the node's
// host and for every host libp2p builds beside it.
//
// go-libp2p's own simlibp2p.QUICSimnet puts the simulated network into the
// host's QUIC reuse options, but the AutoNAT v2 dial-back host (and the
// AutoNAT v1 service's dialer) that libp2p.New builds beside a host copy
// the transports and not those options: its dial-backs opened a real UDP socket (0.0.0.0, port 0) and
// sent to the simulated peer's public address on the real network. Inside
// a synctest bubble the goroutine reading that socket sits in IO wait, which
// is not a durable block, so the bubble's clock never moved again: the stall
// of docs/scale.md. Here the transport constructor itself builds its QUIC
// connection manager on the simulated network, so every host gets one; a
// host that listens on nothing (the dial-back host) dials from the next
// address of dialFrom, which the network delivers without delay.
func simQUIC(sn *simnet.Simnet, link simnet.NodeBiDiLinkSettings, dialFrom func() *net.UDPAddr) libp2p.Option {
	return libp2p.Transport(func(key crypto.PrivKey, gater connmgr.ConnectionGater, rcmgr network.ResourceManager, l fx.Lifecycle) (transport.Transport, error) {
		reset, err := config.PrivKeyToStatelessResetKey(key)
		if err != nil {
			return nil, err
		}
		token, err := config.PrivKeyToTokenGeneratorKey(key)
		if err != nil {
			return nil, err
		}
		var src atomic.Pointer[net.IP]
		cm, err := quicreuse.NewConnManager(reset, token,
			quicreuse.OverrideSourceIPSelector(func() (quicreuse.SourceIPSelector, error) {
				return sourceIP{&src}, nil
			}),
			quicreuse.OverrideListenUDP(func(_ string, addr *net.UDPAddr) (net.PacketConn, error) {
				if addr.IP.IsUnspecified() {
					addr = dialFrom()
				}
				src.Store(&addr.IP)
				return sn.NewEndpoint(addr, link), nil
			}))
		if err != nil {
			return nil, err
		}
		l.Append(fx.StopHook(cm.Close))
		return libp2pquic.NewTransport(key, cm, nil, gater, rcmgr)
	})
}

// sourceIP answers quicreuse's source address question with the address
// the host listens on (simnet has no routing table).
type sourceIP struct{ ip *atomic.Pointer[net.IP] }

// PreferredSourceIPForDestination returns the listening address.
func (s sourceIP) PreferredSourceIPForDestination(*net.UDPAddr) (net.IP, error) {
	if ip := s.ip.Load(); ip != nil {
		return *ip, nil
	}
	return net.IPv4zero, nil
}
