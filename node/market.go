package node

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/gpu"
	"github.com/gpumesh/gpumesh/gpu/proof"
	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/scheduler/challenge"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/offers"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// ReputationFile is the file in the data dir where the node keeps its view
// of its peers' reputations.
const ReputationFile = "reputation.json"

// newJobs opens the reputation book, creates the market and wires it to
// the jobs topic. It runs before gossip starts, so no request is missed;
// Start then starts the market.
func (n *Node) newJobs(life context.Context) error {
	if err := n.openLedger(); err != nil {
		return err
	}
	book, err := reputation.Open(filepath.Join(n.opts.DataDir, ReputationFile), reputation.Config{Log: n.log.With("component", "reputation")}, nil)
	if errors.Is(err, reputation.ErrCorrupt) {
		n.log.Warn("started with an empty reputation book", "err", err)
	} else if err != nil {
		return err
	}
	n.book = book
	n.wg.Go(func() { book.Run(life) })
	cfg := n.cfg.Market
	st, err := n.openSettlement(life)
	if err != nil {
		return err
	}
	if st != nil {
		st.Stake = n.stakeChecker() // jobs asking for staked providers read stakes here
	}
	deps := market.Deps{
		Host: n.net.Host(), Key: n.key, Gossip: n.gossip, Book: book,
		Coordinate:       n.net.Latency().Coordinate,
		Addrs:            func() []string { return advertisedAddrs(n.net.ListenAddrs()) },
		Invitees:         n.invitees,
		RoutingTableSize: n.net.RoutingTableSize,
		Changed:          n.offerChanged,
		ResultsDir:       filepath.Join(n.opts.DataDir, "results"),
		Ledger:           n.ledger,
		Log:              n.log.With("component", "market"),
		Challenge:        n.classChallenge,
		Auditor:          n.execs["wasm"],
		Knobs:            n.knobs().Market,
		Settle:           st,
	}
	if n.cfg.Offer.Enabled {
		deps.Offer = n.marketOffer
	}
	deps.JobTopics = n.requestTopics()
	deps.TopicPeers = n.gossip.TopicPeers
	n.jobs, err = market.New(cfg, deps)
	if err != nil {
		return err
	}
	// Every jobs topic, version 2 and each shard, has the same per-signer
	// limit: a node is subscribed to few of them, and publishes on any.
	per := time.Minute / time.Duration(cfg.RequestsPerMinute)
	for _, t := range append([]string{gossip.TopicJobs}, gossip.JobShardTopics()...) {
		n.gossip.AllowLimited(t, gossip.JobRequestType, gossip.Limit{Every: per, Burst: max(cfg.RequestsPerMinute/3, 1)})
		n.gossip.Handle(t, n.jobs.OnRequest)
	}
	return nil
}

// marketOffer is what the provider side offers now: the capacity record as
// it would be published, numbered as the latest published one.
func (n *Node) marketOffer() (market.Offer, bool) {
	if n.Paused() {
		return market.Offer{}, false // gpumesh pause
	}
	r, err := n.capacityRecord()
	if err != nil {
		return market.Offer{}, false
	}
	if latest := n.OwnOffer(); latest != nil {
		r.Seq = latest.Seq
	}
	return market.Offer{Record: r, HostCores: n.hw.Host.Cores, HostRAMGB: float64(n.hw.Host.MemoryBytes) / (1 << 30),
		GPUs: offerGPUs(n.hw.Devices), MaxWall: time.Duration(n.Config().Executor.MaxWall), NoGPUs: n.noGPUs}, true
}

// offerGPUs are the executors' names (NVML index and UUID) of devs'
// NVIDIA GPUs, by index in the capacity record, which lists devs in order
// (capacityRecord): what an accepted award hands each rank's work.
func offerGPUs(devs []gpu.Device) map[int]executor.Device {
	out := map[int]executor.Device{}
	for i, d := range devs {
		if i >= capacity.MaxDevices {
			break
		}
		if d.Pool == gpu.PoolGPU && d.UUID != "" {
			out[i] = executor.Device{Index: d.Index, UUID: d.UUID}
		}
	}
	return out
}

// invitees searches the capability keys for providers that may serve req.
func (n *Node) invitees(ctx context.Context, req *gossip.JobRequest, enough int) []peer.AddrInfo {
	res, err := n.OffersN(ctx, offerFilter(req), enough)
	if err != nil {
		n.log.Debug("search for invitees", "job", req.ID, "err", err)
	}
	seen := map[peer.ID]bool{}
	var out []peer.AddrInfo
	for _, o := range res.Offers {
		if seen[o.Peer] {
			continue
		}
		seen[o.Peer] = true
		ai := peer.AddrInfo{ID: o.Peer}
		for _, a := range o.Addrs {
			if m, err := ma.NewMultiaddr(a); err == nil {
				ai.Addrs = append(ai.Addrs, m)
			}
		}
		out = append(out, ai)
	}
	return out
}

// offerFilter is the offers filter that preselects providers for req.
func offerFilter(req *gossip.JobRequest) string {
	w := req.PerWorker
	clauses := []string{"executor = " + offers.Quote(req.Executor), "available = true"}
	pool := w.Pool
	if w.GPUs == 0 {
		pool = "cpu"
	}
	if pool != "" {
		clauses = append(clauses, "pool = "+pool)
	}
	if w.Class != "" {
		clauses = append(clauses, "gpu_class = "+offers.Quote(w.Class))
	}
	if w.MinVRAMGB > 0 {
		clauses = append(clauses, "vram_gb >= "+strconv.FormatFloat(w.MinVRAMGB, 'f', -1, 64))
	}
	if len(req.Regions) > 0 {
		quoted := make([]string, len(req.Regions))
		for i, r := range req.Regions {
			quoted[i] = offers.Quote(r)
		}
		clauses = append(clauses, "region in ["+strings.Join(quoted, ",")+"]")
	}
	return strings.Join(clauses, " ")
}

// Market returns the node's market.
func (n *Node) Market() *market.Market { return n.jobs }

// Reputation returns the node's view of its peers.
func (n *Node) Reputation() *reputation.Book { return n.book }

// SubmitJob implements api.Backend.
func (n *Node) SubmitJob(ctx context.Context, spec market.Spec) (market.JobView, error) {
	v, err := n.jobs.Submit(ctx, spec)
	if errors.Is(err, market.ErrBadSpec) {
		return v, fmt.Errorf("%w: %w", api.ErrBadRequest, err)
	}
	return v, err
}

// Jobs implements api.Backend.
func (n *Node) Jobs() api.Jobs {
	provided := n.jobs.Reservations()
	if n.runs != nil {
		for i := range provided {
			provided[i].Network = n.runs.JobNetwork(provided[i].Job)
		}
	}
	return api.Jobs{Requested: n.jobs.Jobs(), Provided: provided}
}

// Job implements api.Backend.
func (n *Node) Job(id string) (market.JobView, bool) { return n.jobs.Job(id) }

// CancelJob implements api.Backend.
func (n *Node) CancelJob(id string) error { return n.jobs.Cancel(id) }

// WatchJob implements api.Backend.
func (n *Node) WatchJob(id string, from int) ([]market.Event, <-chan struct{}, bool, bool) {
	return n.jobs.Watch(id, from)
}

// JobLogs implements api.Backend.
func (n *Node) JobLogs(id string, from int64, limit int) (market.LogPage, <-chan struct{}, error) {
	return n.jobs.Logs(id, from, limit)
}

// classChallenge is the proof-of-compute a requester puts to a provider
// before awarding it (market.verify_class). A CPU class gets version 1: an
// n = 512 int8 product, which every node's default challenge_max_n
// accepts, judged against one core (claims of more cores are not checked),
// with the deadline generous: the speed is judged from the measured time,
// the deadline only bounds the wait. A GPU class gets version 2 through
// the provider's proof helper (classChallenge2), or stays unverified.
func (n *Node) classChallenge(ctx context.Context, p peer.ID, class string) (proof.Verdict, error) {
	if !proof.PerCoreClass(class) {
		return n.classChallenge2(ctx, p, class)
	}
	return n.Challenge(ctx, p, challenge.Request{N: classChallengeN, Type: proof.Int8FP32, Class: class, Cores: 1, Deadline: 5 * time.Second})
}

// classChallengeN is the matrix size of classChallenge.
const classChallengeN = 512
