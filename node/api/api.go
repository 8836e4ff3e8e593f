// Package api is the node's local HTTP JSON API, served on loopback, and the
// Go client the CLI (and later the dashboard) uses to read it. The server
// refuses requests whose Host is not local, so a web page elsewhere cannot
// reach it through DNS rebinding.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/gpu"
	"github.com/gpumesh/gpumesh/node/datadir"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/offers"
)

// AddrFile is the file in the data dir where a running node writes its API's URL.
const AddrFile = "api"

// Status is the answer to GET /api/v1/status.
type Status struct {
	// PeerID is the node's libp2p identity.
	PeerID string `json:"peer_id"`
	// Version is the gpumesh version the node runs.
	Version string `json:"version"`
	// Profile is the config profile the node started with.
	Profile string `json:"profile"`
	// ListenAddrs are the addresses the node's sockets are bound to.
	ListenAddrs []string `json:"listen_addrs"`
	// Addrs are the addresses the node announces, each with /p2p/<id>.
	Addrs []string `json:"addrs"`
	// ObservedAddrs are addresses peers saw us at that are not local interface addresses.
	ObservedAddrs []string `json:"observed_addrs"`
	// Reachability is AutoNAT's verdict: Unknown, Public or Private.
	Reachability string `json:"reachability"`
	// Network is the network the node joined and how it is connected to it.
	Network NetworkStatus `json:"network"`
	// DHTMode is the configured DHT mode.
	DHTMode string `json:"dht_mode"`
	// RoutingTableSize is the number of peers in the DHT routing table.
	RoutingTableSize int `json:"routing_table_size"`
	// ConnectedPeers is the number of peers with an open connection.
	ConnectedPeers int `json:"connected_peers"`
	// Topics lists the gossip topics joined, with their known subscribers.
	Topics []Topic `json:"topics"`
	// Announces lists the topics this node publishes its heartbeats on
	// (a provider's capacity shards, and gpumesh/capacity/2 during the
	// transition); empty for a node that announces itself nowhere.
	Announces []string `json:"announces,omitempty"`
	// Gossip counts what the validators accepted and rejected.
	Gossip gossip.Stats `json:"gossip"`
	// StartedAt is when the node started.
	StartedAt time.Time `json:"started_at"`
	// UptimeSeconds is how long the node has run.
	UptimeSeconds float64 `json:"uptime_seconds"`
}

// NetworkStatus is the network part of Status: which network, whether its
// bootstrap peers answer, and how peers reach this node.
type NetworkStatus struct {
	// Name is the network's name: main, local, or a custom network's.
	Name string `json:"name"`
	// Kind is main, local or custom.
	Kind string `json:"kind"`
	// Bootstrap is how the node stands with the network's bootstrap peers.
	Bootstrap BootstrapStatus `json:"bootstrap"`
	// Reachability is public, private or unknown.
	Reachability string `json:"reachability"`
	// ReachabilitySource is where Reachability comes from: "autonat" (its
	// last verdict) or "p2p.public" (declared in the config).
	ReachabilitySource string `json:"reachability_source"`
	// RelayAddrs are the node's circuit addresses through its relays, each
	// with /p2p/<id>; empty while it holds no relay reservation.
	RelayAddrs []string `json:"relay_addrs"`
	// DirectAddrs are the other addresses the node announces, each with /p2p/<id>.
	DirectAddrs []string `json:"direct_addrs"`
}

// BootstrapStatus says whether the node reaches its bootstrap peers.
type BootstrapStatus struct {
	// Peers is how many bootstrap peers the node knows (/dnsaddr/ names
	// resolved, itself left out).
	Peers int `json:"peers"`
	// Connected is how many of them it has a connection to now.
	Connected int `json:"connected"`
	// Reason says in plain words why none is connected; absent when one is.
	Reason string `json:"reason,omitempty"`
}

// Topic is one gossip topic in Status.
type Topic struct {
	// Name is the topic.
	Name string `json:"name"`
	// Peers is how many peers we know to be subscribed.
	Peers int `json:"peers"`
}

// Peer is one entry of GET /api/v1/peers.
type Peer struct {
	// ID is the peer's identity.
	ID string `json:"id"`
	// Addrs are the remote addresses of our connections to it.
	Addrs []string `json:"addrs"`
	// Direction is inbound or outbound (of the first connection).
	Direction string `json:"direction"`
	// Agent is the software the peer announced through identify.
	Agent string `json:"agent,omitempty"`
	// LatencyMS is libp2p's smoothed RTT estimate, 0 if unknown.
	LatencyMS float64 `json:"latency_ms"`
	// InRoutingTable says whether the peer is in our DHT routing table.
	InRoutingTable bool `json:"in_routing_table"`
	// LastHeartbeat is when the peer last announced itself on gossip, if ever.
	LastHeartbeat *time.Time `json:"last_heartbeat,omitempty"`
	// LastHeard is when the peer last showed it was alive: its latest
	// heartbeat or its latest direct coordinate exchange, whichever is
	// newer (with the capacity topic sharded, a node hears the heartbeats
	// of its own shards only); HeardVia says which, "heartbeat" or
	// "direct".
	LastHeard *time.Time `json:"last_heard,omitempty"`
	HeardVia  string     `json:"heard_via,omitempty"`
}

// GPU is the answer to GET /api/v1/gpu: the hardware and its latest telemetry.
type GPU struct {
	// Inventory is the node's devices, each with its latest reading.
	Inventory gpu.Inventory `json:"inventory"`
	// Labels describe the devices in gpu-feature-discovery's vocabulary.
	Labels map[string]string `json:"labels"`
	// SampleIntervalSeconds is how often telemetry is read.
	SampleIntervalSeconds float64 `json:"sample_interval_seconds"`
	// SamplerError is the last telemetry error, if the last reading failed.
	SamplerError string `json:"sampler_error,omitempty"`
}

// Backend is what the API reads from; the node implements it.
type Backend interface {
	Status() Status
	Peers() []Peer
	GPU() GPU
	// GPUHistory returns a device's telemetry, oldest first, and whether the device exists.
	GPUHistory(device string) ([]gpu.Telemetry, bool)
	// Offers searches the network's capacity; an error wrapping
	// ErrBadRequest is the caller's fault.
	Offers(ctx context.Context, filter, order string, limit int) (offers.Result, error)
	JobBackend
	ReceiptBackend
	ControlBackend
}

// ErrBadRequest marks errors caused by the request's input (answered 400).
var ErrBadRequest = errors.New("bad request")

// Handler returns the API's HTTP handler over b.
func Handler(b Backend, opts ...Option) http.Handler {
	var hc handlerConfig
	for _, o := range opts {
		o(&hc)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, b.Status())
	})
	mux.HandleFunc("GET /api/v1/peers", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, b.Peers())
	})
	mux.HandleFunc("GET /api/v1/gpu", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, b.GPU())
	})
	mux.HandleFunc("GET /api/v1/gpu/history", func(w http.ResponseWriter, r *http.Request) {
		dev := r.URL.Query().Get("device")
		h, ok := b.GPUHistory(dev)
		if !ok {
			writeJSON(w, http.StatusNotFound, errorBody{Error: fmt.Sprintf("no device %q", dev)})
			return
		}
		writeJSON(w, http.StatusOK, h)
	})
	mux.HandleFunc("GET /api/v1/offers", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit := 0
		if s := q.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				writeJSON(w, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("limit %q is not a count", s)})
				return
			}
			limit = n
		}
		filter := q.Get("filter")
		switch q.Get("staked") {
		case "", "false":
		case "true":
			filter = strings.TrimSpace(filter + " staked=true") // the filter's staked clause, checked on chain
		default:
			writeJSON(w, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("staked %q is not true or false", q.Get("staked"))})
			return
		}
		res, err := b.Offers(r.Context(), filter, q.Get("order"), limit)
		writeResult(w, http.StatusOK, res, err)
	})
	handleJobs(mux, b)
	handleReceipts(mux, b)
	handleControl(mux, b)
	for _, x := range hc.extra {
		mux.Handle(x.pattern, x.h)
	}
	return localOnly(guard(mux, hc.token))
}

// localOnly refuses requests whose Host header is not a loopback name: a
// browser tricked by DNS rebinding sends the attacker's host name.
func localOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isLocalHost(r.Host) {
			writeJSON(w, http.StatusForbidden, errorBody{Error: fmt.Sprintf("host %q is not local", r.Host)})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isLocalHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type errorBody struct {
	Error string `json:"error"`
}

// writeResult answers v with code, or the error: 400 for one wrapping
// ErrBadRequest (with the reason alone), 500 for any other.
func writeResult(w http.ResponseWriter, code int, v any, err error) {
	switch {
	case errors.Is(err, ErrBadRequest):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: strings.TrimPrefix(err.Error(), ErrBadRequest.Error()+": ")})
	case errors.Is(err, market.ErrTooManyJobs):
		// Every remembered job is still running: try again once one ends.
		writeJSON(w, http.StatusTooManyRequests, errorBody{Error: err.Error()})
	case errors.Is(err, market.ErrClosed):
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: err.Error()})
	case errors.Is(err, offers.ErrNoStakeChecker):
		// A staked search on a node that cannot read stakes: its settings, not the request.
		writeJSON(w, http.StatusConflict, errorBody{Error: err.Error()})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: err.Error()})
	default:
		writeJSON(w, code, v)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Server serves the API on a loopback listener.
type Server struct {
	srv *http.Server
	ln  net.Listener
	log *slog.Logger
	err chan error
}

// Listen binds addr (HOST:PORT, port 0 for any) and returns a server ready to Serve.
func Listen(addr string, b Backend, log *slog.Logger, opts ...Option) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("api listen on %s: %w", addr, err)
	}
	return &Server{
		srv: &http.Server{
			Handler:           Handler(b, opts...),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
		},
		ln: ln, log: log, err: make(chan error, 1),
	}, nil
}

// URL is the server's base URL, such as http://127.0.0.1:7780.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Serve starts answering requests on a goroutine that exits on Shutdown.
func (s *Server) Serve() {
	go func() {
		err := s.srv.Serve(s.ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.err <- err
	}()
}

// Shutdown stops accepting requests, waits for those in flight until ctx
// ends, and waits for the serving goroutine.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	return errors.Join(err, <-s.err)
}

// WriteAddrFile records url in dir/api for clients, atomically.
func WriteAddrFile(dir, url string) error {
	return datadir.WriteFile(filepath.Join(dir, AddrFile), []byte(url+"\n"), 0o600)
}

// ReadAddrFile returns the API URL a running node wrote into dir.
func ReadAddrFile(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, AddrFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("no node is running with data dir %s (no %s file); start one with `gpumesh run --data-dir %s`", dir, AddrFile, dir)
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
