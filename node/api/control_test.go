package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gpumesh/gpumesh/p2p/capacity"
)

// fakeControl is the fake backend's market state (fakeBackend is a value
// type, so its control methods share this).
var fakeControl = struct {
	sync.Mutex
	s MarketStatus
}{s: MarketStatus{Offering: true, Prices: []string{"gpu=1.00"}}}

func resetFakeControl() {
	fakeControl.Lock()
	fakeControl.s = MarketStatus{Offering: true, Prices: []string{"gpu=1.00"}}
	fakeControl.Unlock()
}

func (fakeBackend) MarketStatus() MarketStatus {
	fakeControl.Lock()
	defer fakeControl.Unlock()
	return fakeControl.s
}

func (b fakeBackend) Pause(reason string) (MarketStatus, error) {
	fakeControl.Lock()
	fakeControl.s.Paused, fakeControl.s.PauseReason = true, reason
	fakeControl.Unlock()
	return b.MarketStatus(), nil
}

func (b fakeBackend) Resume() (MarketStatus, error) {
	fakeControl.Lock()
	fakeControl.s.Paused, fakeControl.s.PauseReason = false, ""
	fakeControl.Unlock()
	return b.MarketStatus(), nil
}

// SetPrices validates as the node does (capacity's price syntax).
func (b fakeBackend) SetPrices(prices []string) (MarketStatus, error) {
	if _, err := (capacity.Config{Prices: prices}).PriceTable(); err != nil {
		return MarketStatus{}, fmt.Errorf("%w: offer.prices: %w", ErrBadRequest, err)
	}
	fakeControl.Lock()
	fakeControl.s.Prices = prices
	fakeControl.Unlock()
	return b.MarketStatus(), nil
}

func (b fakeBackend) SetHours(hours []string) (MarketStatus, error) {
	if len(hours) > 8 {
		return MarketStatus{}, fmt.Errorf("%w: offer.hours: too many", ErrBadRequest)
	}
	fakeControl.Lock()
	fakeControl.s.Hours = hours
	fakeControl.Unlock()
	return b.MarketStatus(), nil
}

func (fakeBackend) Coordinate() Coordinate { return Coordinate{Known: true, Samples: 3} }

const testToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestControlCallsNeedTokenAndLocalOrigin: every bad request is refused with
// its own status and message, and leaves the market as it was.
func TestControlCallsNeedTokenAndLocalOrigin(t *testing.T) {
	resetFakeControl()
	h := Handler(fakeBackend{}, WithToken(testToken))
	tests := []struct {
		name               string
		method, host, path string
		body               string
		header             map[string]string
		want               int
		wantMsg            string
		wantPaused         bool
		wantPrices         []string
	}{
		{"no token", "POST", "127.0.0.1:7780", "/api/v1/pause", "", nil, 401, "needs the node's API token", false, nil},
		{"wrong token", "POST", "127.0.0.1:7780", "/api/v1/pause", "", map[string]string{TokenHeader: strings.Repeat("0", 64)}, 401, "wrong API token", false, nil},
		{"bearer wrong", "PUT", "127.0.0.1:7780", "/api/v1/prices", `{"prices":["gpu=9"]}`, map[string]string{"Authorization": "Bearer nope"}, 401, "wrong API token", false, nil},
		{"foreign origin with token", "POST", "127.0.0.1:7780", "/api/v1/pause", "", map[string]string{TokenHeader: testToken, "Origin": "http://evil.example"}, 403, "cross-site", false, nil},
		{"origin on another port", "POST", "127.0.0.1:7780", "/api/v1/pause", "", map[string]string{TokenHeader: testToken, "Origin": "http://127.0.0.1:8080"}, 403, "not this node's", false, nil},
		{"cross-site fetch", "POST", "127.0.0.1:7780", "/api/v1/pause", "", map[string]string{TokenHeader: testToken, "Sec-Fetch-Site": "cross-site"}, 403, "cross-site", false, nil},
		{"rebinding host", "POST", "evil.example:7780", "/api/v1/pause", "", map[string]string{TokenHeader: testToken}, 403, "not local", false, nil},
		{"malformed price", "PUT", "127.0.0.1:7780", "/api/v1/prices", `{"prices":["gpu=abc"]}`, map[string]string{TokenHeader: testToken}, 400, "gpu=abc", false, nil},
		{"negative price", "PUT", "127.0.0.1:7780", "/api/v1/prices", `{"prices":["gpu=-1"]}`, map[string]string{TokenHeader: testToken}, 400, "gpu=-1", false, nil},
		{"unknown key", "PUT", "127.0.0.1:7780", "/api/v1/prices", `{"price":["gpu=2"]}`, map[string]string{TokenHeader: testToken}, 400, "unknown field", false, nil},
		{"no prices", "PUT", "127.0.0.1:7780", "/api/v1/prices", `{}`, map[string]string{TokenHeader: testToken}, 400, "needs", false, nil},
		{"not JSON", "PUT", "127.0.0.1:7780", "/api/v1/prices", `gpu=2`, map[string]string{TokenHeader: testToken}, 400, "body", false, nil},
		{"text after the body", "PUT", "127.0.0.1:7780", "/api/v1/prices", `{"prices":["gpu=9"]}"]...`, map[string]string{TokenHeader: testToken}, 400, "text after the JSON value", false, nil},
		{"second value after the body", "PUT", "127.0.0.1:7780", "/api/v1/hours", `{"hours":[]} {"hours":["18:00-08:00"]}`, map[string]string{TokenHeader: testToken}, 400, "text after the JSON value", false, nil},
		{"cancel without token", "POST", "127.0.0.1:7780", "/api/v1/jobs/j1/cancel", "", nil, 401, "token", false, nil},
		{"submit without token", "POST", "127.0.0.1:7780", "/api/v1/jobs", `{"workers":1}`, nil, 401, "token", false, nil},
		{"unknown job", "POST", "127.0.0.1:7780", "/api/v1/jobs/nope/cancel", "", map[string]string{TokenHeader: testToken}, 404, "no job", false, nil},
		{"read without token", "GET", "127.0.0.1:7780", "/api/v1/market", "", nil, 200, "", false, nil},
		{"same-origin page", "PUT", "127.0.0.1:7780", "/api/v1/prices", `{"prices":["gpu=2.5","A100-80GB=3"]}`, map[string]string{TokenHeader: testToken, "Origin": "http://127.0.0.1:7780", "Sec-Fetch-Site": "same-origin"}, 200, "", false, []string{"gpu=2.5", "A100-80GB=3"}},
		{"pause", "POST", "localhost:7780", "/api/v1/pause", `{"reason":"gaming"}`, map[string]string{"Authorization": "Bearer " + testToken}, 200, "", true, []string{"gpu=2.5", "A100-80GB=3"}},
		{"resume", "POST", "127.0.0.1:7780", "/api/v1/resume", "", map[string]string{TokenHeader: testToken}, 200, "", false, []string{"gpu=2.5", "A100-80GB=3"}},
	}
	for _, tc := range tests {
		req := httptest.NewRequest(tc.method, "http://"+tc.host+tc.path, strings.NewReader(tc.body))
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want || !strings.Contains(rec.Body.String(), tc.wantMsg) {
			t.Errorf("%s: %s %s = %d %s, want %d with %q", tc.name, tc.method, tc.path, rec.Code, strings.TrimSpace(rec.Body.String()), tc.want, tc.wantMsg)
		}
		s := fakeBackend{}.MarketStatus()
		want := tc.wantPrices
		if want == nil {
			want = []string{"gpu=1.00"}
		}
		if s.Paused != tc.wantPaused || !slices.Equal(s.Prices, want) {
			t.Errorf("%s: after it the market is paused=%v prices=%v, want paused=%v prices=%v", tc.name, s.Paused, s.Prices, tc.wantPaused, want)
		}
	}
}

// TestClientSendsToken: the CLI's client reaches the controls only with the token.
func TestClientSendsToken(t *testing.T) {
	resetFakeControl()
	srv := httptest.NewServer(Handler(fakeBackend{}, WithToken(testToken)))
	defer srv.Close()
	ctx := context.Background()
	var apiErr *Error
	if _, err := NewClient(srv.URL).Pause(ctx, ""); !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Fatalf("pause without token: %v, want a 401", err)
	}
	c := NewClient(srv.URL).WithToken(testToken)
	m, err := c.Pause(ctx, "maintenance")
	if err != nil || !m.Paused || m.PauseReason != "maintenance" {
		t.Fatalf("Pause = %+v, %v", m, err)
	}
	if m, err = c.Resume(ctx); err != nil || m.Paused {
		t.Fatalf("Resume = %+v, %v", m, err)
	}
	if _, err := c.SetPrices(ctx, []string{"RTX-4090=0.3x"}); !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !strings.Contains(apiErr.Message, "RTX-4090=0.3x") {
		t.Fatalf("bad price: %v, want a 400 naming it", err)
	}
	if m, err = c.SetPrices(ctx, []string{"RTX-4090=0.35"}); err != nil || !slices.Equal(m.Prices, []string{"RTX-4090=0.35"}) {
		t.Fatalf("SetPrices = %+v, %v", m, err)
	}
	if m, err = c.SetHours(ctx, []string{"18:00-08:00"}); err != nil || !slices.Equal(m.Hours, []string{"18:00-08:00"}) {
		t.Fatalf("SetHours = %+v, %v", m, err)
	}
	if got, err := NewClient(srv.URL).MarketStatus(ctx); err != nil || !slices.Equal(got.Prices, []string{"RTX-4090=0.35"}) {
		t.Fatalf("MarketStatus = %+v, %v", got, err)
	}
	if co, err := NewClient(srv.URL).Coordinate(ctx); err != nil || !co.Known || co.Samples != 3 {
		t.Fatalf("Coordinate = %+v, %v", co, err)
	}
}

// TestAuthTokenFile: the token is created once, 0600, and kept; a damaged
// file is an error, never silently replaced.
func TestAuthTokenFile(t *testing.T) {
	dir := t.TempDir()
	tok, err := LoadOrCreateToken(dir)
	if err != nil || len(tok) != 64 {
		t.Fatalf("token %q, %v", tok, err)
	}
	fi, err := os.Stat(filepath.Join(dir, TokenFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, mode %v, want 0600", err, fi.Mode().Perm())
	}
	again, err := LoadOrCreateToken(dir)
	if err != nil || again != tok {
		t.Fatalf("second start: %q, %v; want the same token", again, err)
	}
	if got, err := ReadToken(dir); err != nil || got != tok {
		t.Fatalf("ReadToken = %q, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, TokenFile), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateToken(dir); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("damaged token file: %v, want an error", err)
	}
	if _, err := ReadToken(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("no token: %v, want os.ErrNotExist", err)
	}
}

// TestExtraHandlersStayBehindHostCheck: what the node mounts (dashboard,
// metrics) gets the same DNS-rebinding protection as the API.
func TestExtraHandlersStayBehindHostCheck(t *testing.T) {
	h := Handler(fakeBackend{}, WithToken(testToken), WithHandler("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "up 1")
	})))
	for host, want := range map[string]int{"127.0.0.1:7780": 200, "attacker.example:7780": 403} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "http://"+host+"/metrics", nil))
		if rec.Code != want {
			t.Errorf("GET /metrics with Host %s = %d, want %d", host, rec.Code, want)
		}
	}
}
