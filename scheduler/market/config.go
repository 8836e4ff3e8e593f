package market

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/placement"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// Config is the [market] table: how this node asks for clusters and answers
// other nodes' requests.
type Config struct {
	// BidWindow is how long a request stays open for bids unless enough
	// arrive first.
	BidWindow p2p.Duration `toml:"bid_window" comment:"how long a job request stays open for bids (it closes early once enough good bids arrived)"`
	// RelayBidWindow is the least bid window of a request whose bids must
	// cross a relay: this node advertises a relay address (it is behind
	// NAT), or it reaches some peers only through a relay. 0 never widens.
	RelayBidWindow p2p.Duration `toml:"relay_bid_window" comment:"least bid window when bids must cross a relay (this node or some of its peers reachable only through one); 0 = never widen"`
	// EnoughBidsPerWorker times k eligible bids, with a feasible cluster
	// among them, close the bidding early.
	EnoughBidsPerWorker int `toml:"enough_bids_per_worker" comment:"bidding closes early once this many eligible bids per worker arrived and a cluster fits"`
	// AwardTimeout is how long a winner has to accept (its pings included).
	AwardTimeout p2p.Duration `toml:"award_timeout" comment:"how long a winner has to accept an award, its pings to the other winners included"`
	// VerifyRounds bounds the rounds of award, measure and replace.
	VerifyRounds int `toml:"verify_rounds" comment:"rounds of award, ping-check and replace before a request gives up"`
	// RTTRoundCandidates bounds the candidates of the measured round: a
	// job with an RTT bound and k workers measures min(max(3k, k+8), this)
	// of its bids' pairs before it places (placement.RoundSize), and a
	// second round may add max(k, 4) more. 0 turns the round off.
	RTTRoundCandidates int `toml:"rtt_round_candidates" comment:"most candidate providers whose pairwise RTTs are measured in the first round before a cluster is placed: min(max(3k, k+8), this); a second round may add max(k, 4) nearer the best partial groups; 0 = no round, coordinates and the winners' pings only"`
	// RTTRoundTimeout is how long the measured round waits for the
	// candidates' rows; a candidate later than that is unmeasured.
	RTTRoundTimeout p2p.Duration `toml:"rtt_round_timeout" comment:"how long the measured round waits for the candidates' RTT rows (a late candidate's pairs keep their coordinate estimates)"`
	// RTTRoundBound ties the measured round's deadline to the job's RTT
	// bound: each round waits min(rtt_round_timeout, this x bound) for
	// the rows, which come back partial (rttRoundDeadline). A pair not
	// measured by then is near or over the bound anyway; it keeps its
	// estimate and the winners' pings check it. 0 leaves rtt_round_timeout alone.
	RTTRoundBound float64 `toml:"rtt_round_bound" comment:"the measured round's deadline as a factor on the job's RTT bound: each round waits min(rtt_round_timeout, this x bound, at least 10 ms) and candidates answer with the pairs they measured by then; 0 = rtt_round_timeout alone"`
	// RTTRoundSlack widens the RTT bound within which coordinates put a
	// bid near a cheaper one when the round's first candidates are picked
	// (placement.Candidates): coordinates prune, measurements decide.
	RTTRoundSlack float64 `toml:"rtt_round_slack" comment:"factor on the job's RTT bound within which coordinates put a bid near a cheaper one when the measured round's first candidates are picked"`
	// ReserveHold is how long an accepted award keeps devices reserved for
	// a job that has not started.
	ReserveHold p2p.Duration `toml:"reserve_hold" comment:"how long an accepted award keeps this node's devices reserved before the job starts"`
	// MinReputation is the least reputation, 0..1, a bid needs to be chosen.
	MinReputation float64 `toml:"min_reputation" comment:"least reputation (0..1, newcomers start near 0.5) a provider needs to be chosen"`
	// DefaultMaxPrice is the price cap per device-hour of a job that names none.
	DefaultMaxPrice float64 `toml:"default_max_price" comment:"highest price per device-hour (USD) for a job that names none"`
	// Invite asks providers found through capability keys directly, on top
	// of the gossip, once the routing table holds InviteAbove peers. An
	// invited provider says why it will not bid, which a failed job reports.
	Invite bool `toml:"invite" comment:"also invite providers found through capability keys directly (they say why they will not bid)"`
	// InviteAbove is the routing-table size from which Invite applies; 0 always.
	InviteAbove int `toml:"invite_above" comment:"routing-table size from which providers are also invited directly; 0 = always"`
	// RequestsPerMinute bounds the job requests one peer may originate on
	// gossip; more are rejected and score the sender down.
	RequestsPerMinute int `toml:"requests_per_minute" comment:"job requests one peer may publish per minute before its messages are rejected"`
	// MaxOpenBids bounds the requests this node has bid on and not yet
	// seen awarded or expired.
	MaxOpenBids int `toml:"max_open_bids" comment:"most job requests this node keeps bids open for"`
	// HeartbeatInterval is how often this node, as a provider, tells a
	// requester its work is alive.
	HeartbeatInterval p2p.Duration `toml:"heartbeat_interval" comment:"how often this node, running work as a provider, sends the requester a heartbeat"`
	// HeartbeatTolerance is how many of a provider's heartbeat intervals
	// may pass without a word before its worker is replaced.
	HeartbeatTolerance int `toml:"heartbeat_tolerance" comment:"heartbeats a provider may miss before its workers are replaced (failover)"`
	// MaxFailovers bounds the replacements of lost providers in one job.
	MaxFailovers int `toml:"max_failovers" comment:"most lost providers one job replaces before it fails"`
	// DefaultAudit is the share of a wasm job's ranks, 0..1, this node
	// runs again itself to check the outputs its providers return, for a
	// job that names no audit.
	DefaultAudit float64 `toml:"default_audit" comment:"share (0..1) of a wasm job's ranks this node runs again itself to check its providers' outputs, for jobs that name no audit; 0 = none"`
	// VerifyClass says which device classes this node, as a requester,
	// checks with a proof-of-compute challenge before it awards a provider
	// claiming them: VerifyAll (the default), VerifyCPU or VerifyOff.
	VerifyClass string `toml:"verify_class" comment:"which claimed device classes are checked with a proof-of-compute challenge before an award: all (CPU classes, and GPU classes through the provider's proof helper; a GPU class whose provider runs none is unverified and not awarded), cpu (CPU classes only; GPU classes on the provider's word), off"`
	// VerifyTTL is how long a passed challenge stands for a provider and
	// class before it is challenged again.
	VerifyTTL p2p.Duration `toml:"verify_ttl" comment:"how long a provider's passed proof-of-compute for a class stands before it is challenged again"`
	// JobLogMB is how many MiB of log lines each job this node requests
	// keeps on disk (DIR/results/.logs/<job>.log); later lines are counted
	// as dropped. 0 means DefaultJobLogMB (16).
	JobLogMB int `toml:"job_log_mb" comment:"MiB of log lines each job this node requests keeps on disk; later lines are counted as dropped (0 = 16)"`
}

// DefaultRelayBidWindow is market.relay_bid_window's default: the 2 s
// window plus 3 s for a bid's detour through a relay (docs/market.md).
const DefaultRelayBidWindow = 5 * time.Second

// DefaultRTTRoundBound is market.rtt_round_bound's default: off. A round
// cut at half the bound fits B3's time at k = 2 and 4, but leaves pairs
// near the bound that need a handshake unmeasured, and a requester far
// from its candidates gets no rows at all (TestMeasuredRound's planted
// optimum is lost even at twice the bound); see docs/market.md.
const DefaultRTTRoundBound = 0

// DefaultRTTRoundCandidates is market.rtt_round_candidates' default.
const DefaultRTTRoundCandidates = 32

// DefaultConfig is a market tuned for interactive use: two seconds of
// bidding at most, four eligible bids per worker to close early.
func DefaultConfig() Config {
	return Config{
		BidWindow:           p2p.Duration(2 * time.Second),
		RelayBidWindow:      p2p.Duration(DefaultRelayBidWindow),
		EnoughBidsPerWorker: 4,
		AwardTimeout:        p2p.Duration(3 * time.Second),
		VerifyRounds:        4,
		RTTRoundCandidates:  DefaultRTTRoundCandidates,
		RTTRoundTimeout:     p2p.Duration(time.Second),
		RTTRoundSlack:       placement.CandidateSlack,
		RTTRoundBound:       DefaultRTTRoundBound,
		ReserveHold:         p2p.Duration(2 * time.Minute),
		MinReputation:       reputation.DefaultMinReputation,
		DefaultMaxPrice:     5,
		Invite:              true,
		InviteAbove:         0,
		RequestsPerMinute:   600,
		MaxOpenBids:         256,
		HeartbeatInterval:   p2p.Duration(2 * time.Second),
		HeartbeatTolerance:  3,
		MaxFailovers:        3,
		DefaultAudit:        0,
		VerifyClass:         VerifyAll,
		VerifyTTL:           p2p.Duration(6 * time.Hour),
		JobLogMB:            DefaultJobLogMB,
	}
}

// Validate names every bad key under prefix.
func (c Config) Validate(prefix string) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: "+format, append([]any{prefix, key}, args...)...))
	}
	if w := time.Duration(c.BidWindow); w <= 0 || w > 10*time.Minute {
		bad("bid_window", "%s not in (0, 10m]", w)
	}
	if w := time.Duration(c.RelayBidWindow); w < 0 || w > 10*time.Minute {
		bad("relay_bid_window", "%s not in [0, 10m]", w)
	}
	if c.EnoughBidsPerWorker < 1 || c.EnoughBidsPerWorker > 100 {
		bad("enough_bids_per_worker", "%d not in [1, 100]", c.EnoughBidsPerWorker)
	}
	if t := time.Duration(c.AwardTimeout); t < 100*time.Millisecond || t > time.Minute {
		bad("award_timeout", "%s not in [100ms, 1m]", t)
	}
	if c.VerifyRounds < 1 || c.VerifyRounds > 20 {
		bad("verify_rounds", "%d not in [1, 20]", c.VerifyRounds)
	}
	if c.RTTRoundCandidates < 0 || c.RTTRoundCandidates > gossip.MaxRTTCandidates {
		bad("rtt_round_candidates", "%d not in [0, %d]", c.RTTRoundCandidates, gossip.MaxRTTCandidates)
	}
	if t := time.Duration(c.RTTRoundTimeout); t < 10*time.Millisecond || t > 10*time.Second {
		bad("rtt_round_timeout", "%s not in [10ms, 10s]", t)
	}
	if b := c.RTTRoundBound; !(b == 0 || b >= 0.1 && b <= 10) {
		bad("rtt_round_bound", "%v not 0 or in [0.1, 10]", b)
	}
	if s := c.RTTRoundSlack; !(s >= 1 && s <= 10) {
		bad("rtt_round_slack", "%v not in [1, 10]", s)
	}
	if h := time.Duration(c.ReserveHold); h < time.Second || h > time.Hour {
		bad("reserve_hold", "%s not in [1s, 1h]", h)
	}
	if math.IsNaN(c.MinReputation) || c.MinReputation < 0 || c.MinReputation > 1 {
		bad("min_reputation", "%v not in [0, 1]", c.MinReputation)
	}
	if !(c.DefaultMaxPrice > 0 && c.DefaultMaxPrice <= 1000) {
		bad("default_max_price", "%v not in (0, 1000]", c.DefaultMaxPrice)
	}
	if c.InviteAbove < 0 {
		bad("invite_above", "%d is negative", c.InviteAbove)
	}
	if c.RequestsPerMinute < 1 || c.RequestsPerMinute > 6000 {
		bad("requests_per_minute", "%d not in [1, 6000]", c.RequestsPerMinute)
	}
	if c.MaxOpenBids < 1 || c.MaxOpenBids > 100000 {
		bad("max_open_bids", "%d not in [1, 100000]", c.MaxOpenBids)
	}
	if h := time.Duration(c.HeartbeatInterval); h < 10*time.Millisecond || h > time.Minute {
		bad("heartbeat_interval", "%s not in [10ms, 1m]", h)
	}
	if c.HeartbeatTolerance < 1 || c.HeartbeatTolerance > 100 {
		bad("heartbeat_tolerance", "%d not in [1, 100]", c.HeartbeatTolerance)
	}
	if c.VerifyClass != VerifyCPU && c.VerifyClass != VerifyAll && c.VerifyClass != VerifyOff {
		bad("verify_class", "%q is none of %s, %s, %s", c.VerifyClass, VerifyCPU, VerifyAll, VerifyOff)
	}
	if t := time.Duration(c.VerifyTTL); t < time.Second || t > 30*24*time.Hour {
		bad("verify_ttl", "%s not in [1s, 720h]", t)
	}
	if c.JobLogMB < 0 || c.JobLogMB > 4096 {
		bad("job_log_mb", "%d not in [0, 4096]", c.JobLogMB)
	}
	if c.MaxFailovers < 0 || c.MaxFailovers > 100 {
		bad("max_failovers", "%d not in [0, 100]", c.MaxFailovers)
	}
	if a := c.DefaultAudit; !(a >= 0 && a <= 1) {
		bad("default_audit", "%v not in [0, 1]", a)
	}
	return errors.Join(errs...)
}
