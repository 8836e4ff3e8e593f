package market

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gpumesh/gpumesh/internal/human"
	"github.com/gpumesh/gpumesh/scheduler/placement"
)

// Reasons stay typed until they are printed: placement's rejections
// (placement.Rejection, placement.Failure), the market's own exclusions
// of a bid (exclusion, by reason code) and a job's failures (sentinels
// and the failure types below, all errors) are rendered into the job
// view's text by failureText and label alone.

// reason is a market reason code: why the market took a bid, or a
// provider, out of a job's choice, beside placement's own reasons.
type reason string

// The market's reason codes.
const (
	// reasonTaken: another of this node's jobs was awarded the provider's
	// devices since placement chose it.
	reasonTaken reason = "taken"
	// reasonDeclined: the provider declined the award.
	reasonDeclined reason = "declined"
	// reasonNoAnswer: the provider did not answer the award in time.
	reasonNoAnswer reason = "no_answer"
	// reasonUnchallenged: no proof-of-compute challenge could be put to it.
	reasonUnchallenged reason = "unchallenged"
	// reasonChallengeFailed: it failed its proof-of-compute challenge.
	reasonChallengeFailed reason = "challenge_failed"
	// reasonChallengeStopped: the requester stopped before the challenge ended.
	reasonChallengeStopped reason = "challenge_stopped"
	// reasonOverRTT: its pings to the remaining workers are over the bound.
	reasonOverRTT reason = "over_rtt"

	// Why a bid is no replacement for a lost provider (failover.go).

	// reasonInCluster: its provider is in the cluster, or was lost in it.
	reasonInCluster reason = "in_cluster"
	// reasonTooFewFree: this node's other jobs hold too many of its workers.
	reasonTooFewFree reason = "too_few_free"
	// reasonExpired: the bid lapses before an award could be answered.
	reasonExpired reason = "expired"
	// reasonOverPrice: the bid is over the job's price.
	reasonOverPrice reason = "over_price"
	// reasonReputation: its provider is below the job's reputation.
	reasonReputation reason = "reputation"
	// reasonTooFar: it is estimated over the bound from a remaining worker.
	reasonTooFar reason = "too_far"
	// reasonNotProven: its provider did not prove its class.
	reasonNotProven reason = "not_proven"
)

// exclusion is why the market took a bid out of a job's choice: a reason
// code, the device class concerned (class checks) and the detail. It is
// an error; errors.Is matches an exclusion of the same code.
type exclusion struct {
	code   reason
	class  string
	detail string
}

// exclude is an exclusion for code with detail.
func exclude(code reason, detail string) *exclusion { return &exclusion{code: code, detail: detail} }

// Error is the exclusion as a person reads it.
func (e *exclusion) Error() string {
	switch e.code {
	case reasonDeclined:
		return "declined: " + e.detail
	case reasonOverRTT:
		return fmt.Sprintf("pings over the %s bound", e.detail)
	}
	if e.detail == "" {
		return e.label()
	}
	return e.label() + ": " + e.detail
}

// label is the exclusion without its detail: what a job's Rejected counts
// and its failure summaries group by.
func (e *exclusion) label() string {
	switch e.code {
	case reasonTaken:
		return "taken by another of your jobs"
	case reasonDeclined:
		return "declined"
	case reasonNoAnswer:
		return "no answer"
	case reasonUnchallenged:
		return "could not be challenged for " + e.class
	case reasonChallengeFailed:
		return "failed proof-of-compute for " + e.class
	case reasonChallengeStopped:
		return "the requester stopped before its proof-of-compute ended"
	case reasonOverRTT:
		return e.Error()
	}
	return replacementWords[e.code]
}

// replacementWords are the labels of the reasons a bid is no replacement.
var replacementWords = map[reason]string{
	reasonInCluster:  "in the cluster or lost",
	reasonTooFewFree: "too few workers free",
	reasonExpired:    "expired",
	reasonOverPrice:  "over the price",
	reasonReputation: "reputation",
	reasonTooFar:     "too far",
	reasonNotProven:  "failed proof-of-compute",
}

// Is reports whether target is an exclusion of the same code.
func (e *exclusion) Is(target error) bool {
	var t *exclusion
	return errors.As(target, &t) && t.code == e.code
}

// Failures of a job, beside noCluster, unconfirmed and workFailed.
var (
	errStopped          = errors.New("the node stopped")
	errCancelled        = errors.New("cancelled by the requester")
	errMarketClosed     = errors.New("the market closed")
	errNotPublished     = errors.New("could not publish the request")
	errNotPrepared      = errors.New("the work could not be prepared")
	errAuditNotPrepared = errors.New("the audit could not be prepared")
	errPolicyNone       = errors.New("the job's failover policy is none")
)

// failureText renders why a job failed for its view; "" for nil.
func failureText(why error) string {
	if why == nil {
		return ""
	}
	return why.Error()
}

// invitations is what the providers invited directly said of a request.
type invitations struct {
	on       bool // the market invites
	found    int
	invited  int
	refusals map[string]int
	reasons  map[string]string
	wanted   string // the request's resources and executor, as text
	gpus     bool   // the request asks for GPUs (pool gpu)
}

// noCluster is why no cluster could be formed, in numbers: the bids,
// placement's failure, the market's exclusions and what the providers
// invited directly said.
type noCluster struct {
	bids     int
	placed   placement.Result
	excluded map[int]*exclusion
	invites  invitations
}

// Error says it for a person.
func (f *noCluster) Error() string {
	var out string
	if f.bids == 0 {
		out = "no provider bid before the deadline"
	} else {
		out = fmt.Sprintf("%s received; %s", human.Plural(f.bids, "bid"), f.placed.Explain())
	}
	if len(f.excluded) > 0 {
		out += "; " + exclusionSummary(f.excluded)
	}
	v := f.invites
	switch {
	case v.reasons == nil && v.invited == 0 && v.found == 0 && !v.on:
	case v.found == 0:
		out += "; the capability keys list no provider that matches the request (" + v.wanted + ")"
		if v.gpus {
			out += ": no provider found offers a GPU with that executor"
		}
	case v.invited > 0:
		out += fmt.Sprintf("; of %s invited directly, %d would not bid%s", human.Plural(v.invited, "provider"), total(v.refusals), detailList(v.refusals, v.reasons))
	}
	return out
}

// Unwrap is placement's failure, when placement found no group.
func (f *noCluster) Unwrap() error { return f.placed.Err() }

// unconfirmed: no cluster stood within market.verify_rounds rounds.
type unconfirmed struct {
	rounds   int
	excluded map[int]*exclusion
}

// Error says it for a person.
func (f *unconfirmed) Error() string {
	return fmt.Sprintf("no cluster confirmed in %s of award and ping (market.verify_rounds): %s", human.Plural(f.rounds, "round"), exclusionSummary(f.excluded))
}

// workFailed: some providers' ranks failed, each for its reason.
type workFailed struct{ failures []error }

// Error lists the failures in a stable order.
func (f *workFailed) Error() string {
	texts := make([]string, len(f.failures))
	for i, e := range f.failures {
		texts[i] = e.Error()
	}
	slices.Sort(texts)
	return "the work failed: " + strings.Join(texts, "; ")
}

// Unwrap is the failures.
func (f *workFailed) Unwrap() []error { return f.failures }

// rejectedCounts counts the bids not chosen by reason: placement's codes
// and the market's exclusions' labels.
func rejectedCounts(res placement.Result, excluded map[int]*exclusion) map[string]int {
	out := map[string]int{}
	for _, r := range res.Rejected {
		out[string(r.Reason)]++
	}
	for _, e := range excluded {
		out[e.label()]++
	}
	return out
}

// exclusionSummary is "3 winners replaced (2 declined, 1 no answer)".
func exclusionSummary(excluded map[int]*exclusion) string {
	counts := map[string]int{}
	for _, e := range excluded {
		counts[e.label()]++
	}
	return fmt.Sprintf("%d winners replaced%s", len(excluded), reasonList(counts))
}

// detailList is ": 2 free (detail), 1 price (detail)", by reason, with
// one example of each reason when details has one.
func detailList(counts map[string]int, details map[string]string) string {
	if len(counts) == 0 {
		return ""
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", counts[k], k)
		if d := details[k]; d != "" {
			parts[i] += " (" + d + ")"
		}
	}
	return ": " + strings.Join(parts, ", ")
}

// reasonList is " (2 free, 1 price)", by reason.
func reasonList(counts map[string]int) string {
	if len(counts) == 0 {
		return ""
	}
	return " (" + strings.TrimPrefix(detailList(counts, nil), ": ") + ")"
}

// total is the sum of counts.
func total(counts map[string]int) int {
	n := 0
	for _, v := range counts {
		n += v
	}
	return n
}
