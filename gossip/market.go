package gossip

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/p2p/coord"
)

// The market's wire messages: a requester's JobRequest on TopicJobs; a
// provider's Bid, the requester's Award and the provider's Accept or
// Decline on the /gpumesh/bid/1 and /gpumesh/award/1 streams. Each is a
// signed envelope with its own domain and a versioned payload type, and
// each checks its own contents (Validate); whether a bid answers the right
// job and comes from the peer it names is the protocol's check, since only
// the protocol knows the job and the stream.

// Domains of the market's messages.
const (
	JobRequestDomain = "gpumesh-job-request"
	BidDomain        = "gpumesh-bid"
	AwardDomain      = "gpumesh-award"
	AcceptDomain     = "gpumesh-accept"
	DeclineDomain    = "gpumesh-decline"
	ReleaseDomain    = "gpumesh-release"
)

// Limits of the market's messages.
const (
	// MaxWorkers is the most workers one request may ask for.
	MaxWorkers = 256
	// MaxGPUsPerWorker is the most GPUs one worker may ask for.
	MaxGPUsPerWorker = 64
	// MaxJobDuration is the longest job a request may ask for.
	MaxJobDuration = 30 * 24 * time.Hour
	// MaxBidWindow is the longest a request may stay open for bids.
	MaxBidWindow = 10 * time.Minute
	// MaxMessageLife bounds the life of a bid, award, accept or decline.
	MaxMessageLife = time.Hour
	// MaxPricePerHour is the highest price per device-hour, in USD.
	MaxPricePerHour = 1000.0
)

// Urgency says how soon a requester needs its workers: providers price it.
type Urgency string

// Urgencies.
const (
	UrgencyLow    Urgency = "low"
	UrgencyNormal Urgency = "normal"
	UrgencyHigh   Urgency = "high"
)

var (
	jobIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
	wordPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,47}$`)
)

// Resources are what one worker needs.
type Resources struct {
	// GPUs is the devices per worker: GPUs, or for the cpu pool the CPU of
	// a CPU-only node, which counts as one device. 0 means a CPU-only job
	// (one CPU device per worker).
	GPUs int `json:"gpus"`
	// Pool, if set, is the device pool required: gpu, apple or cpu.
	Pool string `json:"pool,omitempty"`
	// Class, if set, is the device class required (A100-80GB).
	Class string `json:"class,omitempty"`
	// MinVRAMGB, if set, is the least memory per GPU, in GB.
	MinVRAMGB float64 `json:"min_vram_gb,omitempty"`
	// CPUCores and RAMGB are the CPU and memory per worker.
	CPUCores int     `json:"cpu_cores,omitempty"`
	RAMGB    float64 `json:"ram_gb,omitempty"`
}

func (r Resources) validate() []error {
	var errs []error
	if r.GPUs < 0 || r.GPUs > MaxGPUsPerWorker {
		errs = append(errs, fmt.Errorf("gpus per worker %d not in [0, %d]", r.GPUs, MaxGPUsPerWorker))
	}
	switch r.Pool {
	case "", "gpu", "apple", "cpu":
	default:
		errs = append(errs, fmt.Errorf("pool %q is not gpu, apple or cpu", r.Pool))
	}
	if r.GPUs == 0 && r.Pool != "" && r.Pool != "cpu" {
		errs = append(errs, fmt.Errorf("a CPU-only worker (0 GPUs) cannot ask for pool %s", r.Pool))
	}
	if r.Class != "" && !wordPattern.MatchString(r.Class) {
		errs = append(errs, fmt.Errorf("class %q", r.Class))
	}
	if !finiteIn(r.MinVRAMGB, 0, 1024) || !finiteIn(r.RAMGB, 0, 1<<20) {
		errs = append(errs, errors.New("min_vram_gb or ram_gb out of range"))
	}
	if r.CPUCores < 0 || r.CPUCores > 4096 {
		errs = append(errs, fmt.Errorf("cpu cores %d not in [0, 4096]", r.CPUCores))
	}
	if r.GPUs == 0 && r.CPUCores == 0 {
		errs = append(errs, errors.New("a worker needs GPUs or CPU cores"))
	}
	return errs
}

// JobRequest asks the network for K workers close to each other.
type JobRequest struct {
	// ID is the job's identity: 16 random bytes in hex, chosen by the requester.
	ID string `json:"id"`
	// Seq increases with every message the requester publishes (replay check).
	Seq uint64 `json:"seq"`
	// Sent is when the request was made; BidDeadline ends the bidding and
	// the request's life on gossip.
	Sent        time.Time `json:"sent"`
	BidDeadline time.Time `json:"bid_deadline"`
	// Workers is k, the number of workers.
	Workers int `json:"workers"`
	// PerWorker are one worker's resources.
	PerWorker Resources `json:"per_worker"`
	// MaxRTT is the largest RTT allowed between any two workers; 0 means no bound.
	MaxRTT time.Duration `json:"max_rtt_ns"`
	// Regions, if set, are the regions or countries workers must be in.
	Regions []string `json:"regions,omitempty"`
	// MaxPrice is the most the requester pays per device-hour, USD.
	MaxPrice float64 `json:"max_price"`
	// Duration is how long the job runs at most.
	Duration time.Duration `json:"duration_ns"`
	// Executor is wasm, docker or process.
	Executor string `json:"executor"`
	// Workload names what runs: a content hash, an image, a command.
	Workload string `json:"workload"`
	// Urgency is low, normal or high.
	Urgency Urgency `json:"urgency"`
	// Coord is the requester's network coordinate, if it has one.
	Coord *coord.Coordinate `json:"coord,omitempty"`
	// Addrs are the requester's addresses, for bids sent over streams.
	Addrs []string `json:"addrs,omitempty"`
}

// Bid is a provider's offer for a job.
type Bid struct {
	// Job is the request's ID.
	Job string `json:"job"`
	// Seq increases with every bid the provider sends.
	Seq uint64 `json:"seq"`
	// Sent and Expires bound the bid's validity.
	Sent    time.Time `json:"sent"`
	Expires time.Time `json:"expires"`
	// Price is the ask per device-hour, USD.
	Price float64 `json:"price"`
	// Workers is how many of the job's workers this provider can host.
	Workers int `json:"workers"`
	// Class is the device class offered.
	Class string `json:"class"`
	// VRAMGB is the memory per GPU offered.
	VRAMGB float64 `json:"vram_gb,omitempty"`
	// Coord is the provider's network coordinate.
	Coord *coord.Coordinate `json:"coord,omitempty"`
	// CapacitySeq is the sequence number of the provider's capacity record
	// the bid was made from (its proofs and attributes are there).
	CapacitySeq uint64 `json:"capacity_seq,omitempty"`
	// Addrs are the provider's addresses.
	Addrs []string `json:"addrs,omitempty"`
	// RTTs, optional (bids before it lack it and stay valid), are the
	// provider's recent RTTs to peers it is directly connected to, at
	// most MaxBidRTTs, nearest first: what the requester may place on
	// where its measured round did not reach.
	RTTs []PeerRTT `json:"rtts,omitempty"`
	// Wallet, optional, is the provider's payout wallet (0x address),
	// and WalletSig its proof that the provider holds the wallet's key
	// (see ValidPayout): what a job asking for staked providers checks
	// on chain before it awards.
	Wallet    string `json:"wallet,omitempty"`
	WalletSig string `json:"wallet_sig,omitempty"`
}

// Award gives workers of a job to a provider at the bid's price.
type Award struct {
	// Job is the request's ID.
	Job string `json:"job"`
	// Provider is the winner's peer ID.
	Provider string `json:"provider"`
	// Seq increases with every award the requester sends.
	Seq uint64 `json:"seq"`
	// Sent is when the award was made; AcceptBy is the last moment to accept.
	Sent     time.Time `json:"sent"`
	AcceptBy time.Time `json:"accept_by"`
	// Price is the awarded price per device-hour: the bid's.
	Price float64 `json:"price"`
	// Ranks are the worker ranks this provider runs, in [0, WorldSize).
	Ranks []int `json:"ranks"`
	// WorldSize is the number of workers in the cluster.
	WorldSize int `json:"world_size"`
	// Peers are the proposed cluster's providers, by rank (rank i runs on
	// Peers[i]). The winner pings the others before it accepts, so the
	// requester learns the cluster's real RTTs; the run protocol carries the
	// final cluster.
	Peers []string `json:"peers"`
	// Addrs are the other providers' addresses, by peer ID, for those pings.
	Addrs map[string][]string `json:"addrs,omitempty"`
	// Measured, optional, says the requester's measured round already
	// measured every pair of the proposed cluster from both ends
	// (/gpumesh/rtt-round/1): the winner need not ping the others before
	// it accepts. A provider that does not know the field pings anyway.
	Measured bool `json:"measured,omitempty"`
	// Network, on a failover award, is the ID of the job whose network
	// the replacement's ranks join (its run request names it); empty
	// means Job. A provider lets a run join no other network than its
	// award's.
	Network string `json:"network,omitempty"`
}

// PeerRTT is a round-trip time a provider measured to another member of a
// proposed cluster.
type PeerRTT struct {
	// Peer is the other provider's peer ID.
	Peer string `json:"peer"`
	// RTT is the measured round-trip time; 0 with Err set when it failed.
	RTT time.Duration `json:"rtt_ns"`
	// Err says why the ping failed.
	Err string `json:"err,omitempty"`
}

// Accept is a provider's acceptance of an award: it reserves the devices.
type Accept struct {
	// Job is the request's ID.
	Job string `json:"job"`
	// Seq increases with every accept or decline the provider sends.
	Seq uint64 `json:"seq"`
	// Sent is when it was made; ReservedUntil is when the reservation
	// lapses unless the job starts.
	Sent          time.Time `json:"sent"`
	ReservedUntil time.Time `json:"reserved_until"`
	// AwardSeq is the accepted award's sequence number.
	AwardSeq uint64 `json:"award_seq"`
	// RTTs are the provider's pings to the award's other peers.
	RTTs []PeerRTT `json:"rtts,omitempty"`
}

// Decline is a provider's refusal of an award, with its reason.
type Decline struct {
	// Job is the request's ID.
	Job string `json:"job"`
	// Seq increases with every accept or decline the provider sends.
	Seq uint64 `json:"seq"`
	// Sent is when it was made.
	Sent time.Time `json:"sent"`
	// AwardSeq is the declined award's sequence number.
	AwardSeq uint64 `json:"award_seq"`
	// Reason says why, for the requester's log and reputation.
	Reason string `json:"reason"`
}

// Release frees a provider from an award it accepted: the requester chose
// another cluster, or gave the job up.
type Release struct {
	// Job is the request's ID.
	Job string `json:"job"`
	// Provider is the released provider's peer ID.
	Provider string `json:"provider"`
	// Seq increases with every award or release the requester sends.
	Seq uint64 `json:"seq"`
	// Sent is when it was made.
	Sent time.Time `json:"sent"`
	// Reason says why, for the provider's log.
	Reason string `json:"reason"`
}

// Types of the market's messages.
var (
	JobRequestType = Type{Name: "job-request", New: func() Message { return new(JobRequest) }}
	BidType        = Type{Name: "bid", New: func() Message { return new(Bid) }}
	AwardType      = Type{Name: "award", New: func() Message { return new(Award) }}
	AcceptType     = Type{Name: "accept", New: func() Message { return new(Accept) }}
	DeclineType    = Type{Name: "decline", New: func() Message { return new(Decline) }}
	ReleaseType    = Type{Name: "release", New: func() Message { return new(Release) }}
)

// Domain implements record.Record.
func (*JobRequest) Domain() string { return JobRequestDomain }

// Domain implements record.Record.
func (*Bid) Domain() string { return BidDomain }

// Domain implements record.Record.
func (*Award) Domain() string { return AwardDomain }

// Domain implements record.Record.
func (*Accept) Domain() string { return AcceptDomain }

// Domain implements record.Record.
func (*Decline) Domain() string { return DeclineDomain }

// Domain implements record.Record.
func (*Release) Domain() string { return ReleaseDomain }

// Codec implements record.Record.
func (*Release) Codec() []byte { return []byte("/gpumesh/release/1") }

// MarshalRecord implements record.Record.
func (m *Release) MarshalRecord() ([]byte, error) { return json.Marshal(m) }

// UnmarshalRecord implements record.Record.
func (m *Release) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, m) }

// Codec implements record.Record.
func (*JobRequest) Codec() []byte { return []byte("/gpumesh/job-request/1") }

// Codec implements record.Record.
func (*Bid) Codec() []byte { return []byte("/gpumesh/bid/1") }

// Codec implements record.Record.
func (*Award) Codec() []byte { return []byte("/gpumesh/award/1") }

// Codec implements record.Record.
func (*Accept) Codec() []byte { return []byte("/gpumesh/accept/1") }

// Codec implements record.Record.
func (*Decline) Codec() []byte { return []byte("/gpumesh/decline/1") }

// MarshalRecord implements record.Record.
func (m *JobRequest) MarshalRecord() ([]byte, error) { return json.Marshal(m) }

// MarshalRecord implements record.Record.
func (m *Bid) MarshalRecord() ([]byte, error) { return json.Marshal(m) }

// MarshalRecord implements record.Record.
func (m *Award) MarshalRecord() ([]byte, error) { return json.Marshal(m) }

// MarshalRecord implements record.Record.
func (m *Accept) MarshalRecord() ([]byte, error) { return json.Marshal(m) }

// MarshalRecord implements record.Record.
func (m *Decline) MarshalRecord() ([]byte, error) { return json.Marshal(m) }

// UnmarshalRecord implements record.Record.
func (m *JobRequest) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, m) }

// UnmarshalRecord implements record.Record.
func (m *Bid) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, m) }

// UnmarshalRecord implements record.Record.
func (m *Award) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, m) }

// UnmarshalRecord implements record.Record.
func (m *Accept) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, m) }

// UnmarshalRecord implements record.Record.
func (m *Decline) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, m) }

// Sequence implements Sequenced: a replayed request is ignored on gossip.
func (m *JobRequest) Sequence() uint64 { return m.Seq }

// SequenceKey implements SequenceKeyed: a request's sequence runs per job.
func (m *JobRequest) SequenceKey() string { return m.ID }

// Validate implements Message.
func (m *JobRequest) Validate(now time.Time, maxSkew time.Duration) error {
	var errs []error
	errs = append(errs, validJobID(m.ID))
	if m.Seq == 0 {
		errs = append(errs, errors.New("seq must be positive"))
	}
	if m.Workers < 1 || m.Workers > MaxWorkers {
		errs = append(errs, fmt.Errorf("workers %d not in [1, %d]", m.Workers, MaxWorkers))
	}
	errs = append(errs, m.PerWorker.validate()...)
	if m.MaxRTT < 0 || m.MaxRTT > 10*time.Second {
		errs = append(errs, fmt.Errorf("max rtt %s not in [0, 10s]", m.MaxRTT))
	}
	if len(m.Regions) > 16 {
		errs = append(errs, fmt.Errorf("%d regions, at most 16", len(m.Regions)))
	}
	for _, r := range m.Regions {
		if !wordPattern.MatchString(r) {
			errs = append(errs, fmt.Errorf("region %q", r))
		}
	}
	errs = append(errs, validPrice("max price", m.MaxPrice))
	if m.Duration <= 0 || m.Duration > MaxJobDuration {
		errs = append(errs, fmt.Errorf("duration %s not in (0, %s]", m.Duration, MaxJobDuration))
	}
	if !wordPattern.MatchString(m.Executor) {
		errs = append(errs, fmt.Errorf("executor %q", m.Executor))
	}
	if len(m.Workload) == 0 || len(m.Workload) > 512 {
		errs = append(errs, fmt.Errorf("workload reference of %d bytes, want 1 to 512", len(m.Workload)))
	}
	switch m.Urgency {
	case UrgencyLow, UrgencyNormal, UrgencyHigh:
	default:
		errs = append(errs, fmt.Errorf("urgency %q is not low, normal or high", m.Urgency))
	}
	errs = append(errs, validCoord(m.Coord), validAddrs(m.Addrs))
	if w := m.BidDeadline.Sub(m.Sent); w <= 0 || w > MaxBidWindow {
		errs = append(errs, fmt.Errorf("bid window %s not in (0, %s]", w, MaxBidWindow))
	}
	return timely(errors.Join(errs...), m.Sent, m.BidDeadline, now, maxSkew)
}

// Validate implements Message.
func (m *Bid) Validate(now time.Time, maxSkew time.Duration) error {
	var errs []error
	errs = append(errs, validJobID(m.Job))
	if m.Seq == 0 {
		errs = append(errs, errors.New("seq must be positive"))
	}
	errs = append(errs, validPrice("price", m.Price))
	if m.Workers < 1 || m.Workers > MaxWorkers {
		errs = append(errs, fmt.Errorf("workers %d not in [1, %d]", m.Workers, MaxWorkers))
	}
	if !wordPattern.MatchString(m.Class) {
		errs = append(errs, fmt.Errorf("class %q", m.Class))
	}
	if !finiteIn(m.VRAMGB, 0, 1024) {
		errs = append(errs, fmt.Errorf("vram %v GB", m.VRAMGB))
	}
	errs = append(errs, validCoord(m.Coord), validAddrs(m.Addrs), validRTTs(m.RTTs, MaxBidRTTs), validLife(m.Sent, m.Expires),
		validPayout(m.Wallet, m.WalletSig))
	return timely(errors.Join(errs...), m.Sent, m.Expires, now, maxSkew)
}

// Validate implements Message.
func (m *Award) Validate(now time.Time, maxSkew time.Duration) error {
	var errs []error
	errs = append(errs, validJobID(m.Job))
	if m.Network != "" {
		errs = append(errs, validJobID(m.Network))
	}
	if _, err := peer.Decode(m.Provider); err != nil {
		errs = append(errs, fmt.Errorf("provider %q is not a peer ID", m.Provider))
	}
	if m.Seq == 0 {
		errs = append(errs, errors.New("seq must be positive"))
	}
	errs = append(errs, validPrice("price", m.Price))
	if m.WorldSize < 1 || m.WorldSize > MaxWorkers || len(m.Peers) != m.WorldSize {
		errs = append(errs, fmt.Errorf("world size %d with %d peers", m.WorldSize, len(m.Peers)))
	}
	if len(m.Ranks) == 0 || len(m.Ranks) > m.WorldSize {
		errs = append(errs, fmt.Errorf("%d ranks for a world of %d", len(m.Ranks), m.WorldSize))
	}
	for _, r := range m.Ranks {
		if r < 0 || r >= m.WorldSize || r >= len(m.Peers) || m.Peers[r] != m.Provider {
			errs = append(errs, fmt.Errorf("rank %d is not the provider's", r))
		}
	}
	for _, p := range m.Peers {
		if len(p) > 128 {
			errs = append(errs, errors.New("peer ID too long"))
		}
	}
	if len(m.Addrs) > m.WorldSize {
		errs = append(errs, fmt.Errorf("addresses for %d peers in a world of %d", len(m.Addrs), m.WorldSize))
	}
	for p, addrs := range m.Addrs {
		if len(p) > 128 {
			errs = append(errs, errors.New("peer ID too long"))
		}
		errs = append(errs, validAddrs(addrs))
	}
	errs = append(errs, validLife(m.Sent, m.AcceptBy))
	return timely(errors.Join(errs...), m.Sent, m.AcceptBy, now, maxSkew)
}

// Validate implements Message.
func (m *Accept) Validate(now time.Time, maxSkew time.Duration) error {
	var errs []error
	errs = append(errs, validJobID(m.Job))
	if m.Seq == 0 || m.AwardSeq == 0 {
		errs = append(errs, errors.New("seq and award seq must be positive"))
	}
	if len(m.RTTs) > MaxWorkers {
		errs = append(errs, fmt.Errorf("%d RTTs, at most %d", len(m.RTTs), MaxWorkers))
	}
	for _, r := range m.RTTs {
		if len(r.Peer) > 128 || len(r.Err) > 256 || r.RTT < 0 || r.RTT > time.Minute {
			errs = append(errs, fmt.Errorf("RTT entry for %.16q out of bounds", r.Peer))
			break
		}
	}
	errs = append(errs, validLife(m.Sent, m.ReservedUntil))
	return timely(errors.Join(errs...), m.Sent, m.ReservedUntil, now, maxSkew)
}

// Validate implements Message.
func (m *Release) Validate(now time.Time, maxSkew time.Duration) error {
	var errs []error
	errs = append(errs, validJobID(m.Job))
	if _, err := peer.Decode(m.Provider); err != nil {
		errs = append(errs, fmt.Errorf("provider %q is not a peer ID", m.Provider))
	}
	if m.Seq == 0 {
		errs = append(errs, errors.New("seq must be positive"))
	}
	if len(m.Reason) > 256 {
		errs = append(errs, fmt.Errorf("reason of %d bytes, at most 256", len(m.Reason)))
	}
	return timely(errors.Join(errs...), m.Sent, m.Sent.Add(MaxMessageLife), now, maxSkew)
}

// Validate implements Message.
func (m *Decline) Validate(now time.Time, maxSkew time.Duration) error {
	var errs []error
	errs = append(errs, validJobID(m.Job))
	if m.Seq == 0 || m.AwardSeq == 0 {
		errs = append(errs, errors.New("seq and award seq must be positive"))
	}
	if len(m.Reason) > 256 {
		errs = append(errs, fmt.Errorf("reason of %d bytes, at most 256", len(m.Reason)))
	}
	return timely(errors.Join(errs...), m.Sent, m.Sent.Add(MaxMessageLife), now, maxSkew)
}

// NewJobID returns a fresh job ID: 16 random bytes as 32 lowercase hex
// digits, the form ValidJobID accepts.
func NewJobID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes the program instead)
	return hex.EncodeToString(b[:])
}

// ValidJobID reports whether id has a job ID's form: 32 lowercase hex digits.
func ValidJobID(id string) bool { return jobIDPattern.MatchString(id) }

func validJobID(id string) error {
	if !ValidJobID(id) {
		return fmt.Errorf("job id %q is not 32 hex digits", id)
	}
	return nil
}

func validPrice(name string, p float64) error {
	if !(p > 0 && p <= MaxPricePerHour) {
		return fmt.Errorf("%s %v not in (0, %v]", name, p, MaxPricePerHour)
	}
	return nil
}

func finiteIn(v, lo, hi float64) bool { return !math.IsNaN(v) && v >= lo && v <= hi }

func validCoord(c *coord.Coordinate) error {
	if c == nil {
		return nil
	}
	return c.Validate()
}

func validAddrs(addrs []string) error {
	if len(addrs) > 8 {
		return fmt.Errorf("%d addresses, at most 8", len(addrs))
	}
	for _, a := range addrs {
		if len(a) > 256 {
			return fmt.Errorf("address of %d bytes", len(a))
		}
	}
	return nil
}

func validLife(from, until time.Time) error {
	if life := until.Sub(from); life <= 0 || life > MaxMessageLife {
		return fmt.Errorf("lifetime %s not in (0, %s]", life, MaxMessageLife)
	}
	return nil
}

// timely returns contentErr if set, else an ErrExpired error when sent is
// ahead of now by more than maxSkew or until has passed.
func timely(contentErr error, sent, until, now time.Time, maxSkew time.Duration) error {
	if contentErr != nil {
		return contentErr
	}
	if sent.After(now.Add(maxSkew)) {
		return fmt.Errorf("%w: sent %s ahead of our clock", ErrExpired, sent.Sub(now))
	}
	if !now.Before(until) {
		return fmt.Errorf("%w: expired %s ago", ErrExpired, now.Sub(until))
	}
	return nil
}
