package nodetest

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gpumesh/gpumesh/gpu"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/p2p/coord/countryrtt"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/marcopolo/simnet"
)

// SimPort is the UDP port every simulated node listens on (QUIC), each on
// its own simulated public IPv4 address.
const SimPort = 4101

// Metro RTT bounds: two nodes in one country are this far apart (the
// table's same-country rows mix metro and nationwide paths, so they are not
// used).
const (
	simMetroMin = 5 * time.Millisecond
	simMetroMax = 20 * time.Millisecond
)

// simDefaultCountries is how many of the best-measured countries make up
// the default placement pool.
const simDefaultCountries = 50

// SimOptions tune a simulated network.
type SimOptions struct {
	// Countries is the placement pool (ISO 3166 alpha-2 codes of the
	// countryrtt table); by default the 50 best-measured countries
	// (DefaultSimCountries). Nodes are spread over a seeded shuffle of the
	// pool, one per country before any country gets a second node.
	Countries []string
	// Place, if set, chooses node i's country and overrides Countries.
	Place func(i int) string
	// Seed seeds placement, metro delays and jitter: the same seed builds
	// the same network.
	Seed uint64
	// Jitter, if positive, adds a uniformly random delay in [0, Jitter) to
	// every packet (one way), drawn from a source seeded by Seed. Off by
	// default; packets may then be reordered, as on the internet.
	Jitter time.Duration
	// RTT, if set, overrides the round-trip time between nodes i and j
	// (i < j) where it returns true: planted routes the country table
	// does not have, such as a pair closer than the triangle inequality
	// through any third node allows.
	RTT func(i, j int) (time.Duration, bool)
	// Bandwidth is every node's uplink and downlink in bits per second
	// (default 100 Mbit/s).
	Bandwidth int
	// Configure, if set, edits node i's config (the test profile) before it starts.
	Configure func(i int, c *config.Config)
	// Log receives the nodes' and the simulated network's logs; discarded
	// unless GPUMESH_TEST_LOG is set.
	Log *slog.Logger
	// Detect, if set, is every node's hardware detection (see node.Options).
	Detect func(ctx context.Context, dataDir string) (*gpu.Probe, gpu.Inventory, error)
	// Spare is how many address slots, beyond the n started at once, are
	// placed for nodes that join later (StartNode): churn.
	Spare int
	// HostOptions, if set, adds libp2p options to node i's host (after
	// the simulated transport), e.g. a bandwidth reporter.
	HostOptions func(i int) []libp2p.Option
	// Gater, if set, is node i's connection gater (nil: none), e.g. one
	// that refuses inbound connections as a NAT would.
	Gater func(i int) connmgr.ConnectionGater
}

// Sim is a fleet of full gpumesh nodes on a simulated internet: go-libp2p's
// x/simlibp2p, real QUIC hosts exchanging packets through a
// github.com/marcopolo/simnet router that delays each packet by the
// measured RTT between the countries of its two ends (countryrtt). Nodes[0]
// is everyone's bootstrap peer, and the Fleet's Wait helpers work on it.
//
// A Sim is meant to run inside testing/synctest's synctest.Test: the
// network's delays are timers, and in a bubble virtual time jumps over
// them whenever every goroutine waits, so a minute of network life takes
// only the CPU time its work needs, and measured RTTs equal the simulated
// ones exactly. Outside a bubble it runs in real time. Inside one, pass the
// bubble's t so that Close, registered with t.Cleanup, runs inside the
// bubble before synctest.Test checks that every goroutine has ended, and
// start nothing in the bubble that waits on a real socket (the nodes have
// no HTTP API for that reason): such a goroutine never counts as idle, so
// virtual time would stop. synctest.Test takes a *testing.T only, so a
// benchmark measures a Sim from a test (reporting virtual-time figures) or
// runs it in real time.
//
// The latency model: a packet from node i to node j takes RTT(i, j)/2,
// plus jitter if SimOptions.Jitter is set. RTT(i, j) is the mean RIPE Atlas
// RTT between the two countries (countryrtt); within one country, where the
// table's rows mix metro and nationwide paths, it is a metro RTT, the mean
// of the two nodes' own metro delays, each drawn (seeded) from 5-20 ms. A
// country pair the table lacks gets the fastest path through a third
// country, min over k of RTT(a,k)+RTT(k,b), or, when no third country was
// measured with both, the larger of the two countries' median RTTs to all
// others. Every node's uplink and downlink are SimOptions.Bandwidth.
type Sim struct {
	Fleet
	net       *simnet.Simnet
	countries []string
	rtt       []time.Duration // n*n, i*n+j
	index     map[netip.Addr]int
	jitter    time.Duration
	mu        sync.Mutex // guards rng
	rng       *rand.Rand
	closeOnce sync.Once

	opts  SimOptions
	dirs  []string
	boot  []string
	cut   []atomic.Bool // per slot: every packet from or to it is lost (Cut)
	total int           // address slots: n + Spare
	dials atomic.Int64  // dial-only endpoints handed out (dialAddr)
	// part, when set, is each slot's side of a partition: packets between
	// two sides are lost (Partition, Heal).
	part atomic.Pointer[[]int]
}

// Partition splits the network: from now on every packet between nodes
// whose side(i) differ is lost (delayed past any run's end), until Heal.
// Connections across the split time out as on a real cut link.
func (s *Sim) Partition(side func(i int) int) {
	sides := make([]int, s.total)
	for i := range sides {
		sides[i] = side(i)
	}
	s.part.Store(&sides)
}

// Heal ends a Partition: packets sent from now on cross again.
func (s *Sim) Heal() { s.part.Store(nil) }

// dialAddr is the address of a dial-only endpoint (a host that listens on
// nothing: AutoNAT v2's dial-back host, see simQUIC): one past the node
// slots each, so packets to and from it travel without delay.
func (s *Sim) dialAddr() *net.UDPAddr {
	k := s.total + int(s.dials.Add(1))
	return &net.UDPAddr{IP: simnet.IntToPublicIPv4(k), Port: SimPort}
}

// DefaultSimCountries returns the default placement pool: the 50
// best-measured countries of the countryrtt table, whose pairs are all
// measured (the table lists no pseudo-countries).
func DefaultSimCountries() ([]string, error) {
	tab, err := countryrtt.Load()
	if err != nil {
		return nil, err
	}
	cs := tab.Countries()
	return cs[:min(simDefaultCountries, len(cs))], nil
}

// StartSim builds a simulated network of n nodes, places them in countries,
// starts them (node 0 first, then the others with node 0 as their bootstrap
// peer) and registers Close with t.Cleanup. Like Start it does not wait for
// the network to settle: use the Wait helpers. Call it inside synctest.Test
// with the bubble's t (see Sim).
func StartSim(t TB, n int, opts SimOptions) *Sim {
	t.Helper()
	if opts.Bandwidth <= 0 {
		opts.Bandwidth = 100_000_000
	}
	if opts.Log == nil {
		opts.Log = defaultLog()
	}
	s, err := newSim(n+max(opts.Spare, 0), opts)
	if err != nil {
		t.Fatalf("start sim: %v", err)
	}
	s.opts = opts
	// The data dirs first: cleanups run last-in first-out, so the nodes
	// close (their ledgers flushing) before their folders are removed.
	s.dirs = make([]string, s.total)
	for i := range s.dirs {
		s.dirs[i] = t.TempDir()
	}
	s.net = &simnet.Simnet{LatencyFunc: s.latency, Logger: opts.Log.With("component", "simnet")}
	s.net.Start()
	t.Cleanup(s.Close)
	for i := range n {
		if err := s.StartNode(i); err != nil {
			t.Fatalf("start sim: %v", err)
		}
	}
	return s
}

// Slots is how many nodes the Sim has addresses for: n plus SimOptions.Spare.
func (s *Sim) Slots() int { return s.total }

// StartNode starts a node in address slot i (an unused one: a slot is
// used once, a node that left does not come back under its address), with
// node 0 as its bootstrap peer. Nodes[i] holds it once it started.
func (s *Sim) StartNode(i int) error {
	if i < 0 || i >= s.total {
		return fmt.Errorf("node %d: no such slot (%d)", i, s.total)
	}
	if s.Nodes[i] != nil {
		return fmt.Errorf("node %d: slot in use", i)
	}
	c, err := config.ForProfile("test")
	if err != nil {
		return err
	}
	c.P2P.Bootstrap = s.boot
	if i == 0 {
		SizeForFleet(&c.P2P, s.total)
	}
	if s.opts.Configure != nil {
		s.opts.Configure(i, &c)
	}
	link := simnet.NodeBiDiLinkSettings{
		Uplink:   simnet.LinkSettings{BitsPerSecond: s.opts.Bandwidth},
		Downlink: simnet.LinkSettings{BitsPerSecond: s.opts.Bandwidth},
	}
	addr := fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", simnet.IntToPublicIPv4(i), SimPort)
	host := []libp2p.Option{
		libp2p.ListenAddrStrings(addr),
		simQUIC(s.net, link, s.dialAddr),
		// Observed-address discovery stalls synctest (see
		// simlibp2p); every simulated address is public anyway.
		libp2p.DisableIdentifyAddressDiscovery(),
	}
	if s.opts.HostOptions != nil {
		host = append(host, s.opts.HostOptions(i)...)
	}
	netOpts := []p2p.Option{p2p.WithTransports(host...)}
	if s.opts.Gater != nil {
		if g := s.opts.Gater(i); g != nil {
			netOpts = append(netOpts, p2p.WithConnectionGater(g))
		}
	}
	nd, err := node.New(node.Options{
		DataDir: s.dirs[i],
		Config:  c,
		Log:     s.opts.Log.With("node", i, "country", s.countries[i]),
		Detect:  s.opts.Detect,
		NoAPI:   true,
		Knobs:   s.actors[i].knobs(),
		Network: netOpts,
	})
	if err == nil {
		s.actors[i].node.Store(nd)
		err = nd.Start(context.Background())
	}
	if err != nil {
		return fmt.Errorf("node %d (%s): %w", i, s.countries[i], err)
	}
	s.Nodes[i] = nd
	if i == 0 {
		for _, a := range nd.Network().ListenAddrs() {
			s.boot = append(s.boot, a.String())
		}
	}
	return nil
}

// StopNode closes node i and empties its slot. With abrupt, the node
// vanishes without a goodbye: every packet from or to its address is lost
// from now on (Cut), so its peers learn only by their own timeouts, as
// when a machine loses power; otherwise it closes its connections cleanly.
func (s *Sim) StopNode(i int, abrupt bool) error {
	nd := s.Nodes[i]
	if nd == nil {
		return fmt.Errorf("node %d: not running", i)
	}
	if abrupt {
		s.Cut(i)
	}
	s.Nodes[i] = nil
	return nd.Close()
}

// Cut loses every packet from or to node i from now on (it is delayed
// past any run's end): the node is unplugged.
func (s *Sim) Cut(i int) { s.cut[i].Store(true) }

// newSim places n nodes and computes the RTT of every pair.
func newSim(n int, opts SimOptions) (*Sim, error) {
	tab, err := countryrtt.Load()
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15))
	pool := opts.Countries
	if len(pool) == 0 {
		if pool, err = DefaultSimCountries(); err != nil {
			return nil, err
		}
	}
	pool = slices.Clone(pool)
	rng.Shuffle(len(pool), func(a, b int) { pool[a], pool[b] = pool[b], pool[a] })
	known := map[string]bool{}
	for _, c := range tab.Countries() {
		known[c] = true
	}
	s := &Sim{
		Fleet:     Fleet{Nodes: make([]*node.Node, n), actors: newActors(n, opts.Log)},
		cut:       make([]atomic.Bool, n),
		total:     n,
		countries: make([]string, n),
		rtt:       make([]time.Duration, n*n),
		index:     make(map[netip.Addr]int, n),
		jitter:    opts.Jitter,
		rng:       rng,
	}
	metro := make([]time.Duration, n)
	for i := range n {
		c := pool[i%len(pool)]
		if opts.Place != nil {
			c = opts.Place(i)
		}
		if !known[c] {
			return nil, fmt.Errorf("node %d: country %q has no RTT measurements", i, c)
		}
		s.countries[i] = c
		metro[i] = simMetroMin + time.Duration(rng.Int64N(int64(simMetroMax-simMetroMin)))
		ip, _ := netip.AddrFromSlice(simnet.IntToPublicIPv4(i).To4())
		s.index[ip] = i
	}
	est := map[[2]string]time.Duration{}
	for i := range n {
		for j := i + 1; j < n; j++ {
			a, b := s.countries[i], s.countries[j]
			var d time.Duration
			if a == b {
				d = (metro[i] + metro[j]) / 2
			} else if st, ok := tab.Between(a, b); ok {
				d = st.Mean
			} else {
				k := [2]string{min(a, b), max(a, b)}
				if _, ok := est[k]; !ok {
					est[k] = estimateRTT(tab, a, b)
				}
				d = est[k]
			}
			if opts.RTT != nil {
				if o, ok := opts.RTT(i, j); ok {
					d = o
				}
			}
			s.rtt[i*n+j], s.rtt[j*n+i] = d, d
		}
	}
	return s, nil
}

// estimateRTT stands in for a country pair the table lacks (see Sim): the
// fastest path through a third country, or the larger of the two
// countries' median RTTs to everyone else.
func estimateRTT(tab *countryrtt.Table, a, b string) time.Duration {
	var best time.Duration
	var ra, rb []time.Duration
	for _, k := range tab.Countries() {
		if k == a || k == b {
			continue
		}
		sa, okA := tab.Between(a, k)
		sb, okB := tab.Between(k, b)
		if okA {
			ra = append(ra, sa.Mean)
		}
		if okB {
			rb = append(rb, sb.Mean)
		}
		if okA && okB && (best == 0 || sa.Mean+sb.Mean < best) {
			best = sa.Mean + sb.Mean
		}
	}
	if best > 0 {
		return best
	}
	median := func(ds []time.Duration) time.Duration {
		if len(ds) == 0 {
			return 0
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	return max(median(ra), median(rb))
}

// latency is the simnet's LatencyFunc: half the pair's RTT one way, plus
// jitter if configured. Packets from or to an address the Sim did not
// create (none are expected) travel instantly.
func (s *Sim) latency(p *simnet.Packet) time.Duration {
	from, okF := s.nodeOf(p.From)
	to, okT := s.nodeOf(p.To)
	if !okF || !okT {
		return 0
	}
	if s.cut[from].Load() || s.cut[to].Load() {
		return cutDelay
	}
	if sides := s.part.Load(); sides != nil && (*sides)[from] != (*sides)[to] {
		return cutDelay
	}
	d := s.rtt[from*len(s.countries)+to] / 2
	if s.jitter > 0 {
		s.mu.Lock()
		d += time.Duration(s.rng.Int64N(int64(s.jitter)))
		s.mu.Unlock()
	}
	return d
}

// nodeOf maps a packet's address to its node.
func (s *Sim) nodeOf(a net.Addr) (int, bool) {
	u, ok := a.(*net.UDPAddr)
	if !ok {
		return 0, false
	}
	ip, ok := netip.AddrFromSlice(u.IP)
	if !ok {
		return 0, false
	}
	i, ok := s.index[ip.Unmap()]
	return i, ok
}

// Country returns node i's country (ISO 3166 alpha-2).
func (s *Sim) Country(i int) string { return s.countries[i] }

// RTT returns the round-trip time the network applies between nodes i and
// j, jitter excluded: the mean RIPE Atlas RTT between their countries, a
// metro RTT of 5-20 ms within one country, an estimate for pairs never
// measured (see Sim), and 0 for i == j.
func (s *Sim) RTT(i, j int) time.Duration { return s.rtt[i*len(s.countries)+j] }

// Close stops every node, then the simulated network. It is registered with
// t.Cleanup by StartSim and safe to call more than once.
func (s *Sim) Close() {
	s.closeOnce.Do(func() {
		s.Fleet.Close()
		if s.net != nil {
			s.net.Close()
		}
		// Some libp2p goroutines outlive their host on a timer (pubsub's
		// announceRetry sleeps up to a second); a synctest bubble must not
		// end before they do. In virtual time this wait costs nothing.
		time.Sleep(strayTimers)
	})
}

// cutDelay is how late a packet from or to a cut node arrives: never,
// within any run (see Cut).
const cutDelay = 1000 * time.Hour

// strayTimers is the longest a libp2p goroutine sleeps after its host closed.
const strayTimers = 2 * time.Second
