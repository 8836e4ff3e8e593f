package placement

import (
	"fmt"
	"math"
	"time"

	"github.com/gpumesh/gpumesh/p2p/coord"
)

// maxRequesterRTT bounds a bid's RequesterRTT: no RTT on Earth is longer.
const maxRequesterRTT = 10 * time.Second

// Endpoint is the requester as a party to the job's traffic: when a job
// moves data in from and results out to the requester, a worker far from
// it costs time, and Place may weigh that against price.
//
// The cost model: each worker placed on a bid's provider adds
//
//	PerMs x RTT(requester, provider) in ms
//
// to its effective price per worker-hour, so the score Place minimises is
// the sum over chosen bids of workers x (effective price + PerMs x RTT).
// With PerMs = 0.01, a provider 50 ms further from the requester must ask
// 0.50 less per worker-hour to win. Result.Cost stays the sum of the real
// prices; Result.Score includes the term, and each Assignment says the RTT
// it used. The RTT is the bid's RequesterRTT when set (measured), else
// predicted from Coord and the bid's coordinate.
type Endpoint struct {
	// Coord is the requester's coordinate; it may be empty (no Vec) when
	// every bid carries a measured RequesterRTT.
	Coord coord.Coordinate
	// PerMs is the weight in price per worker-hour per millisecond of RTT
	// to the requester, 0 or more.
	PerMs float64
}

// validate returns what is wrong with the endpoint, for Request.Validate.
func (e *Endpoint) validate() []string {
	var bad []string
	if math.IsNaN(e.PerMs) || math.IsInf(e.PerMs, 0) || e.PerMs < 0 {
		bad = append(bad, fmt.Sprintf("requester weight %v per ms, want 0 or more", e.PerMs))
	}
	if len(e.Coord.Vec) > 0 {
		if err := e.Coord.Validate(); err != nil {
			bad = append(bad, "requester coordinate: "+err.Error())
		}
	}
	return bad
}

// requesterRTT is the RTT between the requester and bid b's provider, or
// why there is none. Without a Requester it is 0.
func (r Request) requesterRTT(b Bid) (time.Duration, string) {
	e := r.Requester
	switch {
	case e == nil:
		return 0, ""
	case b.RequesterRTT < 0 || b.RequesterRTT > maxRequesterRTT:
		return 0, fmt.Sprintf("RTT to the requester %s outside 0-%s", b.RequesterRTT, maxRequesterRTT)
	case b.RequesterRTT > 0:
		return b.RequesterRTT, ""
	case len(e.Coord.Vec) == 0:
		return 0, "no RTT to the requester measured, and the requester has no coordinate"
	case b.Coord.Validate() != nil:
		return 0, "no RTT to the requester measured, and " + b.Coord.Validate().Error()
	}
	return coord.EstimateRTT(e.Coord, b.Coord), ""
}

// unitScore is what one worker on b adds to the score: its effective price
// plus the requester's weight times its RTT to the requester in ms.
func (r Request) unitScore(b Bid, toRequester time.Duration) float64 {
	eff := b.EffectivePrice()
	if r.Requester != nil {
		eff += r.Requester.PerMs * float64(toRequester) / float64(time.Millisecond)
	}
	return eff
}

// WithSeed sets the seed that breaks ties between bids of equal score,
// price and reputation. A scheduler passes one derived from the job ID, so
// that a decision can be replayed, different jobs do not all break their
// ties towards the same provider (as ordering by peer ID would), and a
// provider cannot choose its ID to win ties: the order is a keyed hash of
// the ID (tieKey). Without it the seed is 0.
func WithSeed(seed uint64) Option {
	return func(o *options) error {
		o.seed = seed
		return nil
	}
}

// tieKey orders bids that tie on everything else: FNV-1a over the ID with
// the seed folded into its starting state, finished with SplitMix64's
// mixer so that every bit of the seed moves every bit of the key.
func tieKey(seed uint64, id string) uint64 {
	h := uint64(14695981039346656037) ^ seed
	for i := range len(id) {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	h ^= seed >> 1
	h = (h ^ h>>30) * 0xbf58476d1ce4e5b9
	h = (h ^ h>>27) * 0x94d049bb133111eb
	return h ^ h>>31
}
