package node

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/gpumesh/gpumesh/gpu"
	"github.com/gpumesh/gpumesh/gpu/proof"
	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/scheduler/offers"
)

// capacityState is the node's side of capacity advertising and search.
type capacityState struct {
	publisher *capacity.Publisher // nil when the node offers nothing
	finder    *capacity.Finder
	changed   chan struct{}

	mu     sync.Mutex
	proofs []capacity.Proof
}

// startMarket serves this node's record, publishes it when offering, and
// readies the finder.
func (n *Node) startMarket(life context.Context) {
	h := n.net.Host()
	n.capacity = &capacityState{changed: make(chan struct{}, 1)}
	n.capacity.finder = capacity.NewFinder(n.dhtRouting(), h, capacity.FinderOptions{
		Quorum:           n.cfg.Offer.SearchQuorum,
		RoutingTableSize: n.net.RoutingTableSize,
		Log:              n.log.With("component", "capacity"),
		ObserveRTT:       n.net.Latency().ObserveRTT,
	})
	if n.cfg.Offer.Enabled {
		// Set before Serve: the stream handler reads it from other goroutines.
		n.capacity.publisher = capacity.NewPublisher(n.dhtRouting(), n.key, n.cfg.Offer.Timing(), n.log.With("component", "capacity"))
	}
	publisher := n.capacity.publisher
	capacity.Serve(h, func() []byte {
		if publisher == nil {
			return nil
		}
		_, signed := publisher.Latest()
		return signed
	}, n.log.With("component", "capacity"))
	if publisher == nil {
		n.log.Info("not offering this node's devices (offer.enabled = false)")
		return
	}
	n.wg.Go(func() { publisher.Run(life, n.capacityRecord, n.capacity.changed) })
	// The coordinate settles after start; the publisher republishes when it
	// has moved enough (see capacity's sameOffer).
	n.wg.Go(func() {
		t := time.NewTicker(time.Duration(n.cfg.P2P.ProbeInterval))
		defer t.Stop()
		for {
			select {
			case <-life.Done():
				return
			case <-t.C:
				n.offerChanged()
			}
		}
	})
	if n.cfg.Offer.SelfTest {
		n.wg.Go(func() { n.selfTest(life) })
	}
}

// offerChanged asks the publisher to publish again soon.
func (n *Node) offerChanged() {
	select {
	case n.capacity.changed <- struct{}{}:
	default:
	}
}

// selfTest measures this node's throughput once, for the record.
func (n *Node) selfTest(ctx context.Context) {
	const size = 1024
	prover := proof.CPUProver{Workers: runtime.GOMAXPROCS(0), Limits: proof.Limits{MaxN: size}}
	v, fit, err := proof.SelfTest(ctx, prover, rand.Reader, size, proof.Int8FP32)
	if err != nil || v.Result != proof.Pass {
		n.log.Warn("proof-of-compute self-test failed", "err", err, "result", v.Result)
		return
	}
	class := fit.Class
	if len(n.hw.Devices) > 0 && n.hw.Devices[0].Pool == gpu.PoolCPU {
		class = n.hw.Devices[0].Class // a CPU's class is its architecture; the figure says how much of it
	}
	n.capacity.mu.Lock()
	n.capacity.proofs = []capacity.Proof{{Class: class, GFLOPS: v.Throughput / 1e9, N: size, At: time.Now().UTC().Truncate(time.Second)}}
	n.capacity.mu.Unlock()
	n.log.Info("proof-of-compute self-test", "gflops", fmt.Sprintf("%.1f", v.Throughput/1e9), "class", class)
	n.offerChanged()
}

// capacityRecord builds this node's capacity record from its hardware,
// its [offer] config, its coordinate and its proofs (unsigned, unnumbered).
func (n *Node) capacityRecord() (capacity.Record, error) {
	c := n.Config().Offer
	r := capacity.Record{
		Agent:   "gpumesh/" + Version,
		Prices:  map[string]float64{},
		Country: c.Country,
		Region:  c.Region,
	}
	// Only executors that run here are advertised.
	for _, e := range c.Executors {
		if _, ok := n.execs[e]; ok {
			r.Executors = append(r.Executors, e)
		}
	}
	var reserved map[int]bool
	if n.jobs != nil {
		reserved = n.jobs.Reserved()
	}
	paused := n.Paused()
	for i, d := range n.hw.Devices {
		cd := capacity.Device{
			Class: d.Class, Pool: d.Pool, Model: d.Name,
			MemoryMB: d.MemoryTotal >> 20, ComputeCapability: d.ComputeCapability,
			Free: !reserved[i] && !paused, // held by an accepted award, or offering paused
		}
		if d.Pool == gpu.PoolCPU {
			cd.Cores = max(d.Cores, 1)
		}
		price, ok := c.Price(d.Class, d.Pool)
		if !ok {
			return r, fmt.Errorf("offer.prices has no price for %s or its pool %s", d.Class, d.Pool)
		}
		r.Prices[d.Class] = price
		r.Devices = append(r.Devices, cd)
	}
	if len(r.Devices) > capacity.MaxDevices {
		r.Devices = r.Devices[:capacity.MaxDevices]
	}
	hours, err := c.Windows(time.Now(), time.Local)
	if err != nil {
		return r, err
	}
	r.Hours = hours
	if attrs, _ := c.AttributeMap(); len(attrs) > 0 {
		r.Attributes = attrs
	}
	if co, ok := n.net.Latency().Coordinate(); ok {
		r.Coord = &co
	}
	n.capacity.mu.Lock()
	r.Proofs = slices.Clone(n.capacity.proofs)
	n.capacity.mu.Unlock()
	r.Provable = provable(r.Devices, n.prover2 != nil)
	r.Addrs = advertisedAddrs(n.net.ListenAddrs())
	n.withPayout(&r)
	return r, nil
}

// advertisedAddrs picks at most capacity.MaxAddrs addresses, public ones
// first, each without its trailing /p2p/<own id>. Only that last component
// goes: a relay circuit address keeps its relay's /p2p and /p2p-circuit
// (cutting at the first /p2p made it the relay's own address, and dials
// through it failed with "peer id mismatch").
func advertisedAddrs(addrs []ma.Multiaddr) []string {
	sorted := slices.Clone(addrs)
	slices.SortStableFunc(sorted, func(a, b ma.Multiaddr) int {
		pa, pb := manet.IsPublicAddr(a), manet.IsPublicAddr(b)
		switch {
		case pa && !pb:
			return -1
		case pb && !pa:
			return 1
		}
		return 0
	})
	var out []string
	for _, a := range sorted {
		if len(out) == capacity.MaxAddrs {
			break
		}
		out = append(out, withoutOwnID(a).String())
	}
	return out
}

// withoutOwnID drops a's last component when it is /p2p/<id> and keeps the
// rest, relay hops included.
func withoutOwnID(a ma.Multiaddr) ma.Multiaddr {
	rest, last := ma.SplitLast(a)
	if last == nil || last.Code() != ma.P_P2P {
		return a
	}
	return rest
}

// Offers searches the network's capacity (api.Backend).
func (n *Node) Offers(ctx context.Context, filter, order string, limit int) (offers.Result, error) {
	q := offers.Query{Limit: limit}
	var err error
	if q.Filter, err = offers.Parse(filter); err != nil {
		return offers.Result{}, fmt.Errorf("%w: %w", api.ErrBadRequest, err)
	}
	if q.Order, err = offers.ParseOrder(order); err != nil {
		return offers.Result{}, fmt.Errorf("%w: %w", api.ErrBadRequest, err)
	}
	return n.search(ctx, q)
}

// search runs q from this node's coordinate, within offer.search_timeout.
func (n *Node) search(ctx context.Context, q offers.Query) (offers.Result, error) {
	if co, ok := n.net.Latency().Coordinate(); ok {
		q.Mine = &co
	}
	q.Stake = n.stakeChecker()
	ctx, cancel := context.WithTimeout(ctx, time.Duration(n.Config().Offer.SearchTimeout))
	defer cancel()
	return offers.Search(ctx, n.capacity.finder, q)
}

// SetOffer replaces the node's [offer] settings (prices, region, hours,
// ...) while it runs and publishes the new record within seconds. Turning
// offering on or off needs a restart.
func (n *Node) SetOffer(c capacity.Config) error {
	if err := c.Validate("offer"); err != nil {
		return err
	}
	n.capacity.mu.Lock()
	if c.Enabled != n.cfg.Offer.Enabled {
		n.capacity.mu.Unlock()
		return fmt.Errorf("offer.enabled changes at the next start")
	}
	n.cfg.Offer = c
	n.capacity.mu.Unlock()
	n.offerChanged()
	n.moveShards() // its region or country may have moved it
	return nil
}

// Offering reports whether the node's latest capacity record reached the
// DHT with its capability keys.
func (n *Node) Offering() bool {
	return n.capacity != nil && n.capacity.publisher != nil && n.capacity.publisher.Published()
}

// OffersN is a search for filter that ends once enough offers match (0:
// search to completion), in the default order.
func (n *Node) OffersN(ctx context.Context, filter string, enough int) (offers.Result, error) {
	q := offers.Query{Enough: enough}
	var err error
	if q.Filter, err = offers.Parse(filter); err != nil {
		return offers.Result{}, fmt.Errorf("%w: %w", api.ErrBadRequest, err)
	}
	return n.search(ctx, q)
}

// OwnOffer is this node's latest published capacity record, nil when it
// offers nothing or has not published yet.
func (n *Node) OwnOffer() *capacity.Record {
	if n.capacity == nil || n.capacity.publisher == nil {
		return nil
	}
	r, _ := n.capacity.publisher.Latest()
	return r
}

// FindCapacity fetches one provider's capacity record.
func (n *Node) FindCapacity(ctx context.Context, p peer.ID) (*capacity.Record, error) {
	return n.capacity.finder.Get(ctx, p)
}

// Config returns the node's configuration as it runs now.
func (n *Node) Config() config.Config {
	if n.capacity == nil {
		return n.cfg
	}
	n.capacity.mu.Lock()
	defer n.capacity.mu.Unlock()
	return n.cfg
}
