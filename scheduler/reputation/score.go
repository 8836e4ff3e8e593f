package reputation

import (
	"math"
	"time"
)

// Kind is the kind of an event the market records about a peer.
type Kind string

// The kinds of event.
const (
	// AwardAccepted: the provider accepted an award we sent.
	AwardAccepted Kind = "award_accepted"
	// AwardDeclined: the provider declined an award.
	AwardDeclined Kind = "award_declined"
	// AwardTimeout: the provider did not answer an award in time.
	AwardTimeout Kind = "award_timeout"
	// JobCompleted: a job ran to the end on the provider.
	JobCompleted Kind = "job_completed"
	// JobFailed: the provider failed or vanished in the middle of a job.
	JobFailed Kind = "job_failed"
	// ChallengePassed: the peer passed a proof-of-compute challenge.
	ChallengePassed Kind = "challenge_passed"
	// ChallengeFailed: the peer failed a proof-of-compute challenge.
	ChallengeFailed Kind = "challenge_failed"
	// Violation: the peer broke the protocol on a stream (a forged, replayed
	// or malformed message).
	Violation Kind = "violation"
	// HeartbeatOnTime: a periodic check found a recent heartbeat.
	HeartbeatOnTime Kind = "heartbeat_on_time"
	// HeartbeatMissed: a periodic check found no recent heartbeat.
	HeartbeatMissed Kind = "heartbeat_missed"
)

// Kinds lists every kind of event, in the order above.
var Kinds = []Kind{
	AwardAccepted, AwardDeclined, AwardTimeout, JobCompleted, JobFailed,
	ChallengePassed, ChallengeFailed, Violation, HeartbeatOnTime, HeartbeatMissed,
}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, known := range Kinds {
		if k == known {
			return true
		}
	}
	return false
}

// challenge reports whether k's count decays over ChallengeHalfLife.
func (k Kind) challenge() bool { return k == ChallengePassed || k == ChallengeFailed }

const (
	// DefaultMinReputation is the score below which placement drops a bid
	// unless the request asks otherwise.
	DefaultMinReputation = 0.3
	// NewcomerPeriod is how long a peer's age discount lasts after it is
	// first seen.
	NewcomerPeriod = 7 * 24 * time.Hour
)

// Weights of the formula in the package doc.
const (
	priorOK        = 2    // successes assumed of a peer never seen
	priorBad       = 1    // failures assumed of a peer never seen
	timeoutWeight  = 1.5  // an unanswered award wastes more of our time than a decline
	failedWeight   = 3    // a failed job wastes the most
	challengeCost  = 10   // one failed challenge weighs as much as ten passes
	violationCost  = 3    // one violation divides the score by 4
	ageDiscount    = 0.25 // a peer first seen now scores 0.75 of an old one
	maxCount       = 1e12 // Compute clamps counts here, keeping every sum finite
	minStoredCount = 1e-9 // decayed counts below this are forgotten
)

// Factors are the parts of a score, each in (0, 1]; the score is their
// product.
type Factors struct {
	// Success is the prior-weighted share of awards accepted and jobs
	// completed among all awards and jobs.
	Success float64 `json:"success"`
	// Challenge falls with failed proof-of-compute challenges and recovers
	// with passed ones.
	Challenge float64 `json:"challenge"`
	// Conduct falls with protocol violations.
	Conduct float64 `json:"conduct"`
	// Heartbeat is 0.5 plus half the prior-weighted on-time share.
	Heartbeat float64 `json:"heartbeat"`
	// Age is 0.75 for a peer first seen now, rising to 1 over NewcomerPeriod.
	Age float64 `json:"age"`
}

// Compute returns the score in [0, 1] of a peer with the decayed counts n
// that was first seen age ago (0 for a peer never seen), and its factors.
// It is a pure function; negative or NaN counts count as 0.
func Compute(n map[Kind]float64, age time.Duration) (float64, Factors) {
	c := func(k Kind) float64 {
		v := n[k]
		if !(v > 0) { // also NaN
			return 0
		}
		return min(v, maxCount)
	}
	ok := c(AwardAccepted) + c(JobCompleted)
	bad := c(AwardDeclined) + timeoutWeight*c(AwardTimeout) + failedWeight*c(JobFailed)
	pass, fail := c(ChallengePassed), c(ChallengeFailed)
	onTime, missed := c(HeartbeatOnTime), c(HeartbeatMissed)
	grown := min(1, max(0, age.Seconds()/NewcomerPeriod.Seconds()))
	f := Factors{
		Success:   (ok + priorOK) / (ok + bad + priorOK + priorBad),
		Challenge: (pass + 1) / (pass + 1 + challengeCost*fail),
		Conduct:   1 / (1 + violationCost*c(Violation)),
		Heartbeat: 0.5 + 0.5*(onTime+1)/(onTime+missed+1),
		Age:       1 - ageDiscount*(1-grown),
	}
	s := f.Success * f.Challenge * f.Conduct * f.Heartbeat * f.Age
	if !(s >= 0) { // unreachable with clamped counts; keeps the contract
		s = 0
	}
	return min(s, 1), f
}

// decayed returns the counts n, last brought up to date at from, as they
// stand at to. A clock that went backwards pauses decay.
func decayed(n map[Kind]float64, from, to time.Time, cfg Config) map[Kind]float64 {
	dt := to.Sub(from)
	out := make(map[Kind]float64, len(n))
	for k, v := range n {
		if dt > 0 {
			h := cfg.HalfLife
			if k.challenge() {
				h = cfg.ChallengeHalfLife
			}
			v *= math.Exp2(-float64(dt) / float64(h))
		}
		if v >= minStoredCount {
			out[k] = v
		}
	}
	return out
}
