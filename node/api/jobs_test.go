package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gpumesh/gpumesh/scheduler/market"
)

// The fake backend's jobs: SubmitJob refuses more than 256 workers as the
// market does, 255 workers as a market whose every remembered job is still
// running does, and otherwise records a job "j1" whose events the test
// reads.
func (fakeBackend) SubmitJob(_ context.Context, spec market.Spec) (market.JobView, error) {
	if spec.Workers == 255 {
		return market.JobView{}, fmt.Errorf("%w: 1000 jobs, none of them finished", market.ErrTooManyJobs)
	}
	if spec.Workers > 256 {
		return market.JobView{}, fmt.Errorf("%w: %w: workers %d not in [1, 256]", ErrBadRequest, market.ErrBadSpec, spec.Workers)
	}
	return market.JobView{ID: "j1", State: market.StateBidding, Spec: spec}, nil
}

func (fakeBackend) Jobs() Jobs {
	return Jobs{Requested: []market.JobView{{ID: "j1", State: market.StateFormed}}}
}

func (fakeBackend) Job(id string) (market.JobView, bool) {
	return market.JobView{ID: id, State: market.StateFormed}, id == "j1"
}

func (fakeBackend) CancelJob(id string) error {
	if id != "j1" {
		return market.ErrUnknownJob
	}
	return nil
}

func (fakeBackend) WatchJob(id string, from int) ([]market.Event, <-chan struct{}, bool, bool) {
	all := []market.Event{{Kind: "request", Text: "asked"}, {Kind: "bid", Text: "bid from x"}, {Kind: "formed", Text: "done"}}
	if id != "j1" {
		return nil, nil, false, false
	}
	return all[min(from, len(all)):], make(chan struct{}), true, true
}

// JobLogs serves job j1's fakeLogLines lines, one byte offset per line,
// fakeLogPage at most per page, and reports each page's limit in Counts.Cap.
func (fakeBackend) JobLogs(id string, from int64, limit int) (market.LogPage, <-chan struct{}, error) {
	if id != "j1" {
		return market.LogPage{}, nil, market.ErrUnknownJob
	}
	if from > fakeLogLines {
		return market.LogPage{}, nil, market.ErrBadLogOffset
	}
	p := market.LogPage{Next: from, Counts: market.LogCounts{Lines: fakeLogLines, Bytes: fakeLogLines, Dropped: 7, Cap: int64(limit)}}
	for ; p.Next < fakeLogLines && len(p.Lines) < fakeLogPage; p.Next++ {
		p.Lines = append(p.Lines, market.LogLine{Rank: 1, Text: fmt.Sprint("line ", p.Next)})
	}
	p.Final = p.Next == fakeLogLines
	return p, make(chan struct{}), nil
}

const fakeLogLines, fakeLogPage = 25, 10

// TestJobLogsPages: the client follows a job's logs page by page to the
// end, and the endpoint refuses bad offsets and unknown jobs.
func TestJobLogsPages(t *testing.T) {
	srv := httptest.NewServer(Handler(fakeBackend{}))
	defer srv.Close()
	c := NewClient(srv.URL)
	ctx := context.Background()
	var got []string
	last, err := c.FollowLogs(ctx, "j1", 0, true, func(l market.LogLine) { got = append(got, l.Text) })
	if err != nil || len(got) != fakeLogLines || got[fakeLogLines-1] != "line 24" || !last.Final || last.Counts.Dropped != 7 {
		t.Fatalf("FollowLogs read %d lines (%v), last page %+v, %v", len(got), got, last, err)
	}
	var apiErr *Error
	if _, err := c.JobLogs(ctx, "j1", 99, 0, false); !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
		t.Errorf("offset past the end: %v, want 400", err)
	}
	if _, err := c.JobLogs(ctx, "nope", 0, 0, false); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("unknown job: %v, want 404", err)
	}
	resp, err := http.Get(srv.URL + "/api/v1/jobs/j1/logs?from=-1")
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("from=-1: %v %v, want 400", resp.Status, err)
	}
	resp.Body.Close()
}

func TestJobEndpoints(t *testing.T) {
	srv := httptest.NewServer(Handler(fakeBackend{}))
	defer srv.Close()
	c := NewClient(srv.URL)
	ctx := context.Background()
	v, err := c.SubmitJob(ctx, market.Spec{Workers: 2, Class: "A100-80GB"})
	if err != nil || v.ID != "j1" || v.Spec.Workers != 2 || v.Spec.Class != "A100-80GB" {
		t.Fatalf("SubmitJob = %+v, %v: the spec must reach the backend intact", v, err)
	}
	var apiErr *Error
	if _, err := c.SubmitJob(ctx, market.Spec{Workers: 10000}); !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest ||
		!strings.Contains(apiErr.Message, "workers 10000") {
		t.Fatalf("k = 10000: %v, want a 400 that names the workers", err)
	}
	if _, err := c.SubmitJob(ctx, market.Spec{Workers: 255}); !errors.As(err, &apiErr) || apiErr.Status != http.StatusTooManyRequests ||
		!strings.Contains(apiErr.Message, "none of them finished") {
		t.Fatalf("every job unfinished: %v, want a 429 that says why", err)
	}
	// Unknown keys in the body are refused, not ignored.
	resp, err := http.Post(srv.URL+"/api/v1/jobs", "application/json", strings.NewReader(`{"workers": 2, "wrokers": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("misspelt key: status %d, want 400", resp.StatusCode)
	}
	if _, err := c.Job(ctx, "nope"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("unknown job: %v, want 404", err)
	}
	jobs, err := c.Jobs(ctx)
	if err != nil || len(jobs.Requested) != 1 || jobs.Requested[0].State != market.StateFormed {
		t.Errorf("Jobs = %+v, %v", jobs, err)
	}
	var kinds []string
	if err := c.FollowJob(ctx, "j1", func(e market.Event) { kinds = append(kinds, e.Kind) }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(kinds, ",") != "request,bid,formed" {
		t.Errorf("followed events %v, want request,bid,formed", kinds)
	}
	if err := c.FollowJob(ctx, "nope", func(market.Event) {}); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("follow an unknown job: %v, want 404", err)
	}
	if _, err := c.CancelJob(ctx, "j1"); err != nil {
		t.Errorf("cancel: %v", err)
	}
	if _, err := c.CancelJob(ctx, "nope"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("cancel an unknown job: %v, want 404", err)
	}
}
