package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/p2p"
)

// ErrBadOptions is returned by Dial for options it cannot start with: an
// unknown network, a bootstrap address that is not a peer's address, and
// the like. The error names the option.
var ErrBadOptions = errors.New("client: bad options")

// ErrClosed is returned by a Client's methods after Close.
var ErrClosed = errors.New("client: closed")

// DefaultListen are the addresses a client listens on when Options.Listen
// is empty: TCP and QUIC on ports the system picks, so that providers can
// reach it back (results and receipts travel on streams both sides open).
var DefaultListen = []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"}

// Options say how Dial starts the client.
type Options struct {
	// Network is the network to join (p2p.Networks: main, local, or one
	// named in a networks file); empty means main.
	Network string
	// Bootstrap are peers dialled at start besides the network's own:
	// full multiaddrs ending in /p2p/<peer id>, or /dnsaddr/ names.
	Bootstrap []string
	// DataDir holds the client's identity, ledger of receipts and job
	// results. Empty: a temporary folder that Close removes (a fresh
	// identity each time).
	DataDir string
	// Logger receives the client's logs; nil discards them.
	Logger *slog.Logger
	// Listen are the multiaddrs to listen on; empty means DefaultListen.
	Listen []string
	// MDNS turns LAN discovery on (off by default).
	MDNS bool
	// Configure, if set, edits the node's config after Dial has made it
	// a requester: for the rare setting these options do not name (market
	// limits, an anchoring chain). Dial checks the result.
	Configure func(c *config.Config)
}

// Client is a light gpumesh participant in this process. Its methods are
// safe for concurrent use. Close releases it.
type Client struct {
	node *node.Node
	tmp  string // the temporary data dir Close removes, if Dial made one

	closeOnce sync.Once
	closeErr  error
	mu        sync.RWMutex
	closed    bool
	done      chan struct{} // closed by Close: Follow and Wait stop
}

// Dial starts a client with opts and returns once it listens and has
// dialled its bootstrap peers. ctx bounds the start only.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	cfg, err := requesterConfig(opts)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{done: make(chan struct{})}
	dir := opts.DataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "gpumesh-client-"); err != nil {
			return nil, fmt.Errorf("client: data dir: %w", err)
		}
		c.tmp = dir
	}
	n, err := node.New(node.Options{DataDir: dir, Config: cfg, Log: log, NoAPI: true})
	if err != nil {
		c.removeTemp()
		return nil, fmt.Errorf("client: %w", err)
	}
	if err := n.Start(ctx); err != nil {
		_ = n.Close()
		c.removeTemp()
		return nil, fmt.Errorf("client: start: %w", err)
	}
	c.node = n
	return c, nil
}

// requesterConfig is the node config opts ask for: a requester only.
func requesterConfig(opts Options) (config.Config, error) {
	c := config.Default()
	c.Headless = true
	if opts.Network != "" {
		c.Network = opts.Network
	}
	if _, err := p2p.LookupNetwork(c.Network); err != nil {
		return c, fmt.Errorf("%w: network: %w", ErrBadOptions, err)
	}
	c.P2P.Bootstrap = opts.Bootstrap
	c.P2P.Listen = DefaultListen
	if len(opts.Listen) > 0 {
		c.P2P.Listen = opts.Listen
	}
	c.P2P.MDNS = opts.MDNS
	c.P2P.NATPortMap = false
	c.P2P.DHTMode = p2p.DHTModeClient
	c.Offer.Enabled = false
	if opts.Configure != nil {
		opts.Configure(&c)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	return c, nil
}

// PeerID is the client's peer ID: the requester its receipts name.
func (c *Client) PeerID() peer.ID { return c.node.PeerID() }

// Node is the node under the client, for what these methods do not cover.
// It is the client's: do not close it.
func (c *Client) Node() *node.Node { return c.node }

// Close stops the client and, when Dial made the data dir, removes it.
// It waits for everything the client started; a second Close returns the
// first one's result.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(c.done)
		c.closeErr = c.node.Close()
		c.removeTemp()
	})
	return c.closeErr
}

// live returns the node, or ErrClosed after Close.
func (c *Client) live() (*node.Node, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, ErrClosed
	}
	return c.node, nil
}

func (c *Client) removeTemp() {
	if c.tmp != "" {
		_ = os.RemoveAll(c.tmp)
	}
}
