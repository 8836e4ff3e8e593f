package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gpumesh/gpumesh/scheduler/offers"
)

// maxResponseBytes bounds what the client reads from the API.
const maxResponseBytes = 16 << 20

// Client reads a node's API.
type Client struct {
	base  string
	http  *http.Client
	token string // sent with every request when set (see WithToken)
}

// NewClient returns a client for the API at base (such as http://127.0.0.1:7780).
func NewClient(base string) *Client {
	return &Client{base: base, http: &http.Client{}}
}

// requestTimeout bounds a request for the node's own state; a search of the
// network gets its own, longer bound.
const requestTimeout = 10 * time.Second

// Error is an error answer from the API.
type Error struct {
	// Status is the HTTP status code: 400 for bad input.
	Status int
	// Message is what the node said.
	Message string
	path    string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%s: %d %s", e.path, e.Status, http.StatusText(e.Status))
	}
	return e.Message
}

// Status fetches GET /api/v1/status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.get(ctx, "/api/v1/status", requestTimeout, &s)
	return s, err
}

// Peers fetches GET /api/v1/peers.
func (c *Client) Peers(ctx context.Context) ([]Peer, error) {
	var p []Peer
	err := c.get(ctx, "/api/v1/peers", requestTimeout, &p)
	return p, err
}

// GPU fetches GET /api/v1/gpu.
func (c *Client) GPU(ctx context.Context) (GPU, error) {
	var g GPU
	err := c.get(ctx, "/api/v1/gpu", requestTimeout, &g)
	return g, err
}

// Offers fetches GET /api/v1/offers: a search of the network's capacity.
// A bad filter or order is an *Error with Status 400.
func (c *Client) Offers(ctx context.Context, filter, order string, limit int) (offers.Result, error) {
	q := url.Values{}
	q.Set("filter", filter)
	q.Set("order", order)
	q.Set("limit", strconv.Itoa(limit))
	var r offers.Result
	err := c.get(ctx, "/api/v1/offers?"+q.Encode(), 2*time.Minute, &r)
	return r, err
}

func (c *Client) get(ctx context.Context, path string, timeout time.Duration, out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	return c.do(req, http.StatusOK, out)
}

// do sends req and decodes a want-status answer into out.
func (c *Client) do(req *http.Request, want int, out any) error {
	if c.token != "" {
		req.Header.Set(TokenHeader, c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("node API at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		return readError(resp, req.URL.Path)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("read %s: %w", req.URL.Path, err)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decode %s: %w", req.URL.Path, err)
	}
	return nil
}

// readError turns an error answer into an *Error.
func readError(resp *http.Response, path string) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	var e errorBody
	_ = json.Unmarshal(body, &e)
	return &Error{Status: resp.StatusCode, Message: e.Error, path: path}
}
