package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/gpu"
	"github.com/gpumesh/gpumesh/gpu/proof"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/ledger/anchor/evm"
	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/datadir"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/p2p/coord"
	"github.com/gpumesh/gpumesh/p2p/overlay"
	"github.com/gpumesh/gpumesh/scheduler/challenge"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// Version is the gpumesh version; main overrides it at link time.
var Version = "0.1.0-dev"

// ReadyPrefix starts the one line a node prints once it is listening and its
// API answers. Scripts wait for it; its format never changes.
const ReadyPrefix = "gpumesh: node ready"

// Options are what New needs to build a node.
type Options struct {
	// DataDir is the node's home; it is created if missing.
	DataDir string
	// Config is the node's validated configuration.
	Config config.Config
	// Log receives the node's logs; slog.Default() if nil.
	Log *slog.Logger
	// Ready, if set, receives the readiness line; nothing is printed otherwise.
	Ready io.Writer
	// Detect, if set, replaces gpu.Detect: tests pass gpu.DetectWithNVML
	// over go-nvml's mock servers to run the NVML path without a GPU.
	Detect func(ctx context.Context, dataDir string) (*gpu.Probe, gpu.Inventory, error)
	// Network, if set, is passed to p2p.New: the simulated network of
	// node/nodetest replaces the transports here.
	Network []p2p.Option
	// NoAPI starts the node without its HTTP API (no DIR/api, and a
	// readiness line with api=none): for simulations in virtual time, where
	// a real socket would block the clock. Users always have an API.
	NoAPI bool
	// ConfigFile, if set, is the config file the node was started from:
	// price and hour changes made while it runs (dashboard, gpumesh
	// prices) are saved there.
	ConfigFile string
	// Chain, if set, is the chain the node anchors on, whatever [anchor]
	// says of the chain (its epoch rules still apply); the caller owns it.
	// `gpumesh demo` shares one simulated chain among its nodes.
	Chain anchor.Backend
	// SettlementChain, if set, is the chain settlement reads escrow from
	// and redeems on, whatever OpenSettlementChain would open; the caller
	// owns it. Tests pass a fake.
	SettlementChain SettlementChain
	// Knobs, if set, are interception points for tests in the node's
	// market and run server: node/nodetest's bad actors. Users never set
	// them.
	Knobs *Knobs
}

// Knobs are a node's interception points for tests (see Options.Knobs).
type Knobs struct {
	// Market hooks into the market's provider side.
	Market market.Knobs
	// Run hooks into the run server.
	Run run.ServerKnobs
}

// knobs are the node's test knobs: none in production.
func (n *Node) knobs() Knobs {
	if n.opts.Knobs == nil {
		return Knobs{}
	}
	return *n.opts.Knobs
}

// Node is a running gpumesh node. Create it with New, Start it, Close it.
type Node struct {
	opts Options
	cfg  config.Config
	log  *slog.Logger

	settlement *settlement // nil when settlement is off

	lock     *datadir.Lock
	key      crypto.PrivKey
	probe    *gpu.Probe
	hw       gpu.Inventory
	sampler  *gpu.Sampler
	proofs   *challenge.Service
	prover2  challenge.Prover2  // [proof] helper; nil: GPU classes advertised unverified
	stop     context.CancelFunc // ends the node's own goroutines (wg)
	net      *p2p.Network
	gossip   *gossip.Router
	api      *api.Server
	capacity *capacityState
	jobs     *market.Market
	book     *reputation.Book
	execs    executor.Set
	noGPUs   map[string]string // executors that cannot hand GPUs to their work, and why
	runs     *run.Server
	overlay  *overlay.Service // job networks; nil where the host cannot run them
	ledger   *ledger.Log
	anchorer *anchor.Anchorer
	chain    evm.Chain
	anchors  *peerAnchors
	// anchorErr says why anchoring is off when the chain could not be opened.
	anchorErr string
	// wg counts the node's own goroutines (reputation saver, capacity
	// publisher, self-test, anchorer, heartbeat watcher), all started by
	// Start under a context stop ends: Close ends them before any part
	// they use.
	wg      sync.WaitGroup
	started time.Time
	ctl     control    // pause and offer changes made while running
	watch   capWatch   // capacity shards followed for running jobs
	coords  peerCoords // coordinates from direct exchanges (coordx.go)
	metrics *metrics   // the node's Prometheus registry
	token   string     // the API token mutating calls need
}

// New checks opts and returns a node that has not started.
func New(opts Options) (*Node, error) {
	if opts.DataDir == "" {
		return nil, errors.New("node: a data dir is required")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Detect == nil {
		opts.Detect = gpu.Detect
	}
	n := &Node{opts: opts, cfg: opts.Config, log: opts.Log}
	n.metrics = newMetrics(n)
	return n, nil
}

// Start brings the node up in order: data dir and its lock, identity, the
// hardware probe, the executors, the sampler, the libp2p network, the
// challenge service, the ledger, the reputation book, the market, the
// chain, the run server, gossip, the API; the node's own goroutines start
// beside the parts they use. On any error it undoes what it started
// (Close, in the reverse order). Once the API answers it writes DIR/api
// and prints the readiness line.
func (n *Node) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			_ = n.Close()
		}
	}()
	dir := n.opts.DataDir
	if err := datadir.Ensure(dir); err != nil {
		return err
	}
	lock, err := datadir.Acquire(dir)
	if err != nil {
		return err
	}
	n.lock = lock
	key, created, err := LoadOrCreateIdentity(filepath.Join(dir, KeyFile))
	if err != nil {
		return err
	}
	n.key = key
	if created {
		id, _ := peer.IDFromPrivateKey(key)
		n.log.Info("created a new identity", "peer", id.String(), "file", filepath.Join(dir, KeyFile))
	}
	// The node's goroutines live until Close (stop), the parts' work until
	// their own Close, which Close calls: not until Start's ctx ends.
	base := context.WithoutCancel(ctx)
	life, stop := context.WithCancel(base)
	n.stop = stop
	n.probe, n.hw, err = n.opts.Detect(ctx, dir)
	if err != nil {
		return fmt.Errorf("detect hardware: %w", err)
	}
	n.logHardware()
	var skipped map[string]string
	n.execs, skipped, err = executor.Open(ctx, n.cfg.Executor, filepath.Join(dir, "cache", "wasm"), n.PeerID().String())
	if err != nil {
		return err
	}
	for name, why := range skipped {
		if slices.Contains(n.cfg.Offer.Executors, name) {
			n.log.Warn("executor offered but not available: not advertised", "executor", name, "why", why)
		}
	}
	n.noGPUs = n.execs.NoGPUs()
	for name, why := range n.noGPUs {
		if len(offerGPUs(n.hw.Devices)) > 0 && slices.Contains(n.cfg.Offer.Executors, name) {
			n.log.Warn("executor cannot hand this node's GPUs to jobs: GPU jobs get no bid", "executor", name, "why", why)
		}
	}
	n.execs = n.metrics.countExecutors(n.execs)
	n.sampler, err = gpu.NewSampler(n.probe, time.Duration(n.cfg.GPU.SampleInterval), time.Duration(n.cfg.GPU.History))
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	if err := n.sampler.Start(base); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	agent := "gpumesh/" + Version
	def, err := p2p.LookupNetwork(n.cfg.Network)
	if err != nil {
		return err
	}
	netOpts := append([]p2p.Option{p2p.WithNetwork(def), p2p.WithValidator(capacity.Namespace, capacity.Validator{}), p2p.WithMetrics(n.metrics.reg)}, n.opts.Network...)
	n.net, err = p2p.New(n.cfg.P2P, key, agent, n.log.With("component", "p2p"), netOpts...)
	if err != nil {
		return err
	}
	if err := n.net.Start(ctx); err != nil {
		return err
	}
	n.prover2 = n.proofHelper()
	n.proofs = challenge.NewService(n.net.Host(),
		proof.CPUProver{Workers: runtime.GOMAXPROCS(0), Limits: proof.Limits{MaxN: n.cfg.GPU.ChallengeMaxN}},
		challenge.Config{Limits: proof.Limits{MaxN: n.cfg.GPU.ChallengeMaxN}, MinInterval: time.Duration(n.cfg.GPU.ChallengeMinInterval),
			Limits2: n.proofLimits2(), Prover2: n.prover2},
		n.log.With("component", "challenge"))
	n.proofs.Start(base)
	n.gossip, err = gossip.New(n.cfg.Gossip, n.net.Host(), key, agent, n.log.With("component", "gossip"),
		gossip.WithTopicPrefix(n.net.Def().TopicPrefix), gossip.WithTopics(n.gossipTopics()...),
		gossip.WithHeartbeatTopics(n.heartbeatTopics()...))
	if err != nil {
		return err
	}
	// Heartbeats carry this node's coordinate; pings to a peer turn into
	// coordinate updates with the coordinate its heartbeats carry, or its
	// last coordinate exchange gave (coordx.go), whichever is newer.
	// A node with no sample yet still announces its coordinate (the
	// origin, with Vivaldi's high initial error): peers need one to take
	// the first samples against it.
	lat := n.net.Latency()
	n.gossip.Presence().SetCoordinate(func() (coord.Coordinate, bool) {
		return *ownCoordinate(lat), true
	})
	lat.SetSource(coordSource(n.gossip.Presence(), &n.coords))
	n.serveCoords()
	// The market exists before the publisher starts (records show its
	// reservations) and serves its streams once the publisher is set.
	if err := n.newJobs(life); err != nil {
		return err
	}
	n.startMarket(life)
	n.jobs.Start(base)
	if err := n.startAnchoring(ctx, life); err != nil {
		return err
	}
	// Accepted awards admit their requester's work through the run protocol.
	n.overlay = n.startOverlay(base)
	n.runs = run.NewServer(n.net.Host(), n.execs, n.jobs, run.ServerConfig{
		Dir: filepath.Join(dir, "jobs"), Limits: n.cfg.Executor.Limits(), Heartbeat: time.Duration(n.cfg.Market.HeartbeatInterval),
		GPU: n.gpuAccountant(), Knobs: n.knobs().Run, Overlay: n.overlay,
	}, n.log.With("component", "run"))
	n.runs.Start(base)
	if err := n.gossip.Start(ctx); err != nil {
		return err
	}
	n.wg.Go(func() { n.watchHeartbeats(life) })
	n.wg.Go(func() { n.exchangeCoords(life) })
	n.started = time.Now()
	if n.opts.NoAPI {
		n.log.Info("node started without an API", "peer", n.PeerID().String(), "addrs", fmt.Sprint(n.net.ListenAddrs()))
		if n.opts.Ready != nil {
			fmt.Fprintf(n.opts.Ready, "%s peer=%s api=none\n", ReadyPrefix, n.PeerID())
		}
		return nil
	}
	if n.token, err = api.LoadOrCreateToken(dir); err != nil {
		return err
	}
	n.api, err = api.Listen(n.cfg.API.Listen, n, n.log.With("component", "api"), n.apiOptions()...)
	if err != nil {
		return err
	}
	n.api.Serve()
	if _, err := api.NewClient(n.api.URL()).Status(ctx); err != nil {
		return fmt.Errorf("API self-check: %w", err)
	}
	if err := api.WriteAddrFile(dir, n.api.URL()); err != nil {
		return fmt.Errorf("write API address: %w", err)
	}
	n.log.Info("node started", "peer", n.PeerID().String(), "network", n.net.Def().Name, "api", n.api.URL(), "addrs", fmt.Sprint(n.net.ListenAddrs()))
	if n.opts.Ready != nil {
		fmt.Fprintf(n.opts.Ready, "%s peer=%s api=%s\n", ReadyPrefix, n.PeerID(), n.api.URL())
	}
	return nil
}

// Close stops the node in the reverse order of Start: the node's own
// goroutines first (each uses parts started before it, and no part uses
// them), then the API, gossip, the run server, the chain, the market, the
// reputation book, the ledger, the challenge service, the network, the
// sampler, the executors, the hardware probe and last the data-dir lock,
// each part closed before anything started ahead of it. It is safe to
// call on a node that failed to start, and more than once.
func (n *Node) Close() error {
	var errs []error
	if n.stop != nil {
		n.stop()
		n.stop = nil
	}
	n.wg.Wait()
	if n.api != nil {
		_ = os.Remove(filepath.Join(n.opts.DataDir, api.AddrFile))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, n.api.Shutdown(ctx))
		cancel()
		n.api = nil
	}
	// Gossip started last: its readers feed the market (job requests) and
	// the anchors, so they stop before what they feed.
	if n.gossip != nil {
		errs = append(errs, n.gossip.Close())
		n.gossip = nil
	}
	if n.runs != nil {
		n.runs.Close()
		n.runs = nil
	}
	if n.overlay != nil {
		errs = append(errs, n.overlay.Close())
		n.overlay = nil
	}
	if n.chain != nil {
		errs = append(errs, n.chain.Close())
		n.chain = nil
	}
	if n.jobs != nil {
		errs = append(errs, n.jobs.Close())
		n.jobs = nil
	}
	n.closeSettlement()
	if n.book != nil {
		errs = append(errs, n.book.Close())
		n.book = nil
	}
	if n.ledger != nil {
		errs = append(errs, n.ledger.Close())
		n.ledger = nil
	}
	if n.proofs != nil {
		errs = append(errs, n.proofs.Close())
		n.proofs = nil
	}
	if n.net != nil {
		errs = append(errs, n.net.Close())
		n.net = nil
	}
	if n.sampler != nil {
		errs = append(errs, n.sampler.Close())
		n.sampler = nil
	}
	if n.execs != nil {
		errs = append(errs, n.execs.Close())
		n.execs = nil
	}
	if n.probe != nil {
		errs = append(errs, n.probe.Close())
		n.probe = nil
	}
	if n.lock != nil {
		errs = append(errs, n.lock.Release())
		n.lock = nil
	}
	return errors.Join(errs...)
}

// PeerID is the node's identity.
func (n *Node) PeerID() peer.ID {
	id, _ := peer.IDFromPrivateKey(n.key)
	return id
}

// Network returns the node's libp2p network.
func (n *Node) Network() *p2p.Network { return n.net }

// Gossip returns the node's gossip router.
func (n *Node) Gossip() *gossip.Router { return n.gossip }

// APIURL returns the base URL of the node's API.
func (n *Node) APIURL() string {
	if n.api == nil {
		return ""
	}
	return n.api.URL()
}

// DataDir returns the node's home.
func (n *Node) DataDir() string { return n.opts.DataDir }

// Status implements api.Backend.
func (n *Node) Status() api.Status {
	h := n.net.Host()
	listen := h.Network().ListenAddresses()
	local := h.Network().InterfaceListenAddresses
	ifaces, _ := local()
	var observed []string
	if all, ok := h.(interface{ AllAddrs() []ma.Multiaddr }); ok {
		for _, a := range all.AllAddrs() {
			if !slices.ContainsFunc(ifaces, a.Equal) {
				observed = append(observed, a.String())
			}
		}
	}
	s := api.Status{
		PeerID:           h.ID().String(),
		Version:          Version,
		Profile:          n.cfg.Profile,
		ListenAddrs:      strs(listen),
		Addrs:            strs(n.net.ListenAddrs()),
		ObservedAddrs:    observed,
		Reachability:     n.net.Reachability().String(),
		Network:          networkStatus(n.net.Status()),
		DHTMode:          n.cfg.P2P.DHTMode,
		RoutingTableSize: n.net.DHT().RoutingTable().Size(),
		ConnectedPeers:   len(h.Network().Peers()),
		Gossip:           n.gossip.Stats(),
		StartedAt:        n.started,
		UptimeSeconds:    time.Since(n.started).Seconds(),
	}
	for _, t := range n.gossipTopics() { // the topics this node subscribes to
		s.Topics = append(s.Topics, api.Topic{Name: t, Peers: len(n.gossip.TopicPeers(t))})
	}
	s.Announces = n.gossip.HeartbeatTopics()
	return s
}

// Challenge puts a proof-of-compute challenge to peer p and returns the
// verdict; the tolerance is the node's gpu.proof_tolerance unless req sets one.
func (n *Node) Challenge(ctx context.Context, p peer.ID, req challenge.Request) (proof.Verdict, error) {
	if req.Tolerance == 0 {
		req.Tolerance = n.cfg.GPU.ProofTolerance
	}
	v, err := challenge.Challenge(ctx, n.net.Host(), p, req)
	if err == nil && n.book != nil {
		kind := reputation.ChallengePassed
		if v.Result != proof.Pass {
			kind = reputation.ChallengeFailed
		}
		n.book.Record(p, kind, fmt.Sprintf("%s: %s", req.Class, v.Result))
	}
	return v, err
}

// Hardware returns what the node detected at start.
func (n *Node) Hardware() gpu.Inventory { return n.hw }

// GPU implements api.Backend: the hardware with its latest telemetry.
func (n *Node) GPU() api.GPU {
	g := api.GPU{
		Inventory:             n.hw.WithTelemetry(n.sampler.Latest()),
		Labels:                n.hw.Labels(),
		SampleIntervalSeconds: time.Duration(n.cfg.GPU.SampleInterval).Seconds(),
	}
	if err := n.sampler.LastError(); err != nil {
		g.SamplerError = err.Error()
	}
	return g
}

// GPUHistory implements api.Backend.
func (n *Node) GPUHistory(device string) ([]gpu.Telemetry, bool) {
	if !slices.ContainsFunc(n.hw.Devices, func(d gpu.Device) bool { return d.ID == device }) {
		return nil, false
	}
	return n.sampler.History(device), true
}

// logHardware says what the node found, once, at start.
func (n *Node) logHardware() {
	for _, d := range n.hw.Devices {
		n.log.Info("device", "id", d.ID, "name", d.Name, "class", d.Class, "pool", d.Pool, "memory_bytes", d.MemoryTotal)
	}
	if n.hw.NVMLError != "" {
		n.log.Info("no NVIDIA GPU in use; offering CPU", "reason", n.hw.NVMLError)
	}
	if v := n.hw.Virtualization; v.VM || v.Container {
		n.log.Info("running virtualised", "vm", v.VM, "hypervisor", v.Hypervisor, "container", v.Container)
	}
	for _, w := range n.hw.Warnings {
		n.log.Warn("hardware", "warning", w)
	}
}

// Peers implements api.Backend: every connected peer, sorted by ID.
func (n *Node) Peers() []api.Peer {
	h := n.net.Host()
	rt := n.net.DHT().RoutingTable()
	ids := h.Network().Peers()
	slices.Sort(ids)
	out := make([]api.Peer, 0, len(ids))
	for _, id := range ids {
		p := api.Peer{ID: id.String(), InRoutingTable: rt.Find(id) != ""}
		for i, c := range h.Network().ConnsToPeer(id) {
			p.Addrs = append(p.Addrs, c.RemoteMultiaddr().String())
			if i == 0 {
				p.Direction = dirName(c.Stat().Direction)
			}
		}
		if v, err := h.Peerstore().Get(id, "AgentVersion"); err == nil {
			p.Agent, _ = v.(string)
		}
		p.LatencyMS = float64(h.Peerstore().LatencyEWMA(id).Microseconds()) / 1000
		if seen, ok := n.gossip.Presence().Lookup(id); ok {
			t := seen.Sent
			p.LastHeartbeat = &t
		}
		if at, via, ok := n.LastHeard(id); ok {
			p.LastHeard, p.HeardVia = &at, via
		}
		out = append(out, p)
	}
	return out
}

func dirName(d network.Direction) string {
	switch d {
	case network.DirInbound:
		return "inbound"
	case network.DirOutbound:
		return "outbound"
	}
	return "unknown"
}

func strs(as []ma.Multiaddr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}
