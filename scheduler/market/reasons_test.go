package market

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/p2p/coord"
	"github.com/gpumesh/gpumesh/scheduler/placement"
)

// TestExclusionsRenderAsBefore: each market exclusion prints, and groups
// under, the words the job view has always shown, and errors.Is matches
// exclusions by reason code alone.
func TestExclusionsRenderAsBefore(t *testing.T) {
	cases := []struct {
		e           *exclusion
		text, label string
	}{
		{exclude(reasonTaken, ""), "taken by another of your jobs", "taken by another of your jobs"},
		{exclude(reasonDeclined, "no free device"), "declined: no free device", "declined"},
		{exclude(reasonNoAnswer, ""), "no answer", "no answer"},
		{&exclusion{code: reasonUnchallenged, class: "CPU-x86", detail: "no stream"}, "could not be challenged for CPU-x86: no stream", "could not be challenged for CPU-x86"},
		{&exclusion{code: reasonChallengeFailed, class: "CPU-x86", detail: "fail (too slow)"}, "failed proof-of-compute for CPU-x86: fail (too slow)", "failed proof-of-compute for CPU-x86"},
		{&exclusion{code: reasonChallengeStopped, class: "CPU-x86"}, "the requester stopped before its proof-of-compute ended", "the requester stopped before its proof-of-compute ended"},
		{exclude(reasonOverRTT, bound(40*time.Millisecond)), "pings over the RTT bound 40.0 ms bound", "pings over the RTT bound 40.0 ms bound"},
		{exclude(reasonInCluster, ""), "in the cluster or lost", "in the cluster or lost"},
		{exclude(reasonExpired, ""), "expired", "expired"},
		{exclude(reasonNotProven, ""), "failed proof-of-compute", "failed proof-of-compute"},
	}
	for _, c := range cases {
		if got := c.e.Error(); got != c.text {
			t.Errorf("%s: text %q, want %q", c.e.code, got, c.text)
		}
		if got := c.e.label(); got != c.label {
			t.Errorf("%s: label %q, want %q", c.e.code, got, c.label)
		}
	}
	wrapped := fmt.Errorf("award: %w", exclude(reasonDeclined, "busy"))
	if !errors.Is(wrapped, exclude(reasonDeclined, "")) || errors.Is(wrapped, exclude(reasonNoAnswer, "")) {
		t.Error("errors.Is does not match exclusions by code")
	}
	var e *exclusion
	if !errors.As(wrapped, &e) || e.detail != "busy" {
		t.Errorf("errors.As: %v", e)
	}
	r := parseRefusal((&Refusal{Check: "price", Detail: "ask $0.50: over $0.40"}).Error())
	if r.Check != "price" || r.Detail != "ask $0.50: over $0.40" {
		t.Errorf("a provider's refusal read back as %+v", r)
	}
}

// TestFailuresStayTyped: a job's failures keep placement's failure and
// the market's exclusions reachable through errors.Is/As, and render the
// text the job view has always shown.
func TestFailuresStayTyped(t *testing.T) {
	origin := coord.Coordinate{Vec: make([]float64, coord.Dimensions)}
	res, err := placement.Place(placement.Request{K: 2}, []placement.Bid{{ID: "a", Price: 1, Workers: 1, Reputation: 1, Coord: origin}})
	if err != nil {
		t.Fatal(err)
	}
	excl := map[int]*exclusion{0: exclude(reasonDeclined, "busy"), 3: exclude(reasonNoAnswer, "")}
	f := &noCluster{bids: 2, placed: res, excluded: excl}
	want := "2 bids received; " + res.Explain() + "; 2 winners replaced (1 declined, 1 no answer)"
	if got := failureText(f); got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	var pf *placement.Failure
	if !errors.Is(f, placement.ErrNoGroup) || !errors.As(f, &pf) || pf.Summary.Request.K != 2 {
		t.Errorf("placement's failure not reachable from %v", f)
	}
	if got := rejectedCounts(res, excl); got["declined"] != 1 || got["no answer"] != 1 || got[string(placement.ReasonTooFew)] != 1 {
		t.Errorf("rejected counts %v", got)
	}
	wf := &workFailed{failures: []error{errors.New("b failed"), fmt.Errorf("a: %w", errNeverRan)}}
	if got := failureText(wf); got != "the work failed: a: never started the work; b failed" {
		t.Errorf("work failure text %q", got)
	}
	if !errors.Is(wf, errNeverRan) {
		t.Error("a work failure hides its causes")
	}
	if failureText(nil) != "" || failureText(errCancelled) != "cancelled by the requester" {
		t.Error("sentinel failures render differently")
	}
}

// TestNoProviderFoundSaysWhatWasAsked: a job nobody could be found for
// names what it asked, and says plainly when that was a GPU.
func TestNoProviderFoundSaysWhatWasAsked(t *testing.T) {
	for _, c := range []struct {
		inv  invitations
		want string
	}{
		{invitations{on: true, wanted: "pool gpu, executor docker", gpus: true},
			"no provider bid before the deadline; the capability keys list no provider that matches the request (pool gpu, executor docker): no provider found offers a GPU with that executor"},
		{invitations{on: true, wanted: "pool cpu, executor process"},
			"no provider bid before the deadline; the capability keys list no provider that matches the request (pool cpu, executor process)"},
	} {
		if got := (&noCluster{invites: c.inv}).Error(); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}
