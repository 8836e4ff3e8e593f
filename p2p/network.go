package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	record "github.com/libp2p/go-libp2p-record"
	coreconnmgr "github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	madns "github.com/multiformats/go-multiaddr-dns"
	"github.com/prometheus/client_golang/prometheus"
)

// MDNSServiceName is the mDNS service gpumesh peers announce on the LAN, so
// they find each other and not every libp2p program on the network.
const MDNSServiceName = "_gpumesh-discovery._udp"

// ErrNotStarted is returned by methods that need a running network.
var ErrNotStarted = errors.New("p2p: network not started")

// Network is a node's libp2p presence: the host, its Kademlia DHT, mDNS and
// bootstrap discovery. Create it with New, then Start it; Close stops it.
type Network struct {
	cfg        Config
	key        crypto.PrivKey
	self       peer.ID         // the key's
	def        NetworkDef      // the network joined: prefixes and built-in bootstrap
	bootstrap  []peer.AddrInfo // full multiaddrs: the network's and p2p.bootstrap
	dnsaddrs   []ma.Multiaddr  // /dnsaddr/ names, resolved at every bootstrap round
	resolver   *madns.Resolver
	after      func(time.Duration) <-chan time.Time // the bootstrap retry timer
	gate       *Gate
	log        *slog.Logger
	userAgent  string
	hostOpts   []libp2p.Option
	validators map[string]record.Validator
	metrics    prometheus.Registerer // libp2p's own metrics go here when set
	gater      coreconnmgr.ConnectionGater

	host    host.Host
	view    host.Host // host as the packages above see it (onNetwork)
	dht     *dht.IpfsDHT
	latency *Latency
	hostUp  atomic.Bool                     // host is set: autorelay's goroutine may read it
	bootNow atomic.Pointer[[]peer.AddrInfo] // the last bootstrap round's peers
	bootRnd atomic.Pointer[bootRound]       // how the last bootstrap round went (Presence)
	mdns    mdns.Service
	sub     event.Subscription
	gateSub event.Subscription // identify events, for the Gate

	mu           sync.RWMutex
	reachability network.Reachability

	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// New checks cfg and returns a Network that has not started. userAgent is
// announced to peers through identify.
func New(cfg Config, key crypto.PrivKey, userAgent string, log *slog.Logger, opts ...Option) (*Network, error) {
	if key == nil {
		return nil, errors.New("p2p: an identity key is required")
	}
	if err := cfg.Validate("p2p"); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	def, err := LookupNetwork(MainNetwork)
	if err != nil {
		return nil, err
	}
	self, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("p2p: identity key: %w", err)
	}
	n := &Network{cfg: cfg, key: key, self: self, def: def, log: log, userAgent: userAgent, resolver: madns.DefaultResolver, after: time.After}
	for _, o := range opts {
		o(n)
	}
	if err := errors.Join(n.def.Validate(), checkBuiltin(n.def)); err != nil {
		return nil, err
	}
	// The network's own bootstrap entries first, then the operator's.
	entries := append(slices.Clone(n.def.Bootstrap), cfg.Bootstrap...)
	if n.bootstrap, n.dnsaddrs, err = SplitBootstrap(entries); err != nil {
		return nil, fmt.Errorf("network %s: %w", n.def.Name, err)
	}
	n.gate = newGate(n.def.MarkerProtocol(), log)
	return n, nil
}

// WithNetwork joins the network def rather than main; node wiring passes
// the network the config names.
func WithNetwork(def NetworkDef) Option {
	return func(n *Network) { n.def = def }
}

// WithResolver resolves /dnsaddr/ bootstrap entries through r (tests pass
// one over an in-memory backend) rather than the system's DNS.
func WithResolver(r *madns.Resolver) Option {
	return func(n *Network) { n.resolver = r }
}

// WithRetryTimer replaces time.After for the waits between bootstrap
// rounds, so a test decides when the next round runs.
func WithRetryTimer(after func(time.Duration) <-chan time.Time) Option {
	return func(n *Network) { n.after = after }
}

// Def returns the definition of the network this node joined.
func (n *Network) Def() NetworkDef { return n.def }

// Option changes how a Network is built; options exist for tests and
// simulations, never for users (those use Config).
type Option func(*Network)

// WithValidator registers a DHT record validator for namespace ns (keys
// "/ns/..."): the DHT stores and returns only records it accepts. Every node
// must register the same validators, or its DHT server refuses the records
// of the namespace.
func WithValidator(ns string, v record.Validator) Option {
	return func(n *Network) {
		if n.validators == nil {
			n.validators = map[string]record.Validator{}
		}
		n.validators[ns] = v
	}
}

// WithTransports replaces the TCP and QUIC transports and the configured
// listen addresses by opts: a simulated network (go-libp2p's x/simlibp2p)
// passes its QUIC-over-simnet transport and simulated addresses here, and
// the node runs unchanged on top.
func WithTransports(opts ...libp2p.Option) Option {
	return func(n *Network) { n.hostOpts = opts }
}

// WithConnectionGater has the host ask g before every connection: tests
// stand in for NATs and firewalls with it (refusing direct connections
// between two peers, so that they meet only through a relay).
func WithConnectionGater(g coreconnmgr.ConnectionGater) Option {
	return func(n *Network) { n.gater = g }
}

// WithMetrics registers libp2p's own metrics (swarm, identify, relay, hole
// punching, AutoNAT, event bus, resource manager) with reg rather than
// Prometheus's default registry: each node exports its own.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(n *Network) { n.metrics = reg }
}

// Start creates the libp2p host, listens, starts the DHT and discovery and
// dials the bootstrap peers in the background. It returns once the host
// listens; unreachable bootstrap peers are retried, not fatal. On error it
// closes whatever it had started.
func (n *Network) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			_ = n.Close()
		}
	}()
	rm, err := n.resourceManager()
	if err != nil {
		return fmt.Errorf("resource manager: %w", err)
	}
	cm, err := connmgr.NewConnManager(n.cfg.ConnLow, n.cfg.ConnHigh, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return fmt.Errorf("connection manager: %w", err)
	}
	transports := n.hostOpts
	if transports == nil {
		transports = []libp2p.Option{
			libp2p.ListenAddrStrings(n.cfg.Listen...),
			libp2p.Transport(tcp.NewTCPTransport),
			libp2p.Transport(quic.NewTransport),
		}
	}
	opts := append(transports,
		libp2p.Identity(n.key),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.ConnectionManager(cm),
		libp2p.ResourceManager(rm),
		libp2p.UserAgent(n.userAgent),
		libp2p.EnableAutoNATv2(),
		// The gate keeps the node to its network; a test's gater (standing
		// in for NATs) is asked after it.
		libp2p.ConnectionGater(n.gate),
	)
	opts = append(opts, n.relayOptions()...)
	if n.cfg.NATPortMap {
		opts = append(opts, libp2p.NATPortMap())
	}
	if n.metrics != nil {
		opts = append(opts, libp2p.PrometheusRegisterer(n.metrics))
	}
	n.gate.next = n.gater
	h, err := libp2p.New(opts...)
	if err != nil {
		return fmt.Errorf("start libp2p host: %w", err)
	}
	n.host = h
	n.view = onNetwork(h, n.def.ProtocolPrefix)
	// Every node serves its network's marker, so that peers of other
	// networks refuse it at identify (Gate) as it refuses them.
	h.SetStreamHandler(n.def.MarkerProtocol(), func(s network.Stream) { _ = s.Reset() })
	gateSub, err := h.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		return fmt.Errorf("subscribe to identify: %w", err)
	}
	n.gateSub = gateSub

	n.sub, err = h.EventBus().Subscribe(new(event.EvtLocalReachabilityChanged))
	if err != nil {
		return fmt.Errorf("subscribe to reachability: %w", err)
	}

	mode := map[string]dht.ModeOpt{
		DHTModeAuto:   dht.ModeAuto,
		DHTModeServer: dht.ModeServer,
		DHTModeClient: dht.ModeClient,
	}[n.cfg.DHTMode]
	dhtOpts := []dht.Option{
		dht.ProtocolPrefix(protocol.ID(n.def.DHTPrefix)),
		dht.Mode(mode),
		dht.BootstrapPeersFunc(n.Bootstrap),
	}
	for ns, v := range n.validators {
		dhtOpts = append(dhtOpts, dht.NamespacedValidator(ns, v))
	}
	kad, err := dht.New(h, dhtOpts...)
	if err != nil {
		return fmt.Errorf("start DHT: %w", err)
	}
	n.dht = kad
	n.hostUp.Store(true)
	if err := n.startRelayFinder(); err != nil {
		return fmt.Errorf("start relay finder: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.wg.Add(1)
	// The subscription goes in by value: Close clears n.sub before it waits
	// for this goroutine (a data race under -race when it read n.sub).
	go n.watchReachability(runCtx, n.sub)
	n.wg.Go(func() { n.gate.watch(runCtx, h, gateSub) })
	n.latency, err = NewLatency(h, time.Duration(n.cfg.ProbeInterval), n.cfg.ProbePeers, n.log)
	if err != nil {
		return fmt.Errorf("network coordinate: %w", err)
	}
	n.wg.Go(func() { n.latency.Run(runCtx) })

	if n.cfg.MDNS {
		found := make(chan peer.AddrInfo, mdnsQueue)
		n.mdns = mdns.NewMdnsService(h, n.def.MDNSService(), &mdnsNotifee{n: n, found: found})
		if err := n.mdns.Start(); err != nil {
			n.log.Warn("mDNS discovery unavailable", "err", err)
			n.mdns = nil
		} else {
			n.wg.Go(func() { n.connectFound(runCtx, found) })
		}
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.connectBootstrap(runCtx)
	}()
	return nil
}

// Close stops discovery, the DHT and the host, in reverse order of Start.
// It is safe on a network that started partly or not at all, and twice.
func (n *Network) Close() error {
	if n.cancel != nil {
		n.cancel()
	}
	var errs []error
	if n.mdns != nil {
		errs = append(errs, n.mdns.Close())
		n.mdns = nil
	}
	if n.dht != nil {
		errs = append(errs, n.dht.Close())
		n.dht = nil
	}
	if n.sub != nil {
		errs = append(errs, n.sub.Close())
		n.sub = nil
	}
	if n.gateSub != nil {
		errs = append(errs, n.gateSub.Close())
		n.gateSub = nil
	}
	if n.host != nil {
		// go-libp2p v0.51's host Close can stall for good when an event-bus
		// subscriber is slow at that moment (AutoNAT's subscription closing
		// while identify holds the bus, seen with many hosts on 2 busy
		// cores): bounded, so that a node always finishes shutting down.
		done := make(chan error, 1)
		go func() { done <- n.host.Close() }()
		select {
		case err := <-done:
			errs = append(errs, err)
		case <-time.After(hostCloseTimeout):
			n.log.Error("libp2p host did not close in time; going on without it", "after", hostCloseTimeout)
			errs = append(errs, fmt.Errorf("close libp2p host: still closing after %s", hostCloseTimeout))
		}
	}
	n.wg.Wait()
	return errors.Join(errs...)
}

// hostCloseTimeout bounds how long Close waits for the libp2p host.
const hostCloseTimeout = 10 * time.Second

// Host returns the libp2p host as the packages above p2p use it: their
// stream protocols move under the network's protocol prefix (main's IDs
// unchanged). Nil before Start.
func (n *Network) Host() host.Host {
	if n.host == nil {
		return nil
	}
	return n.view
}

// DHT returns the Kademlia DHT; nil before Start.
func (n *Network) DHT() *dht.IpfsDHT { return n.dht }

// Latency returns the prober that keeps the node's network coordinate.
func (n *Network) Latency() *Latency { return n.latency }

// RoutingTableSize is the number of DHT servers in the routing table.
func (n *Network) RoutingTableSize() int {
	if n.dht == nil {
		return 0
	}
	return n.dht.RoutingTable().Size()
}

// Reachability is what AutoNAT last concluded about this node.
func (n *Network) Reachability() network.Reachability {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.reachability
}

// Bootstrap returns the bootstrap peers of the last bootstrap round
// (/dnsaddr/ names resolved, this node left out), or the configured full
// multiaddrs before the first round.
func (n *Network) Bootstrap() []peer.AddrInfo {
	if p := n.bootNow.Load(); p != nil {
		return slices.Clone(*p)
	}
	return slices.Clone(n.bootstrap)
}

// Connect dials p with a deadline and tags it in the connection manager so
// that discovered peers are not trimmed first.
func (n *Network) Connect(ctx context.Context, p peer.AddrInfo) error {
	if n.host == nil {
		return ErrNotStarted
	}
	if p.ID == n.host.ID() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(n.cfg.BootstrapTimeout))
	defer cancel()
	if err := n.host.Connect(ctx, p); err != nil {
		return fmt.Errorf("connect to %s: %w", p.ID, err)
	}
	return nil
}

// watchReachability records AutoNAT's verdicts; it exits when ctx ends or the
// subscription closes.
func (n *Network) watchReachability(ctx context.Context, sub event.Subscription) {
	defer n.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-sub.Out():
			if !ok {
				return
			}
			r := ev.(event.EvtLocalReachabilityChanged).Reachability
			n.mu.Lock()
			n.reachability = r
			n.mu.Unlock()
			n.log.Info("reachability changed", "reachability", r.String())
		}
	}
}

// RunProtocol is scheduler/run's stream protocol (named here: that
// package imports this one).
const RunProtocol = protocol.ID("/gpumesh/run/1")

// RunPendingMemory is what RunProtocol's streams not yet authorized may
// reserve in all: run.DefaultMaxPending streams of run.MaxRequestBytes.
// RunProtocol's memory limit is the default protocol limit plus this, so
// that streams which are never authorized cannot take the memory of the
// runs that are.
const RunPendingMemory = 16 * (2 << 20)

// ResourceLimits are the limits of the resource manager: RAM/8 and half
// the process's file descriptors when maxMemoryMB and maxFDs are 0, else
// those (1 GiB and 1024 for the one left 0); RunProtocol gets
// RunPendingMemory more than other protocols.
func ResourceLimits(maxMemoryMB, maxFDs int) rcmgr.ConcreteLimitConfig {
	return resourceLimits(RunProtocol, maxMemoryMB, maxFDs)
}

// resourceLimits is ResourceLimits with run as the run protocol's wire ID.
func resourceLimits(run protocol.ID, maxMemoryMB, maxFDs int) rcmgr.ConcreteLimitConfig {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	base := limits.ProtocolBaseLimit
	base.Memory += RunPendingMemory
	limits.AddProtocolLimit(run, base, limits.ProtocolLimitIncrease)
	if maxMemoryMB == 0 && maxFDs == 0 {
		return limits.AutoScale()
	}
	if maxFDs == 0 {
		maxFDs = 1024
	}
	mem := int64(maxMemoryMB) << 20
	if mem == 0 {
		mem = 1 << 30
	}
	return limits.Scale(mem, maxFDs)
}

// resourceManager bounds what libp2p may use (ResourceLimits): in-process
// fleets set limits, or a hundred hosts would each claim RAM/8.
func (n *Network) resourceManager() (network.ResourceManager, error) {
	concrete := resourceLimits(WireProtocol(n.def.ProtocolPrefix, RunProtocol), n.cfg.MaxMemoryMB, n.cfg.MaxFDs)
	var rmOpts []rcmgr.Option
	if n.metrics != nil {
		// The collectors are registered by libp2p.New; this feeds them.
		str, err := rcmgr.NewStatsTraceReporter()
		if err != nil {
			return nil, err
		}
		rmOpts = append(rmOpts, rcmgr.WithTraceReporter(str))
	}
	return rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(concrete), rmOpts...)
}

// mdnsQueue is how many peers found on the LAN may wait for a dial; an
// announcement past it is dropped (the peer announces again).
const mdnsQueue = 64

// mdnsNotifee hands the peers found on the LAN to connectFound.
type mdnsNotifee struct {
	n     *Network
	found chan<- peer.AddrInfo
}

// HandlePeerFound is called by the mDNS service for every announcement
// heard; it never blocks the service.
func (m *mdnsNotifee) HandlePeerFound(p peer.AddrInfo) {
	if p.ID == m.n.host.ID() || m.n.host.Network().Connectedness(p.ID) == network.Connected {
		return
	}
	select {
	case m.found <- p:
	default:
	}
}

// connectFound dials each peer found on the LAN in its own goroutine
// until ctx ends (Close), then waits for the dials.
func (n *Network) connectFound(ctx context.Context, found <-chan peer.AddrInfo) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-found:
			wg.Go(func() {
				if err := n.Connect(ctx, p); err != nil {
					n.log.Debug("mDNS peer unreachable", "peer", p.ID.String(), "err", err)
					return
				}
				n.log.Info("found peer on LAN", "peer", p.ID.String())
			})
		}
	}
}

// ListenAddrs returns the addresses the host listens on, each with /p2p/<id>,
// ready to hand to another node as a bootstrap address.
func (n *Network) ListenAddrs() []ma.Multiaddr {
	if n.host == nil {
		return nil
	}
	out, _ := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: n.host.ID(), Addrs: n.host.Addrs()})
	return out
}
