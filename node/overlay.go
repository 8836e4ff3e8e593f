package node

import (
	"context"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpumesh/gpumesh/p2p/overlay"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// startOverlay starts the job networks' service (p2p/overlay) where this
// host can run them (Linux, as root, with /dev/net/tun), or returns nil
// and logs why not: multi-rank process jobs then run without a network,
// as before. A peer that breaks its protocol is charged a violation in
// the reputation book (opened before: newJobs). executor.job_egress =
// "internet" turns job egress on (overlay.WithEgress), after removing the
// egress leftovers of an earlier run.
func (n *Node) startOverlay(ctx context.Context) *overlay.Service {
	if err := overlay.Supported(); err != nil {
		n.log.Info("job networks off", "reason", err.Error())
		return nil
	}
	book := n.book
	opts := []overlay.Option{overlay.WithViolations(func(p peer.ID, how overlay.Drop) {
		book.Record(p, reputation.Violation, "job network: "+string(how))
	})}
	if n.cfg.Executor.JobEgress == executor.EgressInternet {
		// A crash leaves egress nftables tables behind (the veths die
		// with the jobs' namespaces). Only a node with egress on cleans:
		// the clean-up removes every gpumesh egress table of the host's
		// namespace, and other nodes there (tests, a second data dir)
		// must keep theirs.
		if err := overlay.CleanEgress(); err != nil {
			n.log.Warn("job egress left by an earlier run not removed", "err", err)
		}
		opts = append(opts, overlay.WithEgress())
		n.log.Info("job egress on: networked jobs reach public IPv4 addresses")
	}
	s := overlay.New(n.net.Host(), n.log.With("component", "overlay"), opts...)
	s.Start(ctx)
	return s
}

// overlayCollector exports the job networks' counters (p2p/overlay).
type overlayCollector struct{ n *Node }

var (
	descOverlayBytes   = prometheus.NewDesc("gpumesh_job_network_bytes_total", "Bytes of IP packets on the job networks this provider serves, by job and direction (in: delivered to a local rank; out: sent by one).", []string{"job", "direction"}, nil)
	descOverlayPackets = prometheus.NewDesc("gpumesh_job_network_packets_total", "IP packets on the job networks this provider serves, by job and direction.", []string{"job", "direction"}, nil)
	descOverlayDrops   = prometheus.NewDesc("gpumesh_job_network_drops_total", "Packets (streams, for not_member) the job networks this provider serves dropped, by job and reason.", []string{"job", "reason"}, nil)
	descOverlayUnknown = prometheus.NewDesc("gpumesh_job_network_unknown_streams_total", "Job-network streams refused because they named a job with no network here.", nil, nil)
)

// Describe implements prometheus.Collector: the series are unchecked.
func (overlayCollector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (c overlayCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.n.overlay
	if s == nil {
		return
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descOverlayUnknown, s.UnknownStreams())
	for job, st := range s.All() {
		counter(descOverlayBytes, st.BytesIn, job, "in")
		counter(descOverlayBytes, st.BytesOut, job, "out")
		counter(descOverlayPackets, st.PacketsIn, job, "in")
		counter(descOverlayPackets, st.PacketsOut, job, "out")
		for reason, v := range st.Drops {
			counter(descOverlayDrops, v, job, string(reason))
		}
	}
}
