package api

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/gpumesh/gpumesh/node/datadir"
)

// TokenFile is the file in the data dir that holds the node's API token:
// created on first start, mode 0600, kept across restarts so that a
// dashboard tab that stored it keeps working.
const TokenFile = "api.token"

// TokenHeader carries the token on a request (as does "Authorization:
// Bearer <token>"). A custom header also makes a cross-site request from a
// browser a preflighted one, which the API never allows.
const TokenHeader = "X-Gpumesh-Token"

// tokenBytes is the token's entropy.
const tokenBytes = 32

// LoadOrCreateToken returns the token in dir/api.token, creating it (random,
// written atomically, 0600) when missing. A malformed file is an error: a
// silent new token would lock out every client that holds the old one.
func LoadOrCreateToken(dir string) (string, error) {
	tok, err := ReadToken(dir)
	if err == nil {
		return tok, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	tok = hex.EncodeToString(b)
	if err := datadir.WriteFile(filepath.Join(dir, TokenFile), []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write api token: %w", err)
	}
	return tok, nil
}

// ReadToken returns the token a node keeps in dir; the error wraps
// os.ErrNotExist when there is none.
func ReadToken(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, TokenFile))
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) != 2*tokenBytes {
		return "", fmt.Errorf("api token in %s: malformed (%d characters, want %d); delete the file to get a new one", filepath.Join(dir, TokenFile), len(tok), 2*tokenBytes)
	}
	if _, err := hex.DecodeString(tok); err != nil {
		return "", fmt.Errorf("api token in %s: malformed; delete the file to get a new one", filepath.Join(dir, TokenFile))
	}
	return tok, nil
}

// Option configures the API's handler.
type Option func(*handlerConfig)

type handlerConfig struct {
	token string
	extra []route
}

type route struct {
	pattern string
	h       http.Handler
}

// WithToken makes the calls that change the node or spend its money (see
// Protected) require token. Without it they are open: only tests build a
// handler so; the node always passes its token.
func WithToken(token string) Option {
	return func(c *handlerConfig) { c.token = token }
}

// WithHandler serves h at pattern (a ServeMux pattern) behind the same
// host and origin checks as the API: the node mounts its dashboard and
// /metrics here.
func WithHandler(pattern string, h http.Handler) Option {
	return func(c *handlerConfig) { c.extra = append(c.extra, route{pattern, h}) }
}

// Protected lists the routes (ServeMux patterns) that need the token: the
// calls that change what the node offers, start or stop work, or spend.
var Protected = []string{
	"POST /api/v1/pause",
	"POST /api/v1/resume",
	"PUT /api/v1/prices",
	"PUT /api/v1/hours",
	"POST /api/v1/jobs",
	"POST /api/v1/jobs/{id}/cancel",
	"POST " + SettlePath,
}

// guard refuses requests from a non-local Origin (CSRF and DNS rebinding
// from a browser), and protected calls without the token. mux finds which
// route a request would take, so a route's protection follows its pattern.
func guard(mux *http.ServeMux, token string) http.Handler {
	protected := map[string]bool{}
	for _, p := range Protected {
		protected[p] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && !sameLocalOrigin(o, r.Host) {
			writeJSON(w, http.StatusForbidden, errorBody{Error: fmt.Sprintf("origin %q is not this node's (%s): cross-site requests are refused", o, r.Host)})
			return
		}
		// A browser that sends no Origin still says where a request came from.
		if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" {
			writeJSON(w, http.StatusForbidden, errorBody{Error: "cross-site request refused"})
			return
		}
		if token != "" {
			if _, pattern := mux.Handler(r); protected[pattern] && !tokenOK(r, token) {
				msg := "this call needs the node's API token (header " + TokenHeader + "); it is in the node's data dir, file " + TokenFile
				if requestToken(r) != "" {
					msg = "wrong API token; the node's is in its data dir, file " + TokenFile
				}
				writeJSON(w, http.StatusUnauthorized, errorBody{Error: msg})
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// sameLocalOrigin accepts an Origin whose host is local and whose host and
// port are those the request was sent to: the dashboard's own page.
func sameLocalOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return isLocalHost(u.Host) && strings.EqualFold(u.Host, host)
}

func requestToken(r *http.Request) string {
	if t := r.Header.Get(TokenHeader); t != "" {
		return t
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

func tokenOK(r *http.Request, token string) bool {
	got := requestToken(r)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// WithToken returns a copy of c that sends token with every request, as
// the CLI does with the token it reads from the data dir.
func (c *Client) WithToken(token string) *Client {
	cc := *c
	cc.token = token
	return &cc
}
