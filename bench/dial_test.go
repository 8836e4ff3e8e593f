package main

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
)

// TestConnectHostsRidesOutDialBackoff reproduces `make bench` dying with
// "connect baseline hosts: ... dial backoff": a dial to a host that is not
// listening yet fails and leaves a dial backoff, so a plain Connect made
// once it listens fails at once. connectHosts must connect anyway.
func TestConnectHostsRidesOutDialBackoff(t *testing.T) {
	ctx := context.Background()
	port := freeTCPPort(t)
	addr := ma.StringCast(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port))
	bKey, _, err := crypto.GenerateEd25519Key(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bID, _ := peer.IDFromPrivateKey(bKey)
	a := newLoopbackHost(t, nil, libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	info := peer.AddrInfo{ID: bID, Addrs: []ma.Multiaddr{addr}}
	if err := a.Connect(ctx, info); err == nil {
		t.Fatal("connected to a host that is not listening")
	}
	// b starts listening: a plain Connect still fails, on the backoff.
	b := newLoopbackHost(t, bKey, libp2p.ListenAddrs(addr))
	if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); !errors.Is(err, swarm.ErrDialBackoff) {
		t.Fatalf("plain Connect after a failed dial: %v, want the dial backoff this test reproduces", err)
	}
	if err := connectHosts(ctx, a, b); err != nil {
		t.Fatalf("connectHosts: %v", err)
	}
	if len(a.Network().ConnsToPeer(b.ID())) == 0 {
		t.Fatal("connectHosts returned nil but a has no connection to b")
	}
}

// TestConnectHostsGivesUp: a peer that stopped listening is an error once
// the context ends, not a retry without end.
func TestConnectHostsGivesUp(t *testing.T) {
	a := newLoopbackHost(t, nil, libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	b := newLoopbackHost(t, nil, libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	_ = b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := connectHosts(ctx, a, b); err == nil {
		t.Fatal("connectHosts to a closed host succeeded")
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func newLoopbackHost(t *testing.T, key crypto.PrivKey, opts ...libp2p.Option) host.Host {
	t.Helper()
	if key != nil {
		opts = append(opts, libp2p.Identity(key))
	}
	h, err := libp2p.New(append(opts, libp2p.DisableRelay())...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}
