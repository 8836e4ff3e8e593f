//go:build linux && cgo

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"

	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p"
)

// discoveryModels are the five device classes of B2's providers (NVML
// mocks), 20 providers each at N = 100.
var discoveryModels = []gpus.Config{gpus.A100_SXM4_80GB, gpus.H100_SXM5_80GB, gpus.A30_PCIE_24GB, gpus.H200_SXM5_141GB, gpus.B200_SXM5_180GB}

// benchDiscovery is B2: providers advertise capability keys and capacity
// records in the DHT; a requester that is not the bootstrap node asks for
// 10 providers of one class (Enough = 10), and, separately, for all of
// them. It counts the DHT messages each search sends and the hops its
// lookups take (from kad-dht's query events).
func benchDiscovery(providers, searches int) Result {
	res := Result{
		ID: "B2", Name: "discovery: providers of one class through capability keys", Unit: "ms",
		Params: map[string]any{"providers": providers, "classes": len(discoveryModels), "searches": searches, "want": 10},
		Target: "p50 <= 20 ms on loopback to find 10 providers of one class; hops and messages per lookup reported",
	}
	tb := &benchTB{}
	defer tb.close()
	n := providers + 2 // node 0 bootstraps, the last node searches; neither offers
	requesterIdx := n - 1
	f := nodetest.Start(tb, n, nodetest.Options{
		Configure: func(i int, c *config.Config) {
			c.Gossip.HeartbeatInterval = p2p.Duration(time.Minute)
			c.Offer.Enabled = i != 0 && i != requesterIdx
		},
		DetectNode: func(i int) nodetest.DetectFunc {
			if i == 0 || i == requesterIdx {
				return nil
			}
			return nodetest.MockGPUs(discoveryModels[i%len(discoveryModels)], 1+i%8)
		},
	})
	f.WaitRoutingTables(tb, 8, 2*time.Minute)
	nodetest.WaitFor(tb, 3*time.Minute, func() bool {
		for i, nd := range f.Nodes {
			if i != 0 && i != requesterIdx && !nd.Offering() {
				return false
			}
		}
		return true
	}, func() string { return "providers did not all publish" })
	requester := f.Nodes[requesterIdx]
	classes := map[string]int{}
	for i, nd := range f.Nodes {
		if i != 0 && i != requesterIdx {
			classes[nd.Hardware().Devices[0].Class]++
		}
	}
	var names []string
	for c := range classes {
		names = append(names, c)
	}
	slices.Sort(names)
	rng := rand.New(rand.NewPCG(2, uint64(providers)))

	type sample struct {
		ms              float64
		found, messages int
		hops            int
		direct, fromDHT int
		firstCandidate  float64
		firstRecord     float64
	}
	run := func(enough int) ([]sample, error) {
		var out []sample
		for range searches {
			class := names[rng.IntN(len(names))]
			ctx, events := routing.RegisterForQueryEvents(context.Background())
			counter := newQueryCounter()
			done := make(chan struct{})
			go func() { counter.consume(events); close(done) }()
			start := time.Now()
			r, err := requester.OffersN(ctx, "gpu_class="+class, enough)
			elapsed := time.Since(start)
			// RegisterForQueryEvents's channel closes when ctx ends; ours never
			// does, so stop counting after the search returns.
			counter.stop()
			<-done
			if err != nil {
				return nil, err
			}
			if want := min(enough, classes[class]); enough > 0 && len(r.Offers) < want || enough == 0 && len(r.Offers) != classes[class] {
				return nil, fmt.Errorf("search for %s found %d providers, want %d", class, len(r.Offers), max(want, classes[class]))
			}
			msgs, hops := counter.result()
			out = append(out, sample{ms: float64(elapsed.Microseconds()) / 1000, found: len(r.Offers), messages: msgs, hops: hops,
				direct: r.Stats.Direct, fromDHT: r.Stats.DHT,
				firstCandidate: float64(r.Stats.FirstCandidate.Microseconds()) / 1000, firstRecord: float64(r.Stats.FirstRecord.Microseconds()) / 1000})
			time.Sleep(20 * time.Millisecond)
		}
		return out, nil
	}
	res.Figures = map[string]float64{}
	for _, mode := range []struct {
		name   string
		enough int
	}{{"10", 10}, {"all", 0}} {
		ss, err := run(mode.enough)
		if err != nil {
			res.Skipped = err.Error()
			return res
		}
		var ms, msgs, hops, fetched, fc, fr []float64
		for _, s := range ss {
			ms = append(ms, s.ms)
			msgs = append(msgs, float64(s.messages))
			hops = append(hops, float64(s.hops))
			fetched = append(fetched, float64(s.direct+s.fromDHT))
			fc, fr = append(fc, s.firstCandidate), append(fr, s.firstRecord)
		}
		res.Figures["p50_"+mode.name] = quantile(ms, 0.5)
		res.Figures["p90_"+mode.name] = quantile(ms, 0.9)
		res.Figures["dht_messages_p50_"+mode.name] = quantile(msgs, 0.5)
		res.Figures["hops_p50_"+mode.name] = quantile(hops, 0.5)
		res.Figures["hops_max_"+mode.name] = slices.Max(hops)
		res.Figures["records_fetched_p50_"+mode.name] = quantile(fetched, 0.5)
		res.Figures["first_candidate_p50_"+mode.name] = quantile(fc, 0.5)
		res.Figures["first_record_p50_"+mode.name] = quantile(fr, 0.5)
	}
	res.Verdict = map[bool]string{true: "met", false: "missed"}[res.Figures["p50_10"] <= 20]
	return res
}

// queryCounter counts a search's DHT messages and the hop depth of the
// peers it queried: peers a lookup starts from are at hop 1, a peer first
// learned from a hop-k peer's answer at hop k+1.
type queryCounter struct {
	mu       sync.Mutex
	messages int
	depth    map[peer.ID]int
	maxHop   int
	quit     chan struct{}
	once     sync.Once
}

func newQueryCounter() *queryCounter {
	return &queryCounter{depth: map[peer.ID]int{}, quit: make(chan struct{})}
}

// consume counts events until stop (the channel closes only with its ctx).
func (c *queryCounter) consume(events <-chan *routing.QueryEvent) {
	for {
		select {
		case <-c.quit:
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			c.mu.Lock()
			switch e.Type {
			case routing.SendingQuery:
				c.messages++
				d, ok := c.depth[e.ID]
				if !ok {
					d = 1
					c.depth[e.ID] = d
				}
				c.maxHop = max(c.maxHop, d)
			case routing.PeerResponse:
				for _, r := range e.Responses {
					if _, ok := c.depth[r.ID]; !ok {
						c.depth[r.ID] = c.depth[e.ID] + 1
					}
				}
			}
			c.mu.Unlock()
		}
	}
}

func (c *queryCounter) stop() { c.once.Do(func() { close(c.quit) }) }

func (c *queryCounter) result() (messages, hops int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.messages, c.maxHop
}
