package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gpumesh/gpumesh/scheduler/market"
)

// Jobs is the answer to GET /api/v1/jobs.
type Jobs struct {
	// Requested are the jobs this node asked for, newest first.
	Requested []market.JobView `json:"requested"`
	// Provided are the awards this node accepted as provider, newest first.
	Provided []market.Reservation `json:"provided"`
}

// JobBackend is the part of Backend behind /api/v1/jobs.
type JobBackend interface {
	// SubmitJob publishes a job request; an error wrapping ErrBadRequest
	// is the spec's fault.
	SubmitJob(ctx context.Context, spec market.Spec) (market.JobView, error)
	// Jobs lists jobs in both roles.
	Jobs() Jobs
	// Job returns one job as requester.
	Job(id string) (market.JobView, bool)
	// WatchJob is market.Market.Watch.
	WatchJob(id string, from int) (events []market.Event, next <-chan struct{}, final, ok bool)
	// CancelJob stops a job this node requested (market.ErrUnknownJob if none).
	CancelJob(id string) error
	// JobLogs is market.Market.Logs: a bounded page of a job's log lines.
	JobLogs(id string, from int64, limit int) (market.LogPage, <-chan struct{}, error)
}

// maxLogWait bounds how long GET /api/v1/jobs/{id}/logs?wait=true holds
// an empty page open for lines to come.
const maxLogWait = 20 * time.Second

// maxSpecBytes bounds the body of POST /api/v1/jobs.
const maxSpecBytes = 64 << 10

// handleJobs adds the job endpoints to mux.
func handleJobs(mux *http.ServeMux, b JobBackend) {
	mux.HandleFunc("POST /api/v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		dec := json.NewDecoder(io.LimitReader(r.Body, maxSpecBytes))
		dec.DisallowUnknownFields()
		var spec market.Spec
		err := dec.Decode(&spec)
		if err == nil {
			err = wholeJSON(dec)
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: "job spec: " + err.Error()})
			return
		}
		v, err := b.SubmitJob(r.Context(), spec)
		writeResult(w, http.StatusCreated, v, err)
	})
	mux.HandleFunc("GET /api/v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, b.Jobs())
	})
	mux.HandleFunc("GET /api/v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		v, ok := b.Job(r.PathValue("id"))
		if !ok {
			writeJSON(w, http.StatusNotFound, errorBody{Error: fmt.Sprintf("no job %q requested by this node", r.PathValue("id"))})
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("POST /api/v1/jobs/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if err := b.CancelJob(id); err != nil {
			writeJSON(w, http.StatusNotFound, errorBody{Error: fmt.Sprintf("no job %q requested by this node", id)})
			return
		}
		v, _ := b.Job(id)
		writeJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("GET /api/v1/jobs/{id}/logs", func(w http.ResponseWriter, r *http.Request) {
		serveLogs(w, r, b)
	})
	mux.HandleFunc("GET /api/v1/jobs/{id}/events", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		from, _ := strconv.Atoi(r.URL.Query().Get("from"))
		follow := r.URL.Query().Get("follow") == "true"
		events, next, final, ok := b.WatchJob(id, from)
		if !ok {
			writeJSON(w, http.StatusNotFound, errorBody{Error: fmt.Sprintf("no job %q requested by this node", id)})
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		enc := json.NewEncoder(w)
		flusher, _ := w.(http.Flusher)
		for {
			for _, e := range events {
				_ = enc.Encode(e)
			}
			from += len(events)
			if flusher != nil {
				flusher.Flush()
			}
			if final || !follow {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-next:
			}
			events, next, final, _ = b.WatchJob(id, from)
		}
	})
}

// serveLogs answers GET /api/v1/jobs/{id}/logs?from=OFFSET&limit=N[&wait=true]:
// one page of at most market.MaxLogPageLines lines from byte offset
// OFFSET (0, or a previous page's next). With wait, an empty page of a
// job still running is held until lines come, the logs end or maxLogWait.
func serveLogs(w http.ResponseWriter, r *http.Request, b JobBackend) {
	id, q := r.PathValue("id"), r.URL.Query()
	from, limit, err := logQuery(q)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
		return
	}
	p, more, err := b.JobLogs(id, from, limit)
	if err == nil && q.Get("wait") == "true" && len(p.Lines) == 0 && !p.Final {
		t := time.NewTimer(maxLogWait)
		defer t.Stop()
		select {
		case <-more:
			p, _, err = b.JobLogs(id, from, limit)
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case errors.Is(err, market.ErrUnknownJob):
		writeJSON(w, http.StatusNotFound, errorBody{Error: fmt.Sprintf("no job %q requested by this node", id)})
	case errors.Is(err, market.ErrBadLogOffset):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
	default:
		writeResult(w, http.StatusOK, p, err)
	}
}

// logQuery reads the from and limit of a logs request; both default to 0.
func logQuery(q url.Values) (from int64, limit int, err error) {
	if s := q.Get("from"); s != "" {
		if from, err = strconv.ParseInt(s, 10, 64); err != nil || from < 0 {
			return 0, 0, fmt.Errorf("from %q is not a byte offset", s)
		}
	}
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 0 {
			return 0, 0, fmt.Errorf("limit %q is not a number of lines", s)
		}
	}
	return from, limit, nil
}

// SubmitJob posts spec to POST /api/v1/jobs. A bad spec is an *Error with
// Status 400.
func (c *Client) SubmitJob(ctx context.Context, spec market.Spec) (market.JobView, error) {
	body, err := json.Marshal(spec)
	if err != nil {
		return market.JobView{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, submitTimeout(spec))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/jobs", bytes.NewReader(body))
	if err != nil {
		return market.JobView{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	var v market.JobView
	err = c.do(req, http.StatusCreated, &v)
	return v, err
}

// Jobs fetches GET /api/v1/jobs.
func (c *Client) Jobs(ctx context.Context) (Jobs, error) {
	var j Jobs
	err := c.get(ctx, "/api/v1/jobs", requestTimeout, &j)
	return j, err
}

// Job fetches GET /api/v1/jobs/{id}.
func (c *Client) Job(ctx context.Context, id string) (market.JobView, error) {
	var v market.JobView
	err := c.get(ctx, "/api/v1/jobs/"+url.PathEscape(id), requestTimeout, &v)
	return v, err
}

// CancelJob posts to /api/v1/jobs/{id}/cancel.
func (c *Client) CancelJob(ctx context.Context, id string) (market.JobView, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/jobs/"+url.PathEscape(id)+"/cancel", nil)
	if err != nil {
		return market.JobView{}, err
	}
	var v market.JobView
	err = c.do(req, http.StatusOK, &v)
	return v, err
}

// JobLogs fetches one page of a job's log lines from byte offset from (0,
// or a previous page's Next), at most limit lines (0: the node's most).
// With wait, an empty page of a running job waits for lines to come.
func (c *Client) JobLogs(ctx context.Context, id string, from int64, limit int, wait bool) (market.LogPage, error) {
	q := url.Values{}
	q.Set("from", strconv.FormatInt(from, 10))
	q.Set("limit", strconv.Itoa(limit))
	timeout := requestTimeout
	if wait {
		q.Set("wait", "true")
		timeout += maxLogWait
	}
	var p market.LogPage
	err := c.get(ctx, "/api/v1/jobs/"+url.PathEscape(id)+"/logs?"+q.Encode(), timeout, &p)
	return p, err
}

// FollowLogs reads a job's log lines page by page from byte offset from,
// passes each to fn and returns the last page read. With follow it waits
// for new lines until the job's logs end (or ctx does); without, it stops
// at the end of what is kept now.
func (c *Client) FollowLogs(ctx context.Context, id string, from int64, follow bool, fn func(market.LogLine)) (market.LogPage, error) {
	for {
		p, err := c.JobLogs(ctx, id, from, 0, follow)
		if err != nil {
			return p, err
		}
		for _, l := range p.Lines {
			fn(l)
		}
		from = p.Next
		if p.Final || (!follow && p.Next >= p.Counts.Bytes) {
			return p, nil
		}
	}
}

// FollowJob streams the job's events to fn from the first, until the job
// is formed or failed or ctx ends.
func (c *Client) FollowJob(ctx context.Context, id string, fn func(market.Event)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/jobs/"+url.PathEscape(id)+"/events?follow=true", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("node API at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return readError(resp, req.URL.Path)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e market.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("decode event: %w", err)
		}
		fn(e)
	}
	return sc.Err()
}
