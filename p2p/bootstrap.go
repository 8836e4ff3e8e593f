package p2p

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
)

// maxResolved is the most addresses one /dnsaddr/ name may bring in.
const maxResolved = 64

// connectBootstrap joins the network through its bootstrap peers. Each
// round resolves the /dnsaddr/ names, leaves this node out and dials every
// peer at once; while none answers it says why, keeps serving the LAN and
// tries again with backoff (1 s doubling to 1 min). Once one answers it
// refreshes the DHT routing table so lookups have somewhere to start; later,
// if the routing table empties, the DHT dials the bootstrap peers again.
func (n *Network) connectBootstrap(ctx context.Context) {
	if len(n.bootstrap) == 0 && len(n.dnsaddrs) == 0 {
		n.log.Info(reasonNoBootstrap, "network", n.def.Name)
		n.setBootRound(bootRound{reason: reasonNoBootstrap})
		return
	}
	saidSelf := false
	for wait := time.Second; ; wait = min(2*wait, time.Minute) {
		peers, self, unresolved := n.bootstrapPeers(ctx)
		n.bootNow.Store(&peers)
		if self && !saidSelf {
			n.log.Info("bootstrap list holds this node's own address; ignoring that entry", "network", n.def.Name)
			saidSelf = true
		}
		reached, err := n.dialBootstrap(ctx, peers)
		if len(peers) == 0 && unresolved > 0 {
			err = fmt.Errorf("none of the %d bootstrap names resolved to a peer", unresolved)
		}
		if ctx.Err() != nil {
			return
		}
		n.setBootRound(bootRound{peers: len(peers), reached: reached, err: err})
		if reached > 0 {
			n.log.Info("joined the network through its bootstrap peers", "network", n.def.Name, "reached", reached, "of", len(peers))
			break
		}
		if len(peers) == 0 && self && unresolved == 0 {
			n.log.Info(reasonOnlyBootstrap, "network", n.def.Name)
			n.setBootRound(bootRound{reason: reasonOnlyBootstrap})
			return
		}
		n.log.Warn("no bootstrap peer reachable; serving the LAN meanwhile and retrying",
			"network", n.def.Name, "peers", len(peers), "retry_in", wait.String(), "reason", err)
		select {
		case <-ctx.Done():
			return
		case <-n.after(wait):
		}
	}
	select {
	case err := <-n.dht.ForceRefresh():
		if err != nil && ctx.Err() == nil {
			n.log.Debug("DHT refresh", "err", err)
		}
	case <-ctx.Done():
	}
}

// bootstrapPeers is the configured peers plus what the /dnsaddr/ names
// resolve to now, merged by peer, without this node; self reports that an
// entry named this node. A name that fails to resolve, or resolves to
// nothing usable, is logged, skipped and counted in unresolved.
func (n *Network) bootstrapPeers(ctx context.Context) (peers []peer.AddrInfo, self bool, unresolved int) {
	all := slices.Clone(n.bootstrap)
	for _, name := range n.dnsaddrs {
		found, err := n.resolve(ctx, name)
		if err != nil {
			unresolved++
			if ctx.Err() == nil {
				n.log.Warn("bootstrap name did not resolve; skipping it this round", "name", name.String(), "err", err)
			}
			continue
		}
		all = append(all, found...)
	}
	merged := map[peer.ID]int{}
	for _, p := range all {
		if p.ID == n.host.ID() {
			self = true
			continue
		}
		if i, ok := merged[p.ID]; ok {
			peers[i].Addrs = append(peers[i].Addrs, p.Addrs...)
			continue
		}
		merged[p.ID] = len(peers)
		peers = append(peers, peer.AddrInfo{ID: p.ID, Addrs: slices.Clone(p.Addrs)})
	}
	return peers, self, unresolved
}

// errNothingResolved: a /dnsaddr/ name had no record naming a peer.
var errNothingResolved = errors.New("no record with a full multiaddr ending in /p2p/<peer id>")

// resolve looks a /dnsaddr/ name up, following nested /dnsaddr/ records
// one level down, and keeps the full multiaddrs among the answers.
func (n *Network) resolve(ctx context.Context, name ma.Multiaddr) ([]peer.AddrInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(n.cfg.BootstrapTimeout))
	defer cancel()
	first, err := n.resolver.Resolve(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", name, err)
	}
	var answers []ma.Multiaddr
	for _, m := range first {
		if isDNSAddr(m) {
			nested, err := n.resolver.Resolve(ctx, m)
			if err == nil {
				answers = append(answers, nested...) // nested names in here are dropped below
			}
			continue
		}
		answers = append(answers, m)
	}
	var infos []peer.AddrInfo
	for _, m := range answers {
		if len(infos) == maxResolved {
			break
		}
		if isDNSAddr(m) {
			continue
		}
		if _, err := m.ValueForProtocol(ma.P_P2P); err != nil {
			continue
		}
		info, err := peer.AddrInfoFromP2pAddr(m)
		if err != nil {
			continue
		}
		infos = append(infos, *info)
	}
	if len(infos) == 0 {
		return nil, fmt.Errorf("resolve %s: %w", name, errNothingResolved)
	}
	return infos, nil
}

// sameNetwork checks that a connected peer, identified, serves this
// network's marker: a bootstrap peer of another network does not count.
func (n *Network) sameNetwork(p peer.ID) error {
	ok, err := n.host.Peerstore().SupportsProtocols(p, n.def.MarkerProtocol())
	if err != nil || len(ok) == 0 {
		return fmt.Errorf("%s is not a node of network %s", p, n.def.Name)
	}
	return nil
}

// isDNSAddr reports whether m starts with /dnsaddr/.
func isDNSAddr(m ma.Multiaddr) bool {
	c, _ := ma.SplitFirst(m)
	return c != nil && c.Code() == ma.P_DNSADDR
}

// dialBootstrap dials every peer at once, protects those that answer from
// trimming, and returns how many answered and why the others did not.
func (n *Network) dialBootstrap(ctx context.Context, peers []peer.AddrInfo) (int, error) {
	if len(peers) == 0 {
		return 0, errors.New("no bootstrap peer left to dial")
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ok   int
		errs []error
	)
	sw, _ := n.host.Network().(*swarm.Swarm)
	for _, p := range peers {
		if sw != nil {
			// Our rounds pace these dials; the swarm's own backoff (up to
			// minutes after failures) would refuse a peer that came back.
			sw.Backoff().Clear(p.ID)
		}
		wg.Go(func() {
			err := n.Connect(ctx, p)
			if err == nil {
				err = n.sameNetwork(p.ID)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			n.host.ConnManager().Protect(p.ID, "bootstrap")
			ok++
		})
	}
	wg.Wait()
	return ok, errors.Join(errs...)
}
