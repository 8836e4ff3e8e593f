//go:build linux

package main

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/sys/unix"

	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/p2p/overlay"
)

// B11's fixed settings.
const (
	// b11Job is the job whose network the two providers join.
	b11Job = "b11-bench"
	// b11Port is where rank 1 and the plain-TCP baseline listen.
	b11Port = 5201
	// b11RawProto is the baseline's raw libp2p stream protocol.
	b11RawProto = "/gpumesh/bench/raw/1"
	// b11Chunk is each write of a bulk transfer.
	b11Chunk = 64 << 10
	// b11Warm is the ping round trips left out of the figures at first.
	b11Warm = 50
)

// init keeps the main goroutine on the process's first thread, so that no
// nsThread is that thread: the provider's namespace is read from
// /proc/<pid>/ns/net, which is the first thread's.
func init() { runtime.LockOSThread() }

// benchOverlay is B11: two providers on loopback (our network layer, the
// test profile's transports), each with its job-network service; rank 0
// and rank 1 live in network namespaces of their own (an OS thread each,
// unshared, whose sockets stay in it) with their TUN devices, so the
// overlay is their only path. Each round sends mib MiB one way and times
// pings 1-byte round trips, over the overlay (TCP between the ranks), over
// a raw libp2p stream between the same two hosts, and over plain TCP on
// 127.0.0.1, taking turns; CPU is the whole process's during each
// transfer. Figures are medians over rounds; the throughput ratio is the
// median of the rounds' ratios.
func benchOverlay(mib, pings, rounds int) Result {
	res := Result{ID: "B11", Name: "job network: overlay vs raw libp2p stream vs loopback TCP", Unit: "MB/s, ms, CPU s/GB",
		Params: map[string]any{"mib": mib, "pings": pings, "rounds": rounds, "transport": "TCP+noise+yamux (test profile)"},
		Target: "throughput >= 50 % of the raw stream; added round trip <= 0.3 ms", Figures: map[string]float64{}, Baseline: map[string]float64{}}
	if err := overlay.Supported(); err != nil {
		res.Skipped = err.Error()
		return res
	}
	tb := &benchTB{}
	defer tb.close()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	paths, err := b11Paths(ctx, tb)
	if err != nil {
		res.Skipped = err.Error()
		return res
	}
	figs := map[string][]float64{}
	for range rounds {
		for _, p := range paths {
			mbps, cpu, err := bulk(p.dial, int64(mib)<<20)
			if err != nil {
				tb.Fatalf("B11 %s bulk: %v", p.name, err)
			}
			rtts, err := pingPong(p.dial, pings)
			if err != nil {
				tb.Fatalf("B11 %s ping: %v", p.name, err)
			}
			figs[p.name+"_mbps"] = append(figs[p.name+"_mbps"], mbps)
			figs[p.name+"_cpu_s_per_gb"] = append(figs[p.name+"_cpu_s_per_gb"], cpu)
			figs[p.name+"_rtt_p50_ms"] = append(figs[p.name+"_rtt_p50_ms"], median(rtts))
			figs[p.name+"_rtt_p99_ms"] = append(figs[p.name+"_rtt_p99_ms"], quantile(rtts, 0.99))
		}
	}
	for k, v := range figs {
		if strings.HasPrefix(k, "overlay") {
			res.Figures[k] = median(v)
		} else {
			res.Baseline[k] = median(v)
		}
	}
	st, _ := paths[0].stats()
	res.Figures["overlay_packets_out"] = float64(st.PacketsOut)
	for _, d := range overlay.Drops {
		if v := st.Drops[d]; v > 0 {
			res.Figures["overlay_drops_"+string(d)] = float64(v)
		}
	}
	// The ratio is taken round by round, each round's overlay against the
	// raw stream measured beside it, then the median.
	var ratios []float64
	for i, o := range figs["overlay_mbps"] {
		ratios = append(ratios, o/figs["stream_mbps"][i])
	}
	ratio := median(ratios)
	added := res.Figures["overlay_rtt_p50_ms"] - res.Baseline["stream_rtt_p50_ms"]
	res.Figures["throughput_vs_stream"] = ratio
	res.Figures["added_rtt_p50_ms"] = added
	res.Verdict = map[bool]string{true: "met", false: "missed"}[ratio >= 0.5 && added <= 0.3]
	return res
}

// b11Path is one way from a client to a server that sinks bulk transfers
// and echoes pings.
type b11Path struct {
	name  string
	dial  func() (io.ReadWriteCloser, error)
	stats func() (overlay.Stats, bool)
}

// b11Paths starts the two providers and the three paths' servers; the
// overlay's path comes first.
func b11Paths(ctx context.Context, tb *benchTB) ([]b11Path, error) {
	hosts := make([]host.Host, 2)
	svcs := make([]*overlay.Service, 2)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := range hosts {
		cfg, err := config.ForProfile("test")
		if err != nil {
			return nil, err
		}
		key, _, err := crypto.GenerateEd25519Key(crand.Reader)
		if err != nil {
			return nil, err
		}
		nw, err := p2p.New(cfg.P2P, key, "bench-b11", quiet)
		if err != nil {
			return nil, err
		}
		if err := nw.Start(ctx); err != nil {
			return nil, err
		}
		tb.Cleanup(func() { _ = nw.Close() })
		hosts[i] = nw.Host()
		svcs[i] = overlay.New(hosts[i], quiet)
		svcs[i].Start(ctx)
		tb.Cleanup(func() { _ = svcs[i].Close() })
	}
	if err := connectHosts(ctx, hosts[0], hosts[1]); err != nil {
		return nil, err
	}
	members := []peer.ID{hosts[0].ID(), hosts[1].ID()}
	ranks := make([]*nsThread, 2)
	for i, s := range svcs {
		n, err := s.Join(b11Job, members)
		if err != nil {
			return nil, err
		}
		tb.Cleanup(func() { _ = n.Close() })
		t, err := newNSThread()
		if err != nil {
			return nil, fmt.Errorf("namespace of rank %d: %w", i, err)
		}
		tb.Cleanup(t.close)
		if err := n.AttachProcess(i, t.tid); err != nil {
			return nil, fmt.Errorf("attach rank %d: %w", i, err)
		}
		ranks[i] = t
	}
	a1, _ := overlay.Addr(b11Job, 1)
	var ln net.Listener
	var err error
	ranks[1].run(func() { ln, err = net.Listen("tcp", netip.AddrPortFrom(a1, b11Port).String()) })
	if err != nil {
		return nil, fmt.Errorf("listen in rank 1's namespace: %w", err)
	}
	tb.Cleanup(func() { _ = ln.Close() })
	go acceptLoop(ln)
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tb.Cleanup(func() { _ = plain.Close() })
	go acceptLoop(plain)
	hosts[1].SetStreamHandler(b11RawProto, func(s network.Stream) { serveB11(s); _ = s.Close() })
	return []b11Path{
		{name: "overlay", stats: func() (overlay.Stats, bool) { return svcs[0].Stats(b11Job) }, dial: func() (io.ReadWriteCloser, error) {
			var c net.Conn
			var err error
			ranks[0].run(func() { c, err = net.DialTimeout("tcp", netip.AddrPortFrom(a1, b11Port).String(), 10*time.Second) })
			return c, err
		}},
		{name: "stream", dial: func() (io.ReadWriteCloser, error) {
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			return hosts[0].NewStream(dctx, hosts[1].ID(), b11RawProto)
		}},
		{name: "tcp", dial: func() (io.ReadWriteCloser, error) {
			return net.DialTimeout("tcp", plain.Addr().String(), 10*time.Second)
		}},
	}, nil
}

// acceptLoop serves every connection ln accepts, until it is closed.
func acceptLoop(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() { serveB11(c); _ = c.Close() }()
	}
}

// serveB11 serves one connection: a first byte 'b' starts a bulk transfer
// (an 8-byte length, that many bytes, answered with one byte once all
// arrived), 'p' a ping-pong (every byte echoed until the end).
func serveB11(rw io.ReadWriter) {
	var kind [1]byte
	if _, err := io.ReadFull(rw, kind[:]); err != nil {
		return
	}
	switch kind[0] {
	case 'b':
		var n [8]byte
		if _, err := io.ReadFull(rw, n[:]); err != nil {
			return
		}
		if _, err := io.CopyN(io.Discard, rw, int64(binary.BigEndian.Uint64(n[:]))); err != nil {
			return
		}
		_, _ = rw.Write([]byte{1})
	case 'p':
		var b [1]byte
		for {
			if _, err := io.ReadFull(rw, b[:]); err != nil {
				return
			}
			if _, err := rw.Write(b[:]); err != nil {
				return
			}
		}
	}
}

// bulk sends size bytes over a new connection and returns the rate in
// MB/s from the first write to the receiver's answer, and the process's
// CPU seconds per GB over that time.
func bulk(dial func() (io.ReadWriteCloser, error), size int64) (float64, float64, error) {
	c, err := dial()
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	buf := make([]byte, b11Chunk)
	start, cpu := time.Now(), processCPU()
	hdr := append([]byte{'b'}, binary.BigEndian.AppendUint64(nil, uint64(size))...)
	if _, err := c.Write(hdr); err != nil {
		return 0, 0, err
	}
	for left := size; left > 0; {
		k := min(left, int64(len(buf)))
		if _, err := c.Write(buf[:k]); err != nil {
			return 0, 0, err
		}
		left -= k
	}
	var ack [1]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		return 0, 0, fmt.Errorf("await the receiver: %w", err)
	}
	took, used := time.Since(start), processCPU()-cpu
	return float64(size) / took.Seconds() / 1e6, used.Seconds() / (float64(size) / 1e9), nil
}

// pingPong times n one-byte round trips over a new connection, after
// b11Warm untimed ones, in ms.
func pingPong(dial func() (io.ReadWriteCloser, error), n int) ([]float64, error) {
	c, err := dial()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.Write([]byte{'p'}); err != nil {
		return nil, err
	}
	rtts := make([]float64, 0, n)
	b := []byte{7}
	for i := range n + b11Warm {
		start := time.Now()
		if _, err := c.Write(b); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(c, b); err != nil {
			return nil, err
		}
		if i >= b11Warm {
			rtts = append(rtts, ms(time.Since(start)))
		}
	}
	return rtts, nil
}

// nsThread is an OS thread in a network namespace of its own, standing in
// for a rank's process: sockets created on it (run) live in that
// namespace, and its thread ID names the namespace to MoveInto.
type nsThread struct {
	tid  int
	do   chan func()
	quit chan struct{}
}

// newNSThread starts a thread in a new network namespace.
func newNSThread() (*nsThread, error) {
	t := &nsThread{do: make(chan func()), quit: make(chan struct{})}
	errc := make(chan error, 1)
	go func() { // ends at close; its thread, never unlocked, ends with it
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		t.tid = unix.Gettid()
		errc <- nil
		for {
			select {
			case f := <-t.do:
				f()
			case <-t.quit:
				return
			}
		}
	}()
	if err := <-errc; err != nil {
		return nil, errors.Join(overlay.ErrUnsupported, err)
	}
	return t, nil
}

// run runs f on the thread and waits for it.
func (t *nsThread) run(f func()) {
	done := make(chan struct{})
	t.do <- func() { f(); close(done) }
	<-done
}

// close ends the thread.
func (t *nsThread) close() { close(t.quit) }
