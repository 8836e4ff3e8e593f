package main

import (
	"fmt"
	"strings"
	"time"
)

// scaleParams are one B13 run's parameters.
type scaleParams struct {
	N          int     // nodes at start, node 0 the bootstrap peer
	NATShare   float64 // share behind NAT (see nodetest.ScaleOptions)
	Requesters int     // the last Requesters nodes submit jobs and offer nothing
	// JobRate is the job load: requests per second across all requesters,
	// each a one-worker CPU job, cancelled once formed.
	JobRate float64
	// ChurnPerMin is how many nodes leave, and as many join, per minute
	// during the load window; AbruptShare of those leaving vanish without
	// a goodbye.
	ChurnPerMin float64
	AbruptShare float64
	// Warmup, Idle and Load are the virtual durations of the settling
	// time, the idle window and the load window.
	Warmup, Idle, Load time.Duration
	Seed               uint64
	// MemoryOnly ends the run once memory is measured, after settling
	// (GPUMESH_B13_MEMONLY): the other figures stay zero.
	MemoryOnly bool
}

// defaultScaleParams are B13's parameters at size n: 30% of the nodes
// behind the modelled NAT (GPUMESH_B13_NAT sets the share), one job every
// 10 s, 1% of the nodes replaced per minute.
func defaultScaleParams(n int) scaleParams {
	return scaleParams{N: n, NATShare: 0.3, Requesters: 3, JobRate: 0.1, ChurnPerMin: max(float64(n)/100, 1), AbruptShare: 0.5,
		Warmup: 90 * time.Second, Idle: 120 * time.Second, Load: 120 * time.Second, Seed: 13}
}

// scaleMeasure is what one run measured. Per-node rates are over the nodes
// that ran through the whole window, per virtual second.
type scaleMeasure struct {
	N                             int
	RunWall                       time.Duration // real time of the whole run
	MemPerNodeMB                  float64       // heap in use + goroutine stacks, after settling
	HeapPerNodeMB, StackPerNodeMB float64       // its two parts
	RSSPerNodeMB                  float64       // resident set / N (what the machine's RAM holds)
	GoroutinesPerNode             float64
	ConnsPerNode                  float64 // connections a node holds, mean, when memory is measured
	IdleMsgs, IdleBytes, IdleCPU  perNode // inbound gossip messages/s, inbound stream bytes/s, CPU ms/s
	LoadMsgs, LoadBytes, LoadCPU  perNode
	BootMsgs, BootBytes, BootConn float64 // node 0 under load: messages/s, bytes/s, connections
	JobsSubmitted, JobsFormed     int
	DeliveryP50, DeliveryP99      time.Duration // job request gossip, requester to matching provider
	DeliveredShare                float64
	Left, Abrupt, Joined          int
	SearchLatency                 time.Duration
	SearchFound, SearchDHT        int                // offers found, DHT operations the search made
	IdleProto                     map[string]float64 // idle inbound bytes/s per node, by protocol
	ClusterK8                     time.Duration
}

// perNode is a per-node rate: mean, median and maximum over nodes. CPU has
// one figure only (process CPU / nodes, in Mean).
type perNode struct{ Mean, P50, Max float64 }

// result is m as B13's Result row for one size.
func (m scaleMeasure) result(p scaleParams) Result {
	f := map[string]float64{
		"nodes":                   float64(m.N),
		"mem_per_node_mb":         m.MemPerNodeMB,
		"heap_per_node_mb":        m.HeapPerNodeMB,
		"stack_per_node_mb":       m.StackPerNodeMB,
		"rss_per_node_mb":         m.RSSPerNodeMB,
		"goroutines_per_node":     m.GoroutinesPerNode,
		"conns_per_node":          m.ConnsPerNode,
		"idle_in_msgs_per_s":      m.IdleMsgs.Mean,
		"idle_in_msgs_per_s_max":  m.IdleMsgs.Max,
		"idle_in_bytes_per_s":     m.IdleBytes.Mean,
		"idle_in_bytes_per_s_max": m.IdleBytes.Max,
		"idle_cpu_ms_per_s":       m.IdleCPU.Mean,
		"load_in_msgs_per_s":      m.LoadMsgs.Mean,
		"load_in_msgs_per_s_max":  m.LoadMsgs.Max,
		"load_in_bytes_per_s":     m.LoadBytes.Mean,
		"load_in_bytes_per_s_max": m.LoadBytes.Max,
		"load_cpu_ms_per_s":       m.LoadCPU.Mean,
		"boot_in_msgs_per_s":      m.BootMsgs,
		"boot_in_bytes_per_s":     m.BootBytes,
		"boot_conns":              m.BootConn,
		"jobs_submitted":          float64(m.JobsSubmitted),
		"jobs_formed":             float64(m.JobsFormed),
		"delivery_p50_ms":         ms(m.DeliveryP50),
		"delivery_p99_ms":         ms(m.DeliveryP99),
		"delivered_share":         m.DeliveredShare,
		"churn_left":              float64(m.Left),
		"churn_abrupt":            float64(m.Abrupt),
		"churn_joined":            float64(m.Joined),
		"search_ms":               ms(m.SearchLatency),
		"search_found":            float64(m.SearchFound),
		"search_dht_ops":          float64(m.SearchDHT),
		"cluster_k8_ms":           ms(m.ClusterK8),
		"wall_s":                  m.RunWall.Seconds(),
	}
	for p, v := range m.IdleProto {
		f["idle_in_bytes_per_s "+p] = v
	}
	return Result{ID: "B13", Name: fmt.Sprintf("scale: %d full nodes on the simulated country network", m.N), Unit: "see figure names",
		Params: map[string]any{"nodes": p.N, "nat_share": p.NATShare, "requesters": p.Requesters, "jobs_per_s": p.JobRate,
			"churn_per_min": p.ChurnPerMin, "abrupt_share": p.AbruptShare, "warmup_s": p.Warmup.Seconds(),
			"idle_s": p.Idle.Seconds(), "load_s": p.Load.Seconds(),
			"network": "QUIC on marcopolo/simnet (nodetest simQUIC), RIPE Atlas country RTTs (50 countries), virtual time (testing/synctest)",
			"rates":   "per node per virtual second over the nodes that ran through the window; CPU is process CPU / live nodes"},
		Target:  "per-node idle cost growing at most logarithmically with N; home node idle traffic < 5 kB/s at 100,000 nodes (by the model, docs/scale.md)",
		Figures: f, Verdict: "measured"}
}

// scaleTable prints B13's results as a markdown table, one column per size.
func scaleTable(rs []Result) string {
	rows := []struct{ key, label string }{
		{"idle_in_msgs_per_s", "idle inbound gossip msgs/s per node (mean)"},
		{"idle_in_bytes_per_s", "idle inbound bytes/s per node (mean)"},
		{"idle_in_bytes_per_s_max", "idle inbound bytes/s per node (max)"},
		{"idle_cpu_ms_per_s", "idle CPU ms/s per node"},
		{"load_in_msgs_per_s", "load inbound gossip msgs/s per node (mean)"},
		{"load_in_bytes_per_s", "load inbound bytes/s per node (mean)"},
		{"load_cpu_ms_per_s", "load CPU ms/s per node"},
		{"boot_in_msgs_per_s", "bootstrap node inbound msgs/s"},
		{"boot_in_bytes_per_s", "bootstrap node inbound bytes/s"},
		{"boot_conns", "bootstrap node connections"},
		{"delivery_p50_ms", "job request delivery p50 (ms)"},
		{"delivery_p99_ms", "job request delivery p99 (ms)"},
		{"delivered_share", "share of matching providers reached"},
		{"jobs_formed", "jobs formed"},
		{"jobs_submitted", "jobs submitted"},
		{"search_ms", "offers search latency (ms)"},
		{"search_dht_ops", "offers search DHT operations"},
		{"search_found", "offers search matches"},
		{"cluster_k8_ms", "time to cluster k=8 (ms)"},
		{"churn_left", "nodes left (churn)"},
		{"churn_abrupt", "of which abruptly"},
		{"mem_per_node_mb", "memory per node (MiB, heap+stacks)"},
		{"heap_per_node_mb", "of which heap (MiB)"},
		{"stack_per_node_mb", "of which goroutine stacks (MiB)"},
		{"rss_per_node_mb", "resident set per node (MiB)"},
		{"goroutines_per_node", "goroutines per node"},
		{"conns_per_node", "connections per node (mean)"},
		{"wall_s", "wall time of the run (s)"},
	}
	var b strings.Builder
	b.WriteString("| figure |")
	for _, r := range rs {
		fmt.Fprintf(&b, " N = %.0f |", r.Figures["nodes"])
	}
	b.WriteString("\n|---|")
	for range rs {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s |", row.label)
		for _, r := range rs {
			fmt.Fprintf(&b, " %s |", fmtFigure(r.Figures[row.key]))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// fmtFigure prints v with three significant digits, or as an integer.
func fmtFigure(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.3g", v)
}
