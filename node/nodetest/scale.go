package nodetest

import (
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/p2p"
)

// ScaleOptions tune a scale simulation (StartScale).
type ScaleOptions struct {
	// Seed seeds placement, the NAT draw and the simulated network.
	Seed uint64
	// NATShare is the share of nodes (never node 0, the bootstrap peer)
	// behind a NAT. simnet has no NAT, so such a node is modelled as one
	// that refuses every inbound connection (it still dials out) and is a
	// DHT client, not a server: others reach it only over connections it
	// opened. Relays and hole punching are not simulated.
	NATShare float64
	// Spare is how many address slots are kept for nodes that join later
	// (Join): at most this many joins.
	Spare int
	// Offer says whether node i offers its CPU on the market (default:
	// every node but node 0).
	Offer func(i int) bool
	// Configure, if set, edits node i's config after the scale defaults.
	Configure func(i int, c *config.Config)
	// Log receives the nodes' logs; discarded unless GPUMESH_TEST_LOG is set.
	Log *slog.Logger
}

// Scale is a Sim sized for hundreds to thousands of nodes, with churn (Join,
// StopNode), nodes behind NAT and per-node meters. Every node runs the
// production gossip heartbeat (30 s) and capacity record timers; what is not
// under test is lightened: no HTTP API or dashboard (as in every Sim), no
// ledger anchoring (off by default), no self-test or proof checks of
// offered classes (the test profile), and each node offers its CPU only.
// Like a Sim it is meant to run inside synctest.Test.
type Scale struct {
	*Sim
	nat    []bool
	meters []*Meter

	mu       sync.Mutex // guards received, next
	received map[string]map[int]time.Duration
	next     int
}

// StartScale starts n nodes (see Scale) and hooks a meter and a job request
// recorder onto each.
func StartScale(t TB, n int, opts ScaleOptions) *Scale {
	t.Helper()
	total := n + max(opts.Spare, 0)
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5ca1e))
	sc := &Scale{nat: make([]bool, total), meters: make([]*Meter, total),
		received: map[string]map[int]time.Duration{}, next: n}
	for i := 1; i < total; i++ {
		sc.nat[i] = rng.Float64() < opts.NATShare
	}
	for i := range sc.meters {
		sc.meters[i] = NewMeter()
	}
	offer := opts.Offer
	if offer == nil {
		offer = func(i int) bool { return i != 0 }
	}
	sc.Sim = StartSim(t, n, SimOptions{
		Seed:  opts.Seed,
		Spare: opts.Spare,
		Log:   opts.Log,
		Configure: func(i int, c *config.Config) {
			ScaleConfig(c)
			c.Offer.Enabled = offer(i)
			if sc.nat[i] {
				c.P2P.DHTMode = p2p.DHTModeClient
			}
			if opts.Configure != nil {
				opts.Configure(i, c)
			}
		},
		HostOptions: func(i int) []libp2p.Option {
			return []libp2p.Option{libp2p.BandwidthReporter(sc.meters[i])}
		},
		Gater: func(i int) connmgr.ConnectionGater {
			if sc.nat[i] {
				return natGater{}
			}
			return nil
		},
	})
	for i := range n {
		sc.watch(i)
	}
	return sc
}

// ScaleConfig sets c's timers to production values where they drive the
// network's steady cost (the gossip heartbeat), and lightens the rest.
func ScaleConfig(c *config.Config) {
	c.Gossip.HeartbeatInterval = gossip.DefaultConfig().HeartbeatInterval
	c.GPU.SampleInterval = p2p.Duration(time.Minute)
	c.P2P.ProbeInterval = p2p.Duration(30 * time.Second)
	c.Offer.Prices = []string{"cpu=1.00"}
}

// watch records how long each job request took to reach node i.
func (sc *Scale) watch(i int) {
	sc.Nodes[i].Gossip().Handle(gossip.TopicJobs, func(r gossip.Received) {
		req, ok := r.Msg.(*gossip.JobRequest)
		if !ok {
			return
		}
		took := time.Since(req.Sent)
		sc.mu.Lock()
		defer sc.mu.Unlock()
		m := sc.received[req.ID]
		if m == nil {
			m = map[int]time.Duration{}
			sc.received[req.ID] = m
		}
		if _, seen := m[i]; !seen {
			m[i] = took
		}
	})
}

// Join starts a new node in the next spare slot and returns its index.
func (sc *Scale) Join() (int, error) {
	sc.mu.Lock()
	i := sc.next
	sc.next++
	sc.mu.Unlock()
	if err := sc.StartNode(i); err != nil {
		return 0, err
	}
	sc.watch(i)
	return i, nil
}

// Live returns the indexes of the running nodes.
func (sc *Scale) Live() []int {
	var live []int
	for i, nd := range sc.Nodes {
		if nd != nil {
			live = append(live, i)
		}
	}
	return live
}

// NAT says whether node i is behind a (modelled) NAT.
func (sc *Scale) NAT(i int) bool { return sc.nat[i] }

// Meter returns node i's traffic meter.
func (sc *Scale) Meter(i int) *Meter { return sc.meters[i] }

// Received returns how long after it was sent (its Sent stamp) each node
// first heard job request id: its gossip delivery time.
func (sc *Scale) Received(id string) map[int]time.Duration {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	out := make(map[int]time.Duration, len(sc.received[id]))
	for k, v := range sc.received[id] {
		out[k] = v
	}
	return out
}

// Memory returns the process's live heap and goroutine stacks after a
// collection, in bytes: divided by the node count, the memory per node.
func Memory() uint64 {
	m := ReadMemory()
	return m.Heap + m.Stacks
}

// MemoryUse is the process's memory at one moment (ReadMemory).
type MemoryUse struct {
	// Heap is the heap in use after a collection (runtime HeapInuse),
	// counting allocations whose pages were never touched (Badger's
	// memtable arenas) in full.
	Heap uint64
	// Stacks is the goroutine stacks' memory (StackInuse).
	Stacks uint64
	// RSS is the resident set (VmRSS of /proc/self/status): what the
	// machine's RAM actually holds, untouched pages not counted; 0 where
	// /proc is not there.
	RSS uint64
	// Goroutines is how many goroutines run.
	Goroutines int
}

// ReadMemory collects garbage and returns the process's memory use.
func ReadMemory() MemoryUse {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return MemoryUse{Heap: ms.HeapInuse, Stacks: ms.StackInuse, RSS: residentSet(),
		Goroutines: runtime.NumGoroutine()}
}

// residentSet reads VmRSS from /proc/self/status, in bytes (0 if unknown).
func residentSet() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// natGater refuses every inbound connection: a node behind a NAT without
// port mapping, relay or hole punching.
type natGater struct{}

func (natGater) InterceptPeerDial(peer.ID) bool                      { return true }
func (natGater) InterceptAddrDial(peer.ID, multiaddr.Multiaddr) bool { return true }
func (natGater) InterceptAccept(network.ConnMultiaddrs) bool         { return false }
func (natGater) InterceptSecured(network.Direction, peer.ID, network.ConnMultiaddrs) bool {
	return true
}
func (natGater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
