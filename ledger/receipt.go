package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/peer"
)

// ReceiptVersion is the version of the Receipt wire format.
const ReceiptVersion = 1

// DefaultIncentivePool is the pool protocol fees go to unless a receipt names another.
const DefaultIncentivePool = "gpumesh-protocol"

// Receipt statuses.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
	StatusLost      = "lost"
)

// Bounds a receipt must keep to.
const (
	// MaxAmount bounds Amount: 10^14 micros, 100 million dollars.
	MaxAmount Micros = 100_000_000_000_000
	// MaxUnitPrice bounds UnitPrice: 10^11 micros, 100,000 dollars per GPU-hour.
	MaxUnitPrice Micros = 100_000_000_000
	// MaxDevices bounds Devices.
	MaxDevices = 4096
	// MaxDuration bounds End - Start.
	MaxDuration = 366 * 24 * time.Hour
	// maxString bounds Job, Class, Pool, IncentivePool and Executor.
	maxString = 128
)

// minTime is the earliest time a receipt may name.
var minTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Receipt is a provider's statement of the work it did for a requester on
// one rank of one job. It is cumulative: the provider may issue it several
// times during a job with increasing Seq and growing End, GPUMillis and
// Amount, and a later one supersedes the earlier for the same (Provider,
// Requester, Job, Rank, Attempt).
//
// Money: GPUMillis = Devices x (End - Start) in milliseconds;
// Amount = UnitPrice x GPUMillis / 3,600,000 rounded to the nearest micro,
// halves up (see Cost); each side pays Fee(Amount) to IncentivePool, so the
// requester pays Amount + RequesterFee and the provider receives
// Amount - ProviderFee.
type Receipt struct {
	// V is ReceiptVersion.
	V int `json:"v"`
	// ID is ComputeID of the receipt: the same work and Seq always give the same ID.
	ID string `json:"id"`
	// Job is the job's ID.
	Job string `json:"job"`
	// Requester is the peer ID of the node that submitted the job and pays.
	Requester string `json:"requester"`
	// Provider is the peer ID of the node that did the work and is paid.
	Provider string `json:"provider"`
	// Rank is the worker's rank in the job, from 0.
	Rank int `json:"rank"`
	// Attempt is 0 for the first provider of this rank, 1 and up for failover replacements.
	Attempt int `json:"attempt"`
	// Replaces is the peer ID of the provider this one replaced; set exactly when Attempt > 0.
	Replaces string `json:"replaces,omitempty"`
	// Devices is the number of GPUs (or device slots) served.
	Devices int `json:"devices"`
	// Class is the device class, such as "A100-80GB".
	Class string `json:"class,omitempty"`
	// Pool is the provider's device pool the work ran in (informational).
	Pool string `json:"pool,omitempty"`
	// Executor is the executor that ran the work: "wasm", "docker" or "process".
	Executor string `json:"executor,omitempty"`
	// Start is when service began (UTC, millisecond precision).
	Start time.Time `json:"start"`
	// End is when service ended, or the time served up to for an interim receipt.
	End time.Time `json:"end"`
	// GPUMillis is the GPU time served in milliseconds: Devices x (End - Start).
	GPUMillis int64 `json:"gpu_millis"`
	// UnitPrice is the price per GPU-hour.
	UnitPrice Micros `json:"unit_price"`
	// Amount is what the work costs: Cost(UnitPrice, GPUMillis), the running total.
	Amount Micros `json:"amount"`
	// ProviderFee is Fee(Amount), paid by the provider to IncentivePool.
	ProviderFee Micros `json:"provider_fee"`
	// RequesterFee is Fee(Amount), paid by the requester to IncentivePool.
	RequesterFee Micros `json:"requester_fee"`
	// IncentivePool is where the fees go, such as DefaultIncentivePool.
	IncentivePool string `json:"incentive_pool"`
	// ResultDigest is the hex SHA-256 of the results; required when Status is succeeded.
	ResultDigest string `json:"result_digest,omitempty"`
	// ExitStatus is the workload's exit status.
	ExitStatus int `json:"exit_status"`
	// Status is one of StatusSucceeded, StatusFailed, StatusCancelled, StatusLost.
	Status string `json:"status"`
	// Seq numbers the cumulative receipts for the same work from 1; a later one supersedes.
	Seq uint64 `json:"seq"`
	// Issued is when the provider made the receipt (UTC, millisecond precision).
	Issued time.Time `json:"issued"`
	// GPU is what the rank's GPUs did, measured through NVML; nil for work
	// that held no GPU, and in receipts from before it existed (their
	// signed bytes lack it, so they verify as they always did).
	GPU *GPUUsage `json:"gpu,omitempty"`
}

// Key identifies the work a cumulative receipt covers; receipts with the
// same Key supersede each other by Seq.
type Key struct {
	Provider, Requester, Job string
	Rank, Attempt            int
}

// Key returns the receipt's Key.
func (r *Receipt) Key() Key {
	return Key{Provider: r.Provider, Requester: r.Requester, Job: r.Job, Rank: r.Rank, Attempt: r.Attempt}
}

// ComputeID returns the receipt's deterministic ID: the hex SHA-256 over
// its version, job, provider, requester, rank, attempt and seq,
// each length-prefixed.
func (r *Receipt) ComputeID() string {
	h := sha256.New()
	var b [binary.MaxVarintLen64]byte
	put := func(s string) {
		h.Write(b[:binary.PutUvarint(b[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	put("gpumesh-receipt-id/1")
	put(r.Job)
	put(r.Provider)
	put(r.Requester)
	h.Write(b[:binary.PutVarint(b[:], int64(r.Rank))])
	h.Write(b[:binary.PutVarint(b[:], int64(r.Attempt))])
	h.Write(b[:binary.PutUvarint(b[:], r.Seq)])
	return hex.EncodeToString(h.Sum(nil))
}

// Finalize fills in what follows from the rest: V, times rounded down to
// the millisecond in UTC, GPUMillis, Amount, both fees, the default
// incentive pool and ID. It does not check; call Check after.
func (r *Receipt) Finalize() {
	r.V = ReceiptVersion
	r.Start = r.Start.UTC().Truncate(time.Millisecond)
	r.End = r.End.UTC().Truncate(time.Millisecond)
	r.Issued = r.Issued.UTC().Truncate(time.Millisecond)
	if r.IncentivePool == "" {
		r.IncentivePool = DefaultIncentivePool
	}
	r.GPUMillis = int64(r.Devices) * r.End.Sub(r.Start).Milliseconds()
	r.Amount, _ = Cost(r.UnitPrice, r.GPUMillis)
	r.ProviderFee = Fee(r.Amount)
	r.RequesterFee = Fee(r.Amount)
	r.ID = r.ComputeID()
}

// Check reports every problem with the receipt, each naming the field and
// wrapping ErrInvalid (bounds and form), ErrArithmetic (GPUMillis, Amount)
// or ErrFee (the fees).
func (r *Receipt) Check() error {
	var errs []error
	bad := func(kind error, field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", kind, field, fmt.Sprintf(format, a...)))
	}
	if r.V != ReceiptVersion {
		bad(ErrInvalid, "v", "version %d, want %d", r.V, ReceiptVersion)
	}
	checkString := func(field, s string, required bool) {
		switch {
		case required && s == "":
			bad(ErrInvalid, field, "empty")
		case len(s) > maxString:
			bad(ErrInvalid, field, "%d bytes, max %d", len(s), maxString)
		case !printable(s):
			bad(ErrInvalid, field, "not printable UTF-8")
		}
	}
	checkString("job", r.Job, true)
	checkString("class", r.Class, false)
	checkString("pool", r.Pool, false)
	checkString("executor", r.Executor, false)
	checkString("incentive_pool", r.IncentivePool, true)
	checkPeer := func(field, s string) {
		if len(s) > maxString {
			bad(ErrInvalid, field, "%d bytes, max %d", len(s), maxString)
		} else if _, err := peer.Decode(s); err != nil {
			bad(ErrInvalid, field, "not a peer ID: %q", s)
		}
	}
	checkPeer("provider", r.Provider)
	checkPeer("requester", r.Requester)
	if r.Provider == r.Requester {
		bad(ErrInvalid, "requester", "same as provider")
	}
	if r.Rank < 0 || r.Rank >= MaxDevices {
		bad(ErrInvalid, "rank", "%d outside [0, %d)", r.Rank, MaxDevices)
	}
	switch {
	case r.Attempt < 0 || r.Attempt > 1000:
		bad(ErrInvalid, "attempt", "%d outside [0, 1000]", r.Attempt)
	case r.Attempt == 0 && r.Replaces != "":
		bad(ErrInvalid, "replaces", "set on a first attempt")
	case r.Attempt > 0 && r.Replaces == "":
		bad(ErrInvalid, "replaces", "empty on failover attempt %d", r.Attempt)
	case r.Attempt > 0:
		checkPeer("replaces", r.Replaces)
		if r.Replaces == r.Provider {
			bad(ErrInvalid, "replaces", "the provider replaces itself")
		}
	}
	if r.Devices < 1 || r.Devices > MaxDevices {
		bad(ErrInvalid, "devices", "%d outside [1, %d]", r.Devices, MaxDevices)
	}
	timesOK := true
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"start", r.Start}, {"end", r.End}, {"issued", r.Issued}} {
		switch {
		case f.t.Location() != time.UTC:
			bad(ErrInvalid, f.name, "not UTC")
			timesOK = false
		case !f.t.Equal(f.t.Truncate(time.Millisecond)):
			bad(ErrInvalid, f.name, "finer than a millisecond")
			timesOK = false
		case f.t.Before(minTime) || f.t.After(minTime.AddDate(100, 0, 0)):
			bad(ErrInvalid, f.name, "%s outside [%s, +100 years]", f.t.Format(time.RFC3339), minTime.Format(time.RFC3339))
			timesOK = false
		}
	}
	if timesOK {
		switch {
		case r.End.Before(r.Start):
			bad(ErrInvalid, "end", "before start")
			timesOK = false
		case r.End.Sub(r.Start) > MaxDuration:
			bad(ErrInvalid, "end", "%s after start, max %s", r.End.Sub(r.Start), MaxDuration)
			timesOK = false
		}
		if r.Issued.Before(r.End) {
			bad(ErrInvalid, "issued", "before end")
		}
	}
	if r.UnitPrice < 0 || r.UnitPrice > MaxUnitPrice {
		bad(ErrInvalid, "unit_price", "%d outside [0, %d]", r.UnitPrice, MaxUnitPrice)
	}
	if r.Amount < 0 || r.Amount > MaxAmount {
		bad(ErrInvalid, "amount", "%d outside [0, %d]", r.Amount, MaxAmount)
	}
	if timesOK && r.Devices >= 1 && r.Devices <= MaxDevices {
		if want := int64(r.Devices) * r.End.Sub(r.Start).Milliseconds(); r.GPUMillis != want {
			bad(ErrArithmetic, "gpu_millis", "%d, but %d devices x %d ms = %d", r.GPUMillis, r.Devices, r.End.Sub(r.Start).Milliseconds(), want)
		}
	}
	if r.GPUMillis >= 0 && r.UnitPrice >= 0 && r.UnitPrice <= MaxUnitPrice {
		if want, ok := Cost(r.UnitPrice, r.GPUMillis); !ok || r.Amount != want {
			bad(ErrArithmetic, "amount", "%d, but %d per GPU-hour x %d GPU-ms = %d", r.Amount, r.UnitPrice, r.GPUMillis, want)
		}
	}
	if want := Fee(r.Amount); r.ProviderFee != want {
		bad(ErrFee, "provider_fee", "%d, want %d (%d bp of %d)", r.ProviderFee, want, FeeBP, r.Amount)
	}
	if want := Fee(r.Amount); r.RequesterFee != want {
		bad(ErrFee, "requester_fee", "%d, want %d (%d bp of %d)", r.RequesterFee, want, FeeBP, r.Amount)
	}
	switch r.Status {
	case StatusSucceeded, StatusFailed, StatusCancelled, StatusLost:
	default:
		bad(ErrInvalid, "status", "%q is not succeeded, failed, cancelled or lost", r.Status)
	}
	if r.ResultDigest != "" {
		if b, err := hex.DecodeString(r.ResultDigest); err != nil || len(b) != sha256.Size || hex.EncodeToString(b) != r.ResultDigest {
			bad(ErrInvalid, "result_digest", "not 64 lowercase hex digits")
		}
	} else if r.Status == StatusSucceeded {
		bad(ErrInvalid, "result_digest", "empty on a succeeded receipt")
	}
	if r.ExitStatus < -1<<16 || r.ExitStatus > 1<<16 {
		bad(ErrInvalid, "exit_status", "%d out of range", r.ExitStatus)
	}
	if r.Seq == 0 {
		bad(ErrInvalid, "seq", "zero; the first receipt has seq 1")
	}
	if r.GPU != nil {
		errs = append(errs, r.GPU.Check()...)
	}
	if r.ID != r.ComputeID() {
		bad(ErrInvalid, "id", "%q does not match its contents", r.ID)
	}
	return errors.Join(errs...)
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}
