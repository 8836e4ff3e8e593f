package market

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/pricing"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// States of a job as requester.
const (
	// StateBidding: the request is out and bids are coming in.
	StateBidding = "bidding"
	// StateAwarding: winners are being awarded and their pings checked.
	StateAwarding = "awarding"
	// StateFormed: every winner accepted and the cluster is within the
	// bound; final for a job with no workload to run.
	StateFormed = "formed"
	// StateRunning: the cluster runs the workload.
	StateRunning = "running"
	// StateSucceeded: every worker's work ended with exit status 0.
	StateSucceeded = "succeeded"
	// StateFailed: no cluster, or the work failed; Error says why.
	StateFailed = "failed"
)

// Event is one step of a job, for a person to read as it happens.
type Event struct {
	// At is when it happened.
	At time.Time `json:"at"`
	// Kind is request, bid, closed, invited, proposed, award, accepted,
	// declined, timeout, rtt_over, release, direct (the work's data to a
	// provider behind NAT goes on a direct connection, hole punching's or
	// a direct dial's), relayed (a provider reached only through a relay:
	// the data is refused the relay and its ranks go elsewhere), formed or
	// failed.
	Kind string `json:"kind"`
	// Peer is the provider concerned, if one is.
	Peer string `json:"peer,omitempty"`
	// Text says it with numbers.
	Text string `json:"text"`
}

// Member is one provider of a formed cluster.
type Member struct {
	// Peer is the provider's peer ID.
	Peer string `json:"peer"`
	// Ranks are the worker ranks it runs.
	Ranks []int `json:"ranks"`
	// Devices is how many devices it rents out for them.
	Devices int `json:"devices"`
	// Class is its device class.
	Class string `json:"class"`
	// Price is its price per device-hour.
	Price float64 `json:"price"`
	// RTTFromYouMS is the requester's ping to it, 0 if it did not answer.
	RTTFromYouMS float64 `json:"rtt_from_you_ms"`
}

// Cost is what a formed cluster costs over the job's duration, summed over
// its members' quotes.
type Cost struct {
	// PerHour is the cluster's price per hour.
	PerHour pricing.Micros `json:"per_hour"`
	// Gross is the price of the whole duration; the fees are 0.25 % each side.
	Gross         pricing.Micros `json:"gross"`
	RequesterFee  pricing.Micros `json:"requester_fee"`
	RequesterPays pricing.Micros `json:"requester_pays"`
	ProviderFees  pricing.Micros `json:"provider_fees"`
}

// addUsage adds what u charges.
func (c *Cost) addUsage(u Usage) {
	c.Gross += u.Amount
	c.RequesterFee += u.RequesterFee
	c.RequesterPays += u.Amount + u.RequesterFee
	c.ProviderFees += u.ProviderFee
}

func (c *Cost) add(q pricing.Quote) {
	c.PerHour += q.PricePerHour * pricing.Micros(q.Devices)
	c.Gross += q.Gross
	c.RequesterFee += q.RequesterFee
	c.RequesterPays += q.RequesterPays
	c.ProviderFees += q.ProviderFee
}

// JobView is a job as its requester sees it.
type JobView struct {
	ID      string    `json:"id"`
	Role    string    `json:"role"`
	State   string    `json:"state"`
	Spec    Spec      `json:"spec"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// FormedAt is when the last winner's acceptance completed the cluster.
	FormedAt *time.Time `json:"formed_at,omitempty"`
	// Cluster is the formed cluster, by rank order.
	Cluster []Member `json:"cluster,omitempty"`
	// MaxPairRTTMS is the largest RTT the winners measured between them.
	MaxPairRTTMS float64 `json:"max_pair_rtt_ms,omitempty"`
	// Cost is the cluster's price.
	Cost *Cost `json:"cost,omitempty"`
	// Placement is placement's explanation of the final choice.
	Placement string `json:"placement,omitempty"`
	// Measured is what the last measured round did (docs/market.md, "The
	// measured round"); nil when none ran.
	Measured *RoundView `json:"measured,omitempty"`
	// Bids is how many bids arrived. Found is how many providers the
	// capability keys gave, Invited how many of them were invited directly
	// (the others had bid already), InviteRefusals why those that would
	// not bid, by check, and InviteReasons one provider's words for each.
	Bids           int               `json:"bids"`
	Found          int               `json:"found,omitempty"`
	Invited        int               `json:"invited,omitempty"`
	InviteRefusals map[string]int    `json:"invite_refusals,omitempty"`
	InviteReasons  map[string]string `json:"invite_reasons,omitempty"`
	// Rejected counts the bids not chosen by reason, for a failed job.
	Rejected map[string]int `json:"rejected,omitempty"`
	// Error says why a failed job failed, in numbers.
	Error string `json:"error,omitempty"`
	// Results is where the workers' outputs were written, by rank
	// (DIR/results/<job>/rank-<r>), and Workers how each rank's work ended.
	Results string         `json:"results,omitempty"`
	Workers []WorkerResult `json:"workers,omitempty"`
	// Usage is each provider's time served, and Charged its sum: what the
	// job costs, failovers included.
	Usage   []Usage `json:"usage,omitempty"`
	Charged *Cost   `json:"charged,omitempty"`
	// Failovers counts the lost providers replaced.
	Failovers int `json:"failovers,omitempty"`
	// Network is the job network's traffic, summed over its providers'
	// counters as their runs last reported them (lost ones included): a
	// job whose ranks share a network only.
	Network *run.NetCounters `json:"network,omitempty"`
	// Logs counts the log lines the work wrote, kept on disk and dropped
	// past the cap; the lines themselves are read in pages (Market.Logs).
	Logs *LogCounts `json:"logs,omitempty"`
	// Events is the job's history.
	Events []Event `json:"events,omitempty"`
}

func (v JobView) clone() JobView {
	v.Events = slices.Clone(v.Events)
	v.Cluster = slices.Clone(v.Cluster)
	v.Workers = slices.Clone(v.Workers)
	v.Usage = slices.Clone(v.Usage)
	if v.Network != nil {
		n := *v.Network
		n.Drops = maps.Clone(n.Drops)
		v.Network = &n
	}
	return v
}

// WorkerResult is how one rank's work ended, on which provider, for how
// long. A rank that failed over has one result per attempt.
type WorkerResult struct {
	Rank int    `json:"rank"`
	Peer string `json:"peer"`
	// Attempt is 0 on the first provider of the rank, n on its n-th replacement.
	Attempt int             `json:"attempt,omitempty"`
	Result  executor.Result `json:"result"`
	Outputs []string        `json:"outputs,omitempty"`
	Seconds float64         `json:"seconds"`
	Error   string          `json:"error,omitempty"`
}

// Usage states of a provider's time on a job.
const (
	// UsageServed: the provider ran its ranks to their end.
	UsageServed = "served"
	// UsageLost: the provider dropped or fell silent mid-job; it is paid
	// until it was last heard from.
	UsageLost = "lost"
	// UsageFailed: its ranks failed, or it broke the protocol.
	UsageFailed = "failed"
	// UsageStopped: the job ended (cancelled, or another worker failed)
	// while it ran.
	UsageStopped = "stopped"
)

// Usage is one provider's time on a job: what the requester is charged
// for, and what its receipt will state. Only time served is charged: from
// the provider's acceptance of the run to its end, or to when it was last
// heard from if it was lost.
type Usage struct {
	Peer  string `json:"peer"`
	Ranks []int  `json:"ranks"`
	// Attempt is 0 for the cluster's first providers, n for the n-th
	// replacement of a lost provider, whose peer Replaces names.
	Attempt  int    `json:"attempt,omitempty"`
	Replaces string `json:"replaces,omitempty"`
	// Request is the job request the provider's award was made under: the
	// job's own, or the failover request that found the replacement.
	Request string    `json:"request"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Devices int       `json:"devices"`
	// Price is per device-hour. GPUMillis is Devices x the time served in
	// milliseconds, and Amount its price with the fees on each side: the
	// receipts' own arithmetic (ledger.Cost, ledger.Fee).
	Price        float64        `json:"price"`
	GPUMillis    int64          `json:"gpu_millis"`
	Amount       pricing.Micros `json:"amount"`
	RequesterFee pricing.Micros `json:"requester_fee"`
	ProviderFee  pricing.Micros `json:"provider_fee"`
	Status       string         `json:"status"`
	Error        string         `json:"error,omitempty"`
	// Receipts are the IDs of the receipts both sides signed and logged
	// for this time; Settlement says how the exchange went.
	Receipts   []string `json:"receipts,omitempty"`
	Settlement string   `json:"settlement,omitempty"`
	// GPU is what the GPUs of its ranks did, as the provider metered them
	// through NVML and stated in each rank's result (and then in its
	// receipt); absent for ranks that held no GPU.
	GPU []RankGPU `json:"gpu,omitempty"`
}

// Job returns the job with id, as requester.
func (r *requester) Job(id string) (JobView, bool) {
	j := r.lookup(id)
	if j == nil {
		return JobView{}, false
	}
	return j.viewNow(), true
}

// Jobs lists this node's jobs as requester, newest first, without events.
func (r *requester) Jobs() []JobView {
	r.mu.Lock()
	listed := make([]*job, 0, len(r.order))
	for i := len(r.order) - 1; i >= 0; i-- {
		listed = append(listed, r.jobs[r.order[i]])
	}
	r.mu.Unlock()
	out := make([]JobView, 0, len(listed))
	for _, j := range listed {
		j.mu.Lock()
		v := j.view.clone()
		v.Bids = len(j.received)
		v.Logs = logCounts(j.log)
		j.mu.Unlock()
		v.Events = nil
		out = append(out, v)
	}
	return out
}

// Watch returns the job's events from index from on, a channel closed at
// the next event, and whether the job has reached a final state. ok is
// false for an unknown job.
func (r *requester) Watch(id string, from int) (events []Event, next <-chan struct{}, final, ok bool) {
	j := r.lookup(id)
	if j == nil {
		return nil, nil, false, false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if from < len(j.view.Events) {
		events = slices.Clone(j.view.Events[max(from, 0):])
	}
	return events, j.changed, j.isDone(), true
}

// Wait blocks until the job is formed or failed, or ctx ends.
func (r *requester) Wait(ctx context.Context, id string) (JobView, error) {
	j := r.lookup(id)
	if j == nil {
		return JobView{}, ErrUnknownJob
	}
	select {
	case <-j.done:
		return j.viewNow(), nil
	case <-ctx.Done():
		return j.viewNow(), ctx.Err()
	}
}
