package placement

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/gpumesh/gpumesh/internal/human"
	"github.com/gpumesh/gpumesh/p2p/coord"
)

// ReputationWeight is w in the effective price, price x (1 + w x (1 -
// reputation)): how much more a bid of reputation 0 ranks as asking than
// one of reputation 1 at the same price.
const ReputationWeight = 0.1

// AnchorsPerWorker times K is the default number of anchors Place tries.
const AnchorsPerWorker = 8

// ScanPerWorker times K is the default number of bids one walk of Place's
// search checks against the members of its group.
const ScanPerWorker = 8

// ErrInvalidRequest is wrapped by every Request.Validate error and returned
// by Place and Exhaustive for such a request.
var ErrInvalidRequest = errors.New("invalid placement request")

// Request is what a researcher asks for: K workers, pairwise within MaxRTT.
type Request struct {
	// K is the number of workers, at least 1.
	K int
	// MaxRTT is the largest round-trip time allowed between any two chosen
	// providers; 0 means no bound.
	MaxRTT time.Duration
	// MaxPrice is the highest price per worker-hour accepted; 0 means no cap.
	MaxPrice float64
	// MinReputation is the lowest provider reputation accepted, 0..1.
	MinReputation float64
	// Class is the device class required (compared case-insensitively);
	// empty accepts any.
	Class string
	// Requester, when set, weighs each worker's RTT to the requester into
	// the score (see Endpoint for the cost model); nil ignores it.
	Requester *Endpoint
}

// Validate returns every problem with the request, each wrapping
// ErrInvalidRequest.
func (r Request) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidRequest}, args...)...))
	}
	if r.K < 1 {
		bad("k = %d, want at least 1", r.K)
	}
	if r.MaxRTT < 0 {
		bad("max RTT %s is negative", r.MaxRTT)
	}
	if math.IsNaN(r.MaxPrice) || math.IsInf(r.MaxPrice, 0) || r.MaxPrice < 0 {
		bad("max price %v, want 0 (no cap) or more", r.MaxPrice)
	}
	if math.IsNaN(r.MinReputation) || r.MinReputation < 0 || r.MinReputation > 1 {
		bad("min reputation %v, want 0..1", r.MinReputation)
	}
	if r.Requester != nil {
		for _, msg := range r.Requester.validate() {
			bad("%s", msg)
		}
	}
	return errors.Join(errs...)
}

// Bid is one provider's offer for the request.
type Bid struct {
	// ID is the provider's peer ID; unique among the bids.
	ID string
	// Price is the ask per worker-hour, above 0.
	Price float64
	// Coord is the provider's network coordinate; RTTs are predicted from
	// it with coord.EstimateRTT unless WithRTT says otherwise.
	Coord coord.Coordinate
	// Reputation is the provider's reputation, 0..1, 1 best.
	Reputation float64
	// Class is the provider's device class.
	Class string
	// Workers is how many of the K workers the provider can host, at least 1.
	Workers int
	// RequesterRTT is the RTT measured between the provider and the
	// requester, 0 if none (then predicted from coordinates); used only
	// when the request has a Requester.
	RequesterRTT time.Duration
}

// EffectivePrice is the price per worker-hour Place ranks the bid by:
// Price x (1 + ReputationWeight x (1 - Reputation)).
func (b Bid) EffectivePrice() float64 {
	return b.Price * (1 + ReputationWeight*(1-b.Reputation))
}

// Reason says why a bid was not chosen.
type Reason string

// Reasons, in the order filters apply them.
const (
	// ReasonInvalid: the bid itself is malformed (bad coordinate, price or
	// workers not positive, reputation outside 0..1, empty or repeated ID).
	ReasonInvalid Reason = "invalid"
	// ReasonClass: the provider's device class is not the one requested.
	ReasonClass Reason = "class"
	// ReasonOverPrice: the price is above the request's MaxPrice.
	ReasonOverPrice Reason = "over_price"
	// ReasonReputation: the reputation is below the request's MinReputation.
	ReasonReputation Reason = "reputation"
	// ReasonTooFew: the bid is eligible, but all eligible bids together
	// host fewer than K workers, so no group exists at any RTT.
	ReasonTooFew Reason = "too_few"
	// ReasonTooFar: the bid is beyond MaxRTT of a chosen provider, and no
	// complete group found contained it; with no feasible group, no group
	// of K workers within MaxRTT was found with it.
	ReasonTooFar Reason = "too_far"
	// ReasonNotNeeded: the bid could be part of a feasible group (it is
	// within MaxRTT of every chosen provider, or in a complete group the
	// search found), but a cheaper group was chosen.
	ReasonNotNeeded Reason = "not_needed"
)

var reasonOrder = []Reason{ReasonInvalid, ReasonClass, ReasonOverPrice, ReasonReputation, ReasonTooFew, ReasonTooFar, ReasonNotNeeded}

// Rejection is why one bid was not chosen.
type Rejection struct {
	// Index is the bid's position in the input.
	Index int
	// ID is the bid's ID.
	ID string
	// Reason is the machine-readable reason.
	Reason Reason
	// Detail says it for a person, with numbers.
	Detail string
}

// Assignment is a chosen bid and how many workers it hosts.
type Assignment struct {
	// Index is the bid's position in the input.
	Index int
	// ID is the bid's ID.
	ID string
	// Workers is how many of the K workers run on this provider.
	Workers int
	// Price is the bid's price per worker-hour.
	Price float64
	// RequesterRTT is the RTT to the requester the score counted; 0 when
	// the request has no Requester.
	RequesterRTT time.Duration
}

// Result is a placement decision.
type Result struct {
	// Feasible is whether a group of K workers within MaxRTT was found.
	Feasible bool
	// Chosen are the chosen bids, cheapest first; empty when not Feasible.
	Chosen []Assignment
	// Cost is the sum of price x workers over Chosen, per hour.
	Cost float64
	// Score is the sum of effective price x workers over Chosen, plus the
	// requester's RTT term when the request has a Requester (Endpoint):
	// what was minimised.
	Score float64
	// MaxRTT is the largest predicted RTT between two chosen providers.
	MaxRTT time.Duration
	// Rejected has one entry for every bid not chosen, in input order.
	Rejected []Rejection
	// Summary has the numbers Explain prints.
	Summary Summary
	// Stats is what the search cost.
	Stats Stats
}

// Summary is the numbers behind a decision, for a caller to print.
type Summary struct {
	// Request is the request decided.
	Request Request
	// Bids is the number of bids given.
	Bids int
	// Reasons counts the rejected bids by reason.
	Reasons map[Reason]int
	// Eligible is the number of bids that passed the filters, and
	// EligibleWorkers the workers they host together (each counted up to K).
	Eligible, EligibleWorkers int
	// LargestGroup is the most workers found in one group within MaxRTT
	// (K when feasible). Place's figure is what its search found, a lower
	// bound; Exhaustive's is exact.
	LargestGroup int
	// Cheapest is the cheapest K eligible workers with no RTT bound.
	Cheapest Cheapest
}

// Cheapest is the cheapest placement that ignores the RTT bound: the K
// workers of lowest effective price among the eligible bids.
type Cheapest struct {
	// OK is false when the eligible bids host fewer than K workers.
	OK bool
	// Chosen are its bids, cheapest first.
	Chosen []Assignment
	// Cost and Score are as in Result.
	Cost, Score float64
	// MaxRTT is the largest predicted RTT between two of its providers:
	// the smallest bound this group would satisfy.
	MaxRTT time.Duration
}

// Stats is the work a decision took.
type Stats struct {
	// RTTEstimates is how many pairwise RTTs were estimated.
	RTTEstimates int
	// Anchors is how many anchors the greedy search tried.
	Anchors int
	// Nodes is how many search nodes the branch and bound visited: Place's
	// exact stage (0 when it did not run) or Exhaustive's.
	Nodes int
	// Optimal is whether the branch and bound finished: the group chosen
	// (or that none exists) is then the optimum on the RTTs given, not a
	// heuristic's answer. Always true for Exhaustive; for Place when the
	// eligible bids were few enough and the node budget sufficed (see
	// WithExact), or when there is no RTT bound.
	Optimal bool
}

// Option changes how Place and Exhaustive decide.
type Option func(*options) error

type options struct {
	rtt        func(i, j int) time.Duration
	measured   func(i, j int) (time.Duration, bool)
	anchors    int
	scan       int
	exactBids  int // run the branch and bound up to this many eligible bids; < 0 never
	exactNodes int // its node budget
	seed       uint64
	noPairs    bool // tests: improve without pair moves, today's single-swap search
}

// WithRTT replaces the coordinate estimate: rtt(i, j) is the RTT between
// bids[i] and bids[j] (measured RTTs, or a simulation's ground truth).
// Coordinates are then not checked.
func WithRTT(rtt func(i, j int) time.Duration) Option {
	return func(o *options) error {
		if rtt == nil {
			return errors.New("placement: nil RTT function")
		}
		o.rtt = rtt
		return nil
	}
}

// WithMeasured gives RTTs measured between bids (pings between the
// providers of a group placement proposed): measured(i, j) is the RTT
// between bids[i] and bids[j] when ok, and overrides the estimate. A
// scheduler that verifies a proposed group by measuring its pairs passes
// what it measured, so that Place avoids the pairs that broke the bound.
func WithMeasured(measured func(i, j int) (time.Duration, bool)) Option {
	return func(o *options) error {
		if measured == nil {
			return errors.New("placement: nil measured-RTT function")
		}
		o.measured = measured
		return nil
	}
}

// WithLimits sets how many anchors the greedy search tries and how many
// bids one of its walks or refills checks against the members; 0 keeps a
// default (AnchorsPerWorker x K, ScanPerWorker x K).
func WithLimits(anchors, scan int) Option {
	return func(o *options) error {
		if anchors < 0 || scan < 0 {
			return fmt.Errorf("placement: limits %d anchors, %d scanned: want 0 (default) or more", anchors, scan)
		}
		o.anchors, o.scan = anchors, scan
		return nil
	}
}

// Place chooses the cheapest group of bids it finds that hosts req.K
// workers pairwise within req.MaxRTT, and says why every other bid was not
// chosen. See the package doc for the search and its cost. The error is
// for an invalid request or option; a request no group satisfies is a
// Result with Feasible false.
func Place(req Request, bids []Bid, opts ...Option) (Result, error) {
	s, err := newSolver(req, bids, opts)
	if err != nil {
		return Result{}, err
	}
	s.greedy()
	if len(s.pos) <= s.o.exactBids {
		s.exact(s.o.exactNodes)
	}
	return s.result(), nil
}

// ErrNoGroup is matched (errors.Is) by every Failure: no group of K
// workers within MaxRTT was found.
var ErrNoGroup = errors.New("no group found")

// Failure is why Place found no group: the numbers of the decision. Its
// Error says them for a person, as Explain does.
type Failure struct {
	// Summary has the request and the numbers behind the decision.
	Summary Summary
}

// Error says why no group could be placed, in numbers.
func (f *Failure) Error() string {
	sum := f.Summary
	req := sum.Request
	var b strings.Builder
	fmt.Fprintf(&b, "no group of %s", human.Plural(req.K, "worker"))
	if req.MaxRTT > 0 {
		fmt.Fprintf(&b, " within %s", human.Millis(req.MaxRTT))
	}
	if counts := reasonCounts(sum.Reasons); counts != "" {
		fmt.Fprintf(&b, ": %s", counts)
	}
	if sum.EligibleWorkers < req.K {
		fmt.Fprintf(&b, "; the %s eligible host only %s", human.Plural(sum.Eligible, "bid"), human.Plural(sum.EligibleWorkers, "worker"))
		return b.String()
	}
	fmt.Fprintf(&b, "; the largest group found within %s holds %s", human.Millis(req.MaxRTT), human.Plural(sum.LargestGroup, "worker"))
	if c := sum.Cheapest; c.OK {
		fmt.Fprintf(&b, "; without the RTT bound the cheapest %d workers cost %s with estimated max RTT %s", req.K, money(c.Cost), human.Millis(c.MaxRTT))
	}
	return b.String()
}

// Is reports whether target is ErrNoGroup.
func (f *Failure) Is(target error) bool { return target == ErrNoGroup }

// Err is the result's Failure when it is not Feasible, else nil.
func (r Result) Err() error {
	if r.Feasible {
		return nil
	}
	return &Failure{Summary: r.Summary}
}

// Explain says the decision for a person, in numbers: what was chosen, or
// why nothing could be (the Failure), as in "no group of 16 workers
// within 40.0 ms: 12 bids over your price, 3 too far from the rest; ...".
func (r Result) Explain() string {
	if err := r.Err(); err != nil {
		return err.Error()
	}
	sum := r.Summary
	req := sum.Request
	var b strings.Builder
	bound := "no RTT bound"
	if req.MaxRTT > 0 {
		bound = "bound " + human.Millis(req.MaxRTT)
	}
	fmt.Fprintf(&b, "%s on %s for %s, estimated max RTT %s (%s)", human.Plural(req.K, "worker"), human.Plural(len(r.Chosen), "provider"), money(r.Cost), human.Millis(r.MaxRTT), bound)
	if len(r.Rejected) > 0 {
		fmt.Fprintf(&b, "; %s not chosen: %s", human.Plural(len(r.Rejected), "bid"), reasonCounts(sum.Reasons))
	}
	return b.String()
}

var reasonWords = map[Reason]string{
	ReasonInvalid:    "invalid",
	ReasonClass:      "of another class",
	ReasonOverPrice:  "over your price",
	ReasonReputation: "below your reputation",
	ReasonTooFew:     "eligible but too few",
	ReasonTooFar:     "too far from the rest",
	ReasonNotNeeded:  "not needed",
}

func reasonCounts(counts map[Reason]int) string {
	var parts []string
	for _, r := range reasonOrder {
		if n := counts[r]; n > 0 {
			parts = append(parts, human.Plural(n, "bid")+" "+reasonWords[r])
		}
	}
	return strings.Join(parts, ", ")
}

func money(v float64) string { return fmt.Sprintf("$%.2f/h", v) }
