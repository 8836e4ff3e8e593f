package node

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gpumesh/gpumesh/gpu"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// metrics is the node's Prometheus registry: its own series (read from the
// node's state at each scrape, or counted where the state keeps no count),
// libp2p's, and the Go runtime's. Each node has its own registry, so nodes
// sharing a process (tests) export their own figures.
type metrics struct {
	reg *prometheus.Registry

	dhtRequests *prometheus.CounterVec
	dhtErrors   *prometheus.CounterVec
	execStarted *prometheus.CounterVec
	execEnded   *prometheus.CounterVec
	execRunning *prometheus.GaugeVec
	jobGPU      *jobGPUMetrics
}

// newMetrics builds the registry; n's series are read from n at scrape time.
func newMetrics(n *Node) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		dhtRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gpumesh_dht_requests_total",
			Help: "DHT operations this node made for capacity records and capability keys, by operation (get_value and find_providers are lookups)."}, []string{"op"}),
		dhtErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gpumesh_dht_request_errors_total",
			Help: "DHT operations that failed, by operation."}, []string{"op"}),
		execStarted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gpumesh_executor_runs_started_total",
			Help: "Work started by an executor on this node (one per rank), by executor."}, []string{"executor"}),
		execEnded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gpumesh_executor_runs_total",
			Help: "Work ended on this node, by executor and final status."}, []string{"executor", "status"}),
		execRunning: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gpumesh_executor_runs_running",
			Help: "Work running on this node now, by executor."}, []string{"executor"}),
	}
	m.reg.MustRegister(m.dhtRequests, m.dhtErrors, m.execStarted, m.execEnded, m.execRunning,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		nodeCollector{n}, overlayCollector{n})
	m.jobGPU = newJobGPUMetrics(m.reg)
	return m
}

// MetricsHandler serves the node's metrics in Prometheus's text format.
func (n *Node) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(n.metrics.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Metrics is the node's Prometheus registry: its own series, libp2p's and
// the Go runtime's.
func (n *Node) Metrics() *prometheus.Registry { return n.metrics.reg }

// countingDHT counts the DHT operations of capacity publishing and search.
type countingDHT struct {
	capacity.Routing
	m *metrics
}

func (d countingDHT) count(op string, err error) {
	d.m.dhtRequests.WithLabelValues(op).Inc()
	if err != nil {
		d.m.dhtErrors.WithLabelValues(op).Inc()
	}
}

func (d countingDHT) PutValue(ctx context.Context, key string, value []byte, opts ...routing.Option) error {
	err := d.Routing.PutValue(ctx, key, value, opts...)
	d.count("put_value", err)
	return err
}

func (d countingDHT) GetValue(ctx context.Context, key string, opts ...routing.Option) ([]byte, error) {
	v, err := d.Routing.GetValue(ctx, key, opts...)
	d.count("get_value", err)
	return v, err
}

func (d countingDHT) Provide(ctx context.Context, key cid.Cid, announce bool) error {
	err := d.Routing.Provide(ctx, key, announce)
	d.count("provide", err)
	return err
}

func (d countingDHT) FindProvidersAsync(ctx context.Context, key cid.Cid, count int) <-chan peer.AddrInfo {
	d.count("find_providers", nil)
	return d.Routing.FindProvidersAsync(ctx, key, count)
}

// dhtRouting is the node's DHT as capacity publishing and search use it:
// counted for /metrics.
func (n *Node) dhtRouting() capacity.Routing {
	return countingDHT{Routing: n.net.DHT(), m: n.metrics}
}

// countExecutors wraps every executor of set so that runs are counted.
func (m *metrics) countExecutors(set executor.Set) executor.Set {
	out := make(executor.Set, len(set))
	for name, e := range set {
		out[name] = countingExecutor{Executor: e, m: m}
	}
	return out
}

// countingExecutor counts the work an executor starts and how it ends.
type countingExecutor struct {
	executor.Executor
	m *metrics
}

// Close closes the wrapped executor if it has a Close method.
func (e countingExecutor) Close() error {
	if c, ok := e.Executor.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

func (e countingExecutor) Start(ctx context.Context, job executor.Job) (executor.Handle, error) {
	h, err := e.Executor.Start(ctx, job)
	name := e.Name()
	if err != nil {
		e.m.execEnded.WithLabelValues(name, "start_failed").Inc()
		return h, err
	}
	e.m.execStarted.WithLabelValues(name).Inc()
	e.m.execRunning.WithLabelValues(name).Inc()
	return &countingHandle{Handle: h, name: name, m: e.m}, nil
}

// countingHandle counts its work's end once, the first time Wait sees it.
type countingHandle struct {
	executor.Handle
	name string
	m    *metrics
	once sync.Once
}

func (h *countingHandle) Wait(ctx context.Context) (executor.Result, error) {
	res, err := h.Handle.Wait(ctx)
	if err == nil {
		h.once.Do(func() {
			h.m.execRunning.WithLabelValues(h.name).Dec()
			h.m.execEnded.WithLabelValues(h.name, string(res.Status)).Inc()
		})
	}
	return res, err
}

// nodeCollector reads the node's state at each scrape. It is unchecked (it
// describes nothing up front): what it exports depends on the hardware
// and on what the node has seen.
type nodeCollector struct{ n *Node }

// Describe implements prometheus.Collector.
func (nodeCollector) Describe(chan<- *prometheus.Desc) {}

var (
	descInfo       = prometheus.NewDesc("gpumesh_info", "The node's version, peer ID and profile (value 1).", []string{"version", "peer", "profile"}, nil)
	descUptime     = prometheus.NewDesc("gpumesh_uptime_seconds", "Seconds since the node started.", nil, nil)
	descPeers      = prometheus.NewDesc("gpumesh_peers", "Peers with an open connection.", nil, nil)
	descRouting    = prometheus.NewDesc("gpumesh_dht_routing_table_peers", "Peers in the DHT routing table.", nil, nil)
	descReach      = prometheus.NewDesc("gpumesh_reachability", "AutoNAT's verdict on this node (value 1 for the current one).", []string{"reachability"}, nil)
	descGossipIn   = prometheus.NewDesc("gpumesh_gossip_messages_received_total", "Gossip messages validated, by result (accepted, ignored, rejected); this node's own included.", []string{"result"}, nil)
	descGossipRej  = prometheus.NewDesc("gpumesh_gossip_messages_rejected_total", "Gossip messages rejected with a penalty to their sender, by reason.", []string{"reason"}, nil)
	descGossipOut  = prometheus.NewDesc("gpumesh_gossip_messages_published_total", "Gossip messages this node published.", nil, nil)
	descTopicPeers = prometheus.NewDesc("gpumesh_gossip_topic_peers", "Peers known to be subscribed to each topic.", []string{"topic"}, nil)
	descBidsSent   = prometheus.NewDesc("gpumesh_market_bids_sent_total", "Bids this node sent as provider.", nil, nil)
	descBidsRef    = prometheus.NewDesc("gpumesh_market_bids_refused_total", "Bids of this node that requesters refused or that did not arrive.", nil, nil)
	descBidsRecv   = prometheus.NewDesc("gpumesh_market_bids_received", "Bids received for the jobs this node requested and still remembers.", nil, nil)
	descDeclined   = prometheus.NewDesc("gpumesh_market_declined_total", "Job requests this node did not bid on, by the check that failed.", []string{"check"}, nil)
	descRefused    = prometheus.NewDesc("gpumesh_market_refused_total", "Bids, awards and releases this node refused, by reason.", []string{"reason"}, nil)
	descAwards     = prometheus.NewDesc("gpumesh_market_awards_accepted_total", "Awards this node accepted as provider.", nil, nil)
	descReleased   = prometheus.NewDesc("gpumesh_market_reservations_released_total", "Reservations of this node that ended.", nil, nil)
	descJobs       = prometheus.NewDesc("gpumesh_jobs", "Jobs this node remembers, by role (requester, provider) and state.", []string{"role", "state"}, nil)
	descPaused     = prometheus.NewDesc("gpumesh_offer_paused", "1 when offering is paused (gpumesh pause).", nil, nil)
	descPublished  = prometheus.NewDesc("gpumesh_offer_published", "1 when the latest capacity record reached the DHT.", nil, nil)
	descAsk        = prometheus.NewDesc("gpumesh_offer_price_usd_per_hour", "This node's floor ask per device-hour, by device class.", []string{"class"}, nil)
	descGFLOPS     = prometheus.NewDesc("gpumesh_proof_gflops", "Throughput measured by this node's proof-of-compute self-test, by class.", []string{"class"}, nil)
	descEntries    = prometheus.NewDesc("gpumesh_ledger_entries", "Entries (receipts) in this node's ledger.", nil, nil)
	descReceipts   = prometheus.NewDesc("gpumesh_receipts", "Pieces of work settled by receipts in this node's ledger (latest receipt of each), by incentive pool.", []string{"pool"}, nil)
	descEarned     = prometheus.NewDesc("gpumesh_ledger_amount_usd", "Amounts of this node's receipts in USD, by incentive pool and kind (earned, spent, provider_fees, requester_fees).", []string{"pool", "kind"}, nil)
	descAnchorOn   = prometheus.NewDesc("gpumesh_anchoring_enabled", "1 when the ledger is anchored on a chain.", nil, nil)
	descAnchors    = prometheus.NewDesc("gpumesh_anchors", "This node's anchors, by state (pending, confirmed, dropped).", []string{"state"}, nil)
	descAnchored   = prometheus.NewDesc("gpumesh_anchored_entries", "Ledger size covered by the newest anchored checkpoint.", nil, nil)
	descGPU        = map[string]*prometheus.Desc{}
)

// gpuSeries are the telemetry fields exported per device: JSON field name,
// metric name, help.
var gpuSeries = []struct{ field, name, help string }{
	{"temperature_c", "gpumesh_gpu_temperature_celsius", "Device temperature in degrees Celsius."},
	{"power_w", "gpumesh_gpu_power_watts", "Device power draw in watts."},
	{"power_limit_w", "gpumesh_gpu_power_limit_watts", "Power limit the driver enforces, in watts."},
	{"utilization", "gpumesh_gpu_utilization_percent", "Percent of time the device was busy."},
	{"memory_utilization", "gpumesh_gpu_memory_utilization_percent", "Percent of time the device memory was read or written."},
	{"memory_used_bytes", "gpumesh_gpu_memory_used_bytes", "Device memory in use, bytes."},
	{"sm_clock_mhz", "gpumesh_gpu_sm_clock_mhz", "Streaming multiprocessor clock, MHz."},
}

var descGPUMemTotal = prometheus.NewDesc("gpumesh_gpu_memory_total_bytes", "Device memory, bytes.", []string{"device", "index", "class"}, nil)

func init() {
	for _, s := range gpuSeries {
		descGPU[s.field] = prometheus.NewDesc(s.name, s.help, []string{"device", "index", "class"}, nil)
	}
}

// Collect implements prometheus.Collector.
func (c nodeCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.n
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	if n.net == nil || n.gossip == nil {
		return // not started, or closed
	}
	gauge(descInfo, 1, Version, n.PeerID().String(), n.cfg.Profile)
	if !n.started.IsZero() {
		gauge(descUptime, time.Since(n.started).Seconds())
	}
	gauge(descPeers, float64(len(n.net.Host().Network().Peers())))
	gauge(descRouting, float64(n.net.DHT().RoutingTable().Size()))
	gauge(descReach, 1, n.net.Reachability().String())

	gs := n.gossip.Stats()
	rejected := uint64(0)
	for reason, v := range gs.Rejected {
		counter(descGossipRej, float64(v), reason)
		rejected += v
	}
	counter(descGossipIn, float64(gs.Accepted), "accepted")
	counter(descGossipIn, float64(gs.Ignored), "ignored")
	counter(descGossipIn, float64(rejected), "rejected")
	counter(descGossipOut, float64(gs.Published))
	for _, t := range n.gossipTopics() { // the topics this node subscribes to
		gauge(descTopicPeers, float64(len(n.gossip.TopicPeers(t))), t)
	}

	if n.jobs != nil {
		st := n.jobs.Stats()
		counter(descBidsSent, float64(st.BidsSent))
		counter(descBidsRef, float64(st.BidsRefused))
		counter(descAwards, float64(st.Accepted))
		counter(descReleased, float64(st.Released))
		for check, v := range st.Declined {
			counter(descDeclined, float64(v), check)
		}
		for reason, v := range st.Refused {
			counter(descRefused, float64(v), reason)
		}
		states := map[string]int{}
		for _, s := range []string{market.StateBidding, market.StateAwarding, market.StateFormed, market.StateRunning, market.StateSucceeded, market.StateFailed} {
			states[s] = 0
		}
		bids := 0
		for _, j := range n.jobs.Jobs() {
			states[j.State]++
			bids += j.Bids
		}
		gauge(descBidsRecv, float64(bids))
		for s, v := range states {
			gauge(descJobs, float64(v), "requester", s)
		}
		prov := map[string]int{"held": 0, "running": 0, "ended": 0}
		for _, r := range n.jobs.Reservations() {
			switch {
			case r.Ended != "":
				prov["ended"]++
			case r.Running:
				prov["running"]++
			default:
				prov["held"]++
			}
		}
		for s, v := range prov {
			gauge(descJobs, float64(v), "provider", s)
		}
	}

	ms := n.MarketStatus()
	gauge(descPaused, b2f(ms.Paused))
	gauge(descPublished, b2f(ms.Published))
	for _, a := range ms.Asks {
		gauge(descAsk, a.Price, a.Class)
	}
	for _, p := range ms.Proofs {
		gauge(descGFLOPS, p.GFLOPS, p.Class)
	}

	if l := n.ledger; l != nil {
		gauge(descEntries, float64(l.Size()))
		if bal, err := l.Balances(n.PeerID()); err == nil {
			for pool, b := range bal {
				gauge(descReceipts, float64(b.Receipts), pool)
				gauge(descEarned, usd(b.Earned), pool, "earned")
				gauge(descEarned, usd(b.Spent), pool, "spent")
				gauge(descEarned, usd(b.ProviderFees), pool, "provider_fees")
				gauge(descEarned, usd(b.RequesterFees), pool, "requester_fees")
			}
		}
	}
	if n.anchorer != nil {
		st := n.Anchoring()
		gauge(descAnchorOn, b2f(st.Enabled))
		gauge(descAnchored, float64(st.Anchored))
		states := map[string]int{string(anchor.StatePending): 0, string(anchor.StateConfirmed): 0, string(anchor.StateDropped): 0}
		for _, a := range n.anchorer.Anchors() {
			states[string(a.State)]++
		}
		for s, v := range states {
			gauge(descAnchors, float64(v), s)
		}
	}

	if n.sampler != nil {
		latest := map[string]gpu.Telemetry{}
		for _, t := range n.sampler.Latest() {
			latest[t.Device] = t
		}
		for _, d := range n.hw.Devices {
			idx := strconv.Itoa(d.Index)
			gauge(descGPUMemTotal, float64(d.MemoryTotal), d.ID, idx, d.Class)
			t, ok := latest[d.ID]
			if !ok {
				continue
			}
			vals := map[string]float64{
				"temperature_c": t.TemperatureC, "power_w": t.PowerW, "power_limit_w": t.PowerLimitW,
				"utilization": t.Utilization, "memory_utilization": t.MemoryUtilization,
				"memory_used_bytes": float64(t.MemoryUsed), "sm_clock_mhz": float64(t.SMClockMHz),
			}
			for _, s := range gpuSeries {
				if t.Known(s.field) {
					gauge(descGPU[s.field], vals[s.field], d.ID, idx, d.Class)
				}
			}
		}
	}
}

// usd converts micro-USD to USD.
func usd(m ledger.Micros) float64 { return float64(m) / 1e6 }
