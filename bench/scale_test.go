package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// B13 runs as a test for the same reason as B3: virtual time needs
// testing/synctest. `make bench-scale` runs TestB13Scale with GPUMESH_B13_N
// (sizes, comma-separated) and GPUMESH_B13_OUT (where the JSON goes); plain
// `go test` skips it and runs TestScaleChurnShort, a small run that keeps
// churn, NAT and the job load exercised in CI.

func TestB13Scale(t *testing.T) {
	out := os.Getenv("GPUMESH_B13_OUT")
	if out == "" {
		t.Skip("B13 runs from `make bench-scale` (set GPUMESH_B13_OUT to run it here)")
	}
	var results []Result
	for _, f := range strings.Split(os.Getenv("GPUMESH_B13_N"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 20 {
			t.Fatalf("GPUMESH_B13_N: %q is not a size of at least 20", f)
		}
		p := defaultScaleParams(n)
		p.MemoryOnly = os.Getenv("GPUMESH_B13_MEMONLY") != ""
		if v := os.Getenv("GPUMESH_B13_WINDOWS"); v != "" {
			if p.Warmup, p.Idle, p.Load, err = parseWindows(v); err != nil {
				t.Fatalf("GPUMESH_B13_WINDOWS: %v", err)
			}
		}
		if v := os.Getenv("GPUMESH_B13_NAT"); v != "" { // see docs/scale.md, "The stall"
			if p.NATShare, err = strconv.ParseFloat(v, 64); err != nil {
				t.Fatalf("GPUMESH_B13_NAT: %v", err)
			}
		}
		var m scaleMeasure
		start := time.Now()
		m = runWatched(t, p)
		m.RunWall = time.Since(start)
		res := m.result(p)
		results = append(results, res)
		// Each size is written as soon as it is measured: a larger one
		// that does not finish leaves the smaller ones.
		data, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(out, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("B13 N=%d done", n)
	}
	t.Log("\n" + scaleTable(results))
}

// parseWindows reads "warmup,idle,load" durations (GPUMESH_B13_WINDOWS,
// e.g. "60s,60s,60s"): shorter windows for the large sizes.
func parseWindows(v string) (warmup, idle, load time.Duration, err error) {
	f := strings.Split(v, ",")
	if len(f) != 3 {
		return 0, 0, 0, fmt.Errorf("%q: want warmup,idle,load", v)
	}
	var d [3]time.Duration
	for k, s := range f {
		if d[k], err = time.ParseDuration(strings.TrimSpace(s)); err != nil || d[k] < 10*time.Second {
			return 0, 0, 0, fmt.Errorf("%q: each window a duration of at least 10s", v)
		}
	}
	return d[0], d[1], d[2], nil
}

// TestScaleChurnShort runs a small network with a third of its nodes
// behind NAT through a job load and churn (a node replaced every few
// seconds, half of them abruptly), and checks that the market keeps
// working: job requests reach the providers, a k = 8 cluster forms and an
// offers search finds offers.
func TestScaleChurnShort(t *testing.T) {
	if raceEnabled {
		t.Skip("30 full nodes under the race detector take minutes; the race run skips the scale test")
	}
	p := scaleParams{N: 30, NATShare: 0.3, Requesters: 2, JobRate: 0.25, ChurnPerMin: 12, AbruptShare: 0.5,
		Warmup: 30 * time.Second, Idle: 20 * time.Second, Load: 40 * time.Second, Seed: 13}
	m := runWatched(t, p)
	t.Logf("%+v", m)
	if m.Left == 0 || m.Joined == 0 || m.Abrupt == 0 {
		t.Errorf("churn did not happen: left %d (abrupt %d), joined %d", m.Left, m.Abrupt, m.Joined)
	}
	if m.JobsFormed == 0 {
		t.Errorf("no job formed under churn (%d submitted)", m.JobsSubmitted)
	}
	if m.DeliveredShare < 0.9 {
		t.Errorf("job requests reached %.0f%% of the matching providers, want >= 90%%", 100*m.DeliveredShare)
	}
	if m.ClusterK8 <= 0 {
		t.Errorf("no k = 8 cluster formed after churn")
	}
	if m.SearchFound < scaleSearchEnough/2 {
		t.Errorf("an offers search after churn found %d offers, want >= %d", m.SearchFound, scaleSearchEnough/2)
	}
}

// stallAfter is how long (real time) the watchdog lets the bubble's
// virtual clock stand still while the process does no work before it
// declares a stall (see runWatched).
const stallAfter = 3 * time.Minute

// runWatched runs runScale in a synctest bubble under a watchdog. A bubble
// whose virtual clock stops (a goroutine in it waiting on something that is
// not a durable block, such as a real socket: docs/scale.md, "The stall")
// hangs with no deadlock report. The watchdog turns that silent hang into a
// failure: when the virtual clock has not moved for
// stallAfter while the process used under a tenth of a core, it writes every
// goroutine's stack to a file and panics, naming the file.
func runWatched(t *testing.T, p scaleParams) scaleMeasure {
	var m scaleMeasure
	runWatchedFunc(t, func(t *testing.T) { m = runScale(t, p) })
	return m
}

// runWatchedFunc runs f in a synctest bubble under the watchdog (see
// runWatched).
func runWatchedFunc(t *testing.T, f func(t *testing.T)) {
	var clock atomic.Int64
	done := make(chan struct{})
	go watchdog(clock.Load, done)
	defer close(done)
	synctest.Test(t, func(t *testing.T) {
		stop := make(chan struct{})
		ticked := make(chan struct{})
		go func() {
			defer close(ticked)
			for {
				clock.Store(time.Now().UnixNano())
				select {
				case <-stop:
					return
				case <-time.After(time.Second):
				}
			}
		}()
		defer func() {
			close(stop)
			<-ticked
		}()
		f(t)
	})
}

// watchdog panics, after dumping every goroutine's stack, if clock stops
// moving for stallAfter while the process uses under a tenth of a core
// (the runtime's forced collections of a large heap still use some).
func watchdog(clock func() int64, done <-chan struct{}) {
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	last, since, sinceCPU := clock(), time.Now(), processCPU()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		now, cpu := clock(), processCPU()
		if now != last {
			last, since, sinceCPU = now, time.Now(), cpu
			continue
		}
		if time.Since(since) < stallAfter {
			continue
		}
		if cpu-sinceCPU > stallAfter/10 {
			// Working without moving the clock (a long computation):
			// not a stall; watch a new window.
			since, sinceCPU = time.Now(), cpu
			continue
		}
		f, err := os.CreateTemp("", "gpumesh-b13-stall-*.txt")
		if err == nil {
			_ = pprof.Lookup("goroutine").WriteTo(f, 2)
			_ = f.Close()
			panic(fmt.Sprintf("B13: the synctest bubble stalled: virtual clock stuck at %s for %s with the process idle; goroutines in %s",
				time.Unix(0, now).UTC().Format(time.TimeOnly), stallAfter, f.Name()))
		}
		panic(fmt.Sprintf("B13: the synctest bubble stalled (virtual clock stuck for %s); writing the goroutine dump: %v", stallAfter, err))
	}
}

// snapshot is every node's counters at one moment.
type snapshot struct {
	at    time.Time
	cpu   time.Duration
	nodes []*node.Node
	msgs  []uint64
	bytes []int64
	proto []map[protocol.ID]int64
}

func takeSnapshot(s *nodetest.Scale) snapshot {
	sn := snapshot{at: time.Now(), cpu: processCPU(), nodes: slices.Clone(s.Nodes)}
	sn.msgs = make([]uint64, len(sn.nodes))
	sn.bytes = make([]int64, len(sn.nodes))
	sn.proto = make([]map[protocol.ID]int64, len(sn.nodes))
	for i, nd := range sn.nodes {
		if nd == nil {
			continue
		}
		st := nd.Gossip().Stats()
		in := st.Accepted + st.Ignored - st.Published
		for _, v := range st.Rejected {
			in += v
		}
		sn.msgs[i] = in
		tot := s.Meter(i).Totals()
		sn.bytes[i], sn.proto[i] = tot.In, tot.ProtoIn
	}
	return sn
}

// rates returns the per-node message and byte rates between two
// snapshots, over the nodes running in both, and process CPU per node.
func rates(a, b snapshot) (msgs, bytes, cpu perNode) {
	secs := b.at.Sub(a.at).Seconds()
	var ms, bs []float64
	for i := range min(len(a.nodes), len(b.nodes)) {
		if a.nodes[i] == nil || a.nodes[i] != b.nodes[i] {
			continue
		}
		ms = append(ms, float64(b.msgs[i]-a.msgs[i])/secs)
		bs = append(bs, float64(b.bytes[i]-a.bytes[i])/secs)
	}
	summ := func(xs []float64) perNode {
		if len(xs) == 0 {
			return perNode{}
		}
		return perNode{Mean: mean(xs), P50: median(xs), Max: slices.Max(xs)}
	}
	live := 0
	for _, nd := range b.nodes {
		if nd != nil {
			live++
		}
	}
	cpuMS := float64(b.cpu-a.cpu) / float64(time.Millisecond) / secs / float64(max(live, 1))
	return summ(ms), summ(bs), perNode{Mean: cpuMS}
}

// protoRates returns the mean inbound bytes per second per node of each
// protocol between two snapshots, over the nodes running in both.
func protoRates(a, b snapshot) map[string]float64 {
	secs := b.at.Sub(a.at).Seconds()
	sum := map[string]float64{}
	nodes := 0
	for i := range min(len(a.nodes), len(b.nodes)) {
		if a.nodes[i] == nil || a.nodes[i] != b.nodes[i] {
			continue
		}
		nodes++
		for p, v := range b.proto[i] {
			sum[string(p)] += float64(v - a.proto[i][p])
		}
	}
	for p := range sum {
		sum[p] /= secs * float64(max(nodes, 1))
	}
	return sum
}

// connsPerNode is the mean number of connections the running nodes hold.
func connsPerNode(s *nodetest.Scale) float64 {
	live := s.Live()
	conns := 0
	for _, i := range live {
		conns += len(s.Nodes[i].Network().Host().Network().Conns())
	}
	return float64(conns) / float64(max(len(live), 1))
}

// writeHeap writes a heap profile to GPUMESH_B13_HEAP, if set, and the
// goroutines grouped by stack to GPUMESH_B13_GOROUTINES, if set.
func writeHeap(t *testing.T) {
	path := os.Getenv("GPUMESH_B13_HEAP")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		t.Logf("heap profile: %v", err)
		return
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		t.Logf("heap profile: %v", err)
	}
	if path := os.Getenv("GPUMESH_B13_GOROUTINES"); path != "" {
		g, err := os.Create(path)
		if err != nil {
			t.Logf("goroutine profile: %v", err)
			return
		}
		defer g.Close()
		_ = pprof.Lookup("goroutine").WriteTo(g, 1)
	}
}

// runScale is B13's scenario: start, settle, an idle window, a load window
// with churn, then a search and a k = 8 cluster on the churned network.
func runScale(t *testing.T, p scaleParams) scaleMeasure {
	m := scaleMeasure{N: p.N}
	joins := int(p.ChurnPerMin*p.Load.Minutes()) + 1
	requester := func(i int) bool { return i >= p.N-p.Requesters && i < p.N }
	s := nodetest.StartScale(t, p.N, nodetest.ScaleOptions{
		Seed: p.Seed, NATShare: p.NATShare, Spare: joins,
		Offer: func(i int) bool { return i != 0 && !requester(i) },
		Configure: func(i int, c *config.Config) {
			c.Market.ReserveHold = p2p.Duration(time.Second)
		},
	})
	s.WaitRoutingTables(t, 3, 5*time.Minute)
	time.Sleep(p.Warmup)
	mem := nodetest.ReadMemory()
	perNodeMB := func(b uint64) float64 { return float64(b) / float64(p.N) / (1 << 20) }
	m.MemPerNodeMB = perNodeMB(mem.Heap + mem.Stacks)
	m.HeapPerNodeMB, m.StackPerNodeMB, m.RSSPerNodeMB = perNodeMB(mem.Heap), perNodeMB(mem.Stacks), perNodeMB(mem.RSS)
	m.GoroutinesPerNode = float64(mem.Goroutines) / float64(p.N)
	m.ConnsPerNode = connsPerNode(s)
	t.Logf("B13 N=%d settled at %s (virtual): %.1f MiB/node heap+stacks (heap %.1f, stacks %.1f), RSS %.1f MiB/node, %.0f goroutines and %.1f connections per node",
		p.N, time.Now().Format(time.TimeOnly), m.MemPerNodeMB, m.HeapPerNodeMB, m.StackPerNodeMB, m.RSSPerNodeMB, m.GoroutinesPerNode, m.ConnsPerNode)
	writeHeap(t)
	if p.MemoryOnly {
		return m
	}

	a := takeSnapshot(s)
	time.Sleep(p.Idle)
	b := takeSnapshot(s)
	m.IdleMsgs, m.IdleBytes, m.IdleCPU = rates(a, b)
	m.IdleProto = protoRates(a, b)
	t.Logf("B13 N=%d idle window done at %s (virtual): %.2f msgs/s, %.0f B/s in per node", p.N, time.Now().Format(time.TimeOnly), m.IdleMsgs.Mean, m.IdleBytes.Mean)

	boot0 := s.Meter(0).Totals().In
	bootMsgs0 := b.msgs[0]
	ids, submitted := loadWindow(t, s, p, &m)
	c := takeSnapshot(s)
	m.LoadMsgs, m.LoadBytes, m.LoadCPU = rates(b, c)
	secs := c.at.Sub(b.at).Seconds()
	m.BootMsgs = float64(c.msgs[0]-bootMsgs0) / secs
	m.BootBytes = float64(s.Meter(0).Totals().In-boot0) / secs
	m.BootConn = float64(len(s.Nodes[0].Network().Host().Network().Conns()))
	deliveries(s, p, ids, submitted, &m)

	req := s.Nodes[p.N-1]
	searchAndCluster(t, req, &m)
	return m
}

// loadWindow runs the job load and the churn for p.Load. It returns the
// submitted jobs' IDs and, for each, the nodes running when it was sent.
func loadWindow(t *testing.T, s *nodetest.Scale, p scaleParams, m *scaleMeasure) ([]string, [][]*node.Node) {
	rng := rand.New(rand.NewPCG(p.Seed, 0xc4a2))
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		ids       []string
		at        [][]*node.Node
		jobEvery  = time.Duration(float64(time.Second) / p.JobRate)
		churnEach = time.Duration(float64(time.Minute) / p.ChurnPerMin)
		nextJob   = jobEvery
		nextChurn = churnEach
	)
	start := time.Now()
	for k := 0; ; k++ {
		el := time.Since(start)
		if el >= p.Load {
			break
		}
		if el >= nextJob {
			nextJob += jobEvery
			r := s.Nodes[p.N-1-k%p.Requesters]
			live := slices.Clone(s.Nodes)
			wg.Go(func() {
				id, formed := submitOne(r)
				mu.Lock()
				defer mu.Unlock()
				if id != "" {
					ids = append(ids, id)
					at = append(at, live)
				}
				if formed {
					m.JobsFormed++
				}
			})
			m.JobsSubmitted++
		}
		if el >= nextChurn {
			nextChurn += churnEach
			churnOne(t, s, p, rng, m)
		}
		time.Sleep(time.Second)
	}
	wg.Wait()
	return ids, at
}

// submitOne submits a one-worker CPU job from r, waits for it to form and
// cancels it; it returns the job's ID and whether it formed.
func submitOne(r *node.Node) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v, err := r.Market().Submit(ctx, market.Spec{Workers: 1})
	if err != nil {
		return "", false
	}
	v, err = r.Market().Wait(ctx, v.ID)
	_ = r.Market().Cancel(v.ID)
	return v.ID, err == nil && v.State == market.StateFormed
}

// churnOne stops a random provider (abruptly with p.AbruptShare) and
// starts a new node in its place.
func churnOne(t *testing.T, s *nodetest.Scale, p scaleParams, rng *rand.Rand, m *scaleMeasure) {
	var cand []int
	for _, i := range s.Live() {
		if i != 0 && (i < p.N-p.Requesters || i >= p.N) {
			cand = append(cand, i)
		}
	}
	if len(cand) == 0 {
		return
	}
	i := cand[rng.IntN(len(cand))]
	abrupt := rng.Float64() < p.AbruptShare
	if err := s.StopNode(i, abrupt); err != nil {
		t.Logf("churn: stop node %d: %v", i, err)
	}
	m.Left++
	if abrupt {
		m.Abrupt++
	}
	if _, err := s.Join(); err != nil {
		t.Errorf("churn: join: %v", err)
		return
	}
	m.Joined++
}

// deliveries computes the job requests' gossip delivery times to the
// matching providers: every offering node that ran from a minute before
// the request was sent to the end of the window (a node that had just
// joined may not be in the mesh yet, one that left cannot hear it).
func deliveries(s *nodetest.Scale, p scaleParams, ids []string, at [][]*node.Node, m *scaleMeasure) {
	var took []float64
	want, got := 0, 0
	for k, id := range ids {
		rcv := s.Received(id)
		for i, nd := range at[k] {
			if nd == nil || i == 0 || (i >= p.N-p.Requesters && i < p.N) || s.Nodes[i] != nd {
				continue
			}
			want++
			if d, ok := rcv[i]; ok {
				got++
				took = append(took, ms(d))
			}
		}
	}
	if want > 0 {
		m.DeliveredShare = float64(got) / float64(want)
	}
	if len(took) > 0 {
		m.DeliveryP50 = time.Duration(median(took) * float64(time.Millisecond))
		m.DeliveryP99 = time.Duration(quantile(took, 0.99) * float64(time.Millisecond))
	}
}

// searchAndCluster times an offers search and a k = 8 cluster from r.
func searchAndCluster(t *testing.T, r *node.Node, m *scaleMeasure) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ops := dhtOps(r)
	t0 := time.Now()
	res, err := r.OffersN(ctx, "", scaleSearchEnough)
	m.SearchLatency = time.Since(t0)
	if err != nil {
		t.Logf("offers search: %v", err)
	}
	m.SearchFound = res.Matched
	m.SearchDHT = int(dhtOps(r) - ops)
	t0 = time.Now()
	v, err := r.Market().Submit(ctx, market.Spec{Workers: 8})
	if err == nil {
		v, err = r.Market().Wait(ctx, v.ID)
	}
	if err == nil && v.State == market.StateFormed && v.FormedAt != nil {
		m.ClusterK8 = v.FormedAt.Sub(t0)
	} else {
		t.Logf("k=8: %s %s %v", v.State, v.Error, err)
	}
	_ = r.Market().Cancel(v.ID)
}

// scaleSearchEnough is how many offers B13's search asks for.
const scaleSearchEnough = 20

// dhtOps is how many DHT operations nd made for capacity records and
// capability keys so far (its gpumesh_dht_requests_total).
func dhtOps(nd *node.Node) float64 {
	mfs, err := nd.Metrics().Gather()
	if err != nil {
		return 0
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != "gpumesh_dht_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
