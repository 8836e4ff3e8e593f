package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/offers"
)

// fuzzBackend records what the routes that read a client's input hand
// it, and answers every such call successfully.
type fuzzBackend struct {
	fakeBackend
	calls int
	got   any
}

func (b *fuzzBackend) record(v any) { b.calls++; b.got = v }

func (b *fuzzBackend) Pause(reason string) (MarketStatus, error) {
	b.record(reason)
	return MarketStatus{Paused: true, PauseReason: reason}, nil
}

func (b *fuzzBackend) SetPrices(prices []string) (MarketStatus, error) {
	b.record(prices)
	return MarketStatus{Prices: prices}, nil
}

func (b *fuzzBackend) SetHours(hours []string) (MarketStatus, error) {
	b.record(hours)
	return MarketStatus{Hours: hours}, nil
}

func (b *fuzzBackend) SubmitJob(_ context.Context, spec market.Spec) (market.JobView, error) {
	b.record(spec)
	return market.JobView{ID: "j1", Spec: spec}, nil
}

func (b *fuzzBackend) Receipts(_ context.Context, q ReceiptQuery) (Receipts, error) {
	b.record(q)
	return Receipts{}, nil
}

func (b *fuzzBackend) VerifyAnchor(_ context.Context, a *anchor.Anchor) (AnchorCheck, error) {
	b.record(a)
	return AnchorCheck{}, nil
}

func (b *fuzzBackend) Offers(_ context.Context, filter, order string, limit int) (offers.Result, error) {
	b.record([]string{filter, order, strconv.Itoa(limit)})
	return offers.Result{}, nil
}

// fuzzRoutes are the calls that decode a client's body or query.
var fuzzRoutes = []struct {
	method, path string
	protected    bool
	// again re-encodes what the backend got as the request that must
	// hand it the same value.
	again func(got any) (body []byte, query string)
}{
	{"POST", "/api/v1/pause", true, func(v any) ([]byte, string) { return jsonOf(PauseRequest{Reason: v.(string)}), "" }},
	{"PUT", "/api/v1/prices", true, func(v any) ([]byte, string) { return jsonOf(PricesRequest{Prices: v.([]string)}), "" }},
	{"PUT", "/api/v1/hours", true, func(v any) ([]byte, string) { return jsonOf(HoursRequest{Hours: v.([]string)}), "" }},
	{"POST", "/api/v1/jobs", true, func(v any) ([]byte, string) { return jsonOf(v.(market.Spec)), "" }},
	{"POST", "/api/v1/anchors/verify", false, func(v any) ([]byte, string) {
		b, _ := v.(*anchor.Anchor).Marshal()
		return b, ""
	}},
	{"GET", "/api/v1/receipts", false, func(v any) ([]byte, string) {
		q := v.(ReceiptQuery)
		return nil, url.Values{"job": {q.Job}, "peer": {q.Peer}, "limit": {strconv.Itoa(q.Limit)}}.Encode()
	}},
	{"GET", "/api/v1/offers", false, func(v any) ([]byte, string) {
		s := v.([]string)
		return nil, url.Values{"filter": {s[0]}, "order": {s[1]}, "limit": {s[2]}}.Encode()
	}},
}

func jsonOf(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// serveFuzz sends one request to h and returns the answer.
func serveFuzz(h http.Handler, method, path, query string, body []byte, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://127.0.0.1:7780"+path, bytes.NewReader(body))
	req.URL.RawQuery = query
	if token != "" {
		req.Header.Set(TokenHeader, token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// FuzzRequest: any body and query to every call that decodes a client's
// input. The answer is JSON with a 2xx status when the backend was called
// and a 4xx with an error message when not, never a 5xx; a protected call
// without the token never reaches the backend; a body that was accepted is
// refused with anything after it (bodies are whole inputs); and what the
// backend got,
// encoded again as a client would send it, hands the backend the same value.
func FuzzRequest(f *testing.F) {
	key, _, _ := crypto.GenerateEd25519Key(nil)
	id, _ := peer.IDFromPrivateKey(key)
	cp := &anchor.Checkpoint{Log: id, Size: 3, Root: [32]byte{1}, Time: t0}
	env, err := cp.Sign(key)
	if err != nil {
		f.Fatal(err)
	}
	a := anchor.Anchor{Envelope: env, ChainID: 31337, Tx: anchor.TxHash{9}, Block: 7, BlockHash: anchor.TxHash{7}, State: anchor.StateConfirmed}
	ab, err := a.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	gpus := 2
	for _, seed := range []struct {
		route uint8
		query string
		body  []byte
	}{
		{0, "", nil},
		{0, "", []byte(`{"reason":"gaming tonight"}`)},
		{0, "", []byte(`{"reason":"x","extra":1}`)},
		{1, "", []byte(`{"prices":["gpu=2.5","A100-80GB=3"]}`)},
		{1, "", []byte(`{"prices":null}`)},
		{2, "", []byte(`{"hours":["18:00-08:00"]}`)},
		{3, "", jsonOf(market.Spec{Workers: 4, GPUs: &gpus, Class: "A100-80GB", MaxPrice: 2.5, Regions: []string{"EU"}})},
		{3, "", []byte(`{"workers":1,"max_rtt":"40ms","duration":"1h"}`)},
		{3, "", []byte(`{"max_rtt":"forever"}`)},
		{4, "", ab},
		{4, "", []byte(`{"v":1}`)},
		{5, "job=j1&peer=" + id.String() + "&limit=3", nil},
		{5, "peer=nope&limit=-1", nil},
		{6, "filter=gpu_class%3DA100-80GB&order=price&limit=10", nil},
		{6, "limit=x", nil},
	} {
		f.Add(seed.route, seed.query, seed.body, true)
	}
	f.Add(uint8(1), "", []byte(`{"prices":[]}`), false)
	f.Fuzz(func(t *testing.T, which uint8, query string, body []byte, withToken bool) {
		route := fuzzRoutes[int(which)%len(fuzzRoutes)]
		b := &fuzzBackend{}
		h := Handler(b, WithToken(testToken))
		token := ""
		if withToken {
			token = testToken
		}
		rec := serveFuzz(h, route.method, route.path, query, body, token)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: %d %s", route.method, route.path, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("content type %q", ct)
		}
		var answer map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
			t.Fatalf("answer is not a JSON object: %v\n%s", err, rec.Body)
		}
		ok := rec.Code >= 200 && rec.Code < 300
		if ok != (b.calls == 1) || b.calls > 1 {
			t.Fatalf("status %d after %d backend calls", rec.Code, b.calls)
		}
		if !ok {
			if msg, _ := answer["error"].(string); msg == "" {
				t.Fatalf("status %d without an error message: %s", rec.Code, rec.Body)
			}
			return
		}
		if route.protected && !withToken {
			t.Fatalf("%s %s reached the backend without the token", route.method, route.path)
		}
		if q, isQuery := b.got.(ReceiptQuery); isQuery {
			if q.Peer != "" {
				if _, err := peer.Decode(q.Peer); err != nil {
					t.Fatalf("the backend got peer %q", q.Peer)
				}
			}
			if q.Limit < 0 {
				t.Fatalf("the backend got limit %d", q.Limit)
			}
		}
		// An accepted body that holds a JSON value (not an empty or blank
		// one, which routes with an optional body take as none) must not
		// be accepted with anything after it.
		if len(bytes.TrimSpace(body)) > 0 && route.method != http.MethodGet {
			for _, tail := range []string{"x", `"]...`, "{}"} {
				if rec := serveFuzz(h, route.method, route.path, query, append(slices.Clip(body), tail...), testToken); rec.Code != http.StatusBadRequest || b.calls != 1 {
					t.Fatalf("body %q with %q after it: %d after %d backend calls, want a 400 and no call", body, tail, rec.Code, b.calls)
				}
			}
		}
		first := b.got
		body2, query2 := route.again(first)
		rec = serveFuzz(h, route.method, route.path, query2, body2, testToken)
		if rec.Code < 200 || rec.Code >= 300 || b.calls != 2 {
			t.Fatalf("re-encoded request %q %q: %d %s", query2, body2, rec.Code, rec.Body)
		}
		if a1, isAnchor := first.(*anchor.Anchor); isAnchor {
			m1, _ := a1.Marshal()
			m2, _ := b.got.(*anchor.Anchor).Marshal()
			if !bytes.Equal(m1, m2) {
				t.Fatalf("anchor changed on the way back:\n%s\n%s", m1, m2)
			}
			return
		}
		if !reflect.DeepEqual(first, b.got) {
			t.Fatalf("the backend got %#v, then %#v from its re-encoding", first, b.got)
		}
	})
}

// FuzzReadToken: any bytes as the API token file. A token that reads is
// 64 hex digits, the one LoadOrCreateToken returns, and the file stays as
// it was; a file that does not read is never replaced by a new token.
func FuzzReadToken(f *testing.F) {
	f.Add([]byte(testToken + "\n"))
	f.Add([]byte("  " + strings.ToUpper(testToken) + "\r\n"))
	f.Add([]byte(testToken[:63]))
	f.Add([]byte(strings.Replace(testToken, "0", "g", 1)))
	f.Add([]byte{})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, TokenFile)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		tok, err := ReadToken(dir)
		tok2, err2 := LoadOrCreateToken(dir)
		if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
			t.Fatal("the token file was rewritten")
		}
		if (err == nil) != (err2 == nil) || tok != tok2 {
			t.Fatalf("ReadToken %q, %v; LoadOrCreateToken %q, %v", tok, err, tok2, err2)
		}
		if err != nil {
			if tok != "" {
				t.Fatalf("failed (%v) with token %q", err, tok)
			}
			if strings.Contains(err.Error(), string(bytes.TrimSpace(data))) && len(bytes.TrimSpace(data)) > 8 {
				t.Fatalf("the error quotes the file: %v", err)
			}
			return
		}
		if len(tok) != 64 || strings.TrimLeft(tok, "0123456789abcdefABCDEF") != "" {
			t.Fatalf("token %q", tok)
		}
		if tok != strings.TrimSpace(string(data)) {
			t.Fatalf("token %q from file %q", tok, data)
		}
	})
}

// FuzzHashText: a Hash reads from exactly 64 hex digits of either case
// and writes back as the same digits in lower case.
func FuzzHashText(f *testing.F) {
	f.Add([]byte(testToken))
	f.Add([]byte(strings.ToUpper(testToken)))
	f.Add([]byte("zz" + testToken[2:]))
	f.Add([]byte(testToken + "00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Hash
		if err := h.UnmarshalText(b); err != nil {
			return
		}
		out, err := h.MarshalText()
		if err != nil || !strings.EqualFold(string(out), string(b)) || strings.ToLower(string(out)) != string(out) {
			t.Fatalf("%q read and wrote as %q", b, out)
		}
	})
}
