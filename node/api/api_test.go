package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gpu"
	"github.com/gpumesh/gpumesh/scheduler/offers"
)

// fakeBackend answers the receipt endpoints through ReceiptBackend when set
// (receipts_test.go); the other tests leave it nil.
type fakeBackend struct{ ReceiptBackend }

func (fakeBackend) Status() Status { return Status{PeerID: "12D3KooWtest", RoutingTableSize: 3} }
func (fakeBackend) Peers() []Peer  { return []Peer{{ID: "a"}, {ID: "b"}} }
func (fakeBackend) GPU() GPU {
	return GPU{Inventory: gpu.Inventory{Source: "cpu", Devices: []gpu.Device{{ID: "cpu0", Class: "CPU-x86"}}}}
}
func (fakeBackend) GPUHistory(dev string) ([]gpu.Telemetry, bool) {
	if dev != "cpu0" {
		return nil, false
	}
	return []gpu.Telemetry{{Device: "cpu0", Utilization: 12}}, true
}

// Offers answers a search for the filter "bad" with a bad-request error and
// echoes the query otherwise, so the test sees what reached the backend.
func (fakeBackend) Offers(_ context.Context, filter, order string, limit int) (offers.Result, error) {
	if filter == "bad" {
		return offers.Result{}, fmt.Errorf("%w: unknown field \"bad\"", ErrBadRequest)
	}
	if filter == "boom" {
		return offers.Result{}, errors.New("dht unavailable")
	}
	if filter == "unstakeable staked=true" {
		return offers.Result{}, offers.ErrNoStakeChecker
	}
	_, pub, _ := crypto.GenerateEd25519Key(nil)
	id, _ := peer.IDFromPublicKey(pub)
	return offers.Result{Keys: []string{filter, order}, Matched: limit, Offers: []offers.Offer{{Peer: id, Class: "A100-80GB", NumGPUs: 8}}}, nil
}

func TestClientSearchesOffers(t *testing.T) {
	srv := httptest.NewServer(Handler(fakeBackend{}))
	defer srv.Close()
	c := NewClient(srv.URL)
	r, err := c.Offers(context.Background(), "gpu_class=A100-80GB region in [EU,US]", "-price", 7)
	if err != nil || len(r.Offers) != 1 || r.Offers[0].NumGPUs != 8 || r.Matched != 7 ||
		r.Keys[0] != "gpu_class=A100-80GB region in [EU,US]" || r.Keys[1] != "-price" {
		t.Fatalf("Offers = %+v, %v: the query must reach the backend intact", r, err)
	}
	_, err = c.Offers(context.Background(), "bad", "", 0)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || apiErr.Message != `unknown field "bad"` {
		t.Fatalf("bad filter: %v, want a 400 saying what is wrong", err)
	}
	_, err = c.Offers(context.Background(), "boom", "", 0)
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusInternalServerError {
		t.Fatalf("backend failure: %v, want a 500", err)
	}
	req := httptest.NewRequest("GET", "http://127.0.0.1:7780/api/v1/offers?limit=-1", nil)
	rec := httptest.NewRecorder()
	Handler(fakeBackend{}).ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("limit=-1: %d, want 400", rec.Code)
	}
}

// TestOffersStakedParam: staked=true adds the staked clause to the filter,
// anything but true or false is a 400, and a node that cannot read stakes
// answers 409.
func TestOffersStakedParam(t *testing.T) {
	for _, tc := range []struct {
		query      string
		code       int
		wantFilter string
	}{
		{"filter=pool%3Dcpu&staked=true", http.StatusOK, "pool=cpu staked=true"},
		{"staked=true", http.StatusOK, "staked=true"},
		{"filter=pool%3Dcpu&staked=false", http.StatusOK, "pool=cpu"},
		{"staked=yes", http.StatusBadRequest, ""},
		{"filter=unstakeable&staked=true", http.StatusConflict, ""},
	} {
		rec := httptest.NewRecorder()
		Handler(fakeBackend{}).ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1:7780/api/v1/offers?"+tc.query, nil))
		if rec.Code != tc.code {
			t.Errorf("%s: %d, want %d (%s)", tc.query, rec.Code, tc.code, rec.Body)
			continue
		}
		if tc.wantFilter == "" {
			continue
		}
		var r offers.Result
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || len(r.Keys) == 0 || r.Keys[0] != tc.wantFilter {
			t.Errorf("%s: the backend got %v (%v), want filter %q", tc.query, r.Keys, err, tc.wantFilter)
		}
	}
}

func TestClientReadsServer(t *testing.T) {
	srv := httptest.NewServer(Handler(fakeBackend{}))
	defer srv.Close()
	c := NewClient(srv.URL)
	s, err := c.Status(context.Background())
	if err != nil || s.PeerID != "12D3KooWtest" || s.RoutingTableSize != 3 {
		t.Fatalf("Status = %+v, %v", s, err)
	}
	ps, err := c.Peers(context.Background())
	if err != nil || len(ps) != 2 || ps[1].ID != "b" {
		t.Fatalf("Peers = %+v, %v", ps, err)
	}
	g, err := c.GPU(context.Background())
	if err != nil || g.Inventory.Source != "cpu" || g.Inventory.Devices[0].Class != "CPU-x86" {
		t.Fatalf("GPU = %+v, %v", g, err)
	}
}

func TestServerRefusesForeignHostsAndMethods(t *testing.T) {
	h := Handler(fakeBackend{})
	tests := []struct {
		method, host, path string
		want               int
	}{
		{"GET", "127.0.0.1:7780", "/api/v1/status", http.StatusOK},
		{"GET", "localhost:7780", "/api/v1/peers", http.StatusOK},
		{"GET", "[::1]:7780", "/api/v1/status", http.StatusOK},
		{"GET", "evil.example:7780", "/api/v1/status", http.StatusForbidden},
		{"GET", "192.168.1.5:7780", "/api/v1/status", http.StatusForbidden},
		{"POST", "127.0.0.1:7780", "/api/v1/status", http.StatusMethodNotAllowed},
		{"GET", "127.0.0.1:7780", "/api/v1/nothing", http.StatusNotFound},
		{"GET", "127.0.0.1:7780", "/api/v1/gpu", http.StatusOK},
		{"GET", "127.0.0.1:7780", "/api/v1/gpu/history?device=cpu0", http.StatusOK},
		{"GET", "127.0.0.1:7780", "/api/v1/gpu/history?device=GPU-nope", http.StatusNotFound},
	}
	for _, tc := range tests {
		req := httptest.NewRequest(tc.method, "http://"+tc.host+tc.path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s %s (Host %s) = %d, want %d", tc.method, tc.path, tc.host, rec.Code, tc.want)
		}
	}
}

func TestReadAddrFileExplainsMissingNode(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadAddrFile(dir); err == nil || !strings.Contains(err.Error(), "no node is running") {
		t.Fatalf("err = %v, want 'no node is running'", err)
	}
	if err := WriteAddrFile(dir, "http://127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadAddrFile(dir); err != nil || got != "http://127.0.0.1:1" {
		t.Fatalf("ReadAddrFile = %q, %v", got, err)
	}
}
