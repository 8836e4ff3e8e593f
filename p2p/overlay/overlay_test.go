package overlay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/p2p/frame"
)

const testJob = "0123456789abcdef0123456789abcdef"

// memPort is a rank in memory: send is what the rank sends, got what the
// network delivered to it.
type memPort struct {
	send   chan []byte
	got    chan []byte
	closed chan struct{}
	once   sync.Once
}

func newMemPort() *memPort {
	return &memPort{send: make(chan []byte, 16), got: make(chan []byte, 16), closed: make(chan struct{})}
}

func (p *memPort) Read(b []byte) (int, error) {
	select {
	case pkt := <-p.send:
		return copy(b, pkt), nil
	case <-p.closed:
		return 0, io.EOF
	}
}

func (p *memPort) Write(b []byte) (int, error) {
	select {
	case p.got <- append([]byte(nil), b...):
		return len(b), nil
	case <-p.closed:
		return 0, io.ErrClosedPipe
	}
}

func (p *memPort) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

// receive returns the next packet delivered to p, failing the test if
// none comes within a generous deadline.
func (p *memPort) receive(t *testing.T) []byte {
	t.Helper()
	select {
	case b := <-p.got:
		return b
	case <-time.After(20 * time.Second):
		t.Fatal("no packet delivered")
		return nil
	}
}

// provider is a libp2p host on loopback with its overlay service.
type provider struct {
	h   host.Host
	svc *Service
}

// withJoinWait sets how long a stream for a job not joined yet waits for
// it; none, by default, in these tests.
func withJoinWait(d time.Duration) Option { return func(s *Service) { s.joinWait = d } }

// violations records the peers charged for protocol violations.
type violations struct {
	mu  sync.Mutex
	got []string // "peer reason"
}

func (v *violations) record(p peer.ID, d Drop) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.got = append(v.got, p.String()+" "+string(d))
}

func (v *violations) list() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.got...)
}

// newProvider starts a provider with opts; a stream for a job not joined
// yet is refused at once unless withJoinWait says otherwise.
func newProvider(t *testing.T, opts ...Option) provider {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	svc := New(h, nil, append([]Option{withJoinWait(0)}, opts...)...)
	ctx, cancel := context.WithCancel(context.Background())
	svc.Start(ctx)
	t.Cleanup(func() {
		cancel()
		_ = svc.Close()
		_ = h.Close()
	})
	return provider{h, svc}
}

// meet tells every provider where the others listen.
func meet(ps ...provider) {
	for _, a := range ps {
		for _, b := range ps {
			if a.h.ID() != b.h.ID() {
				a.h.Peerstore().AddAddrs(b.h.ID(), b.h.Addrs(), time.Hour)
			}
		}
	}
}

func ids(ps ...provider) []peer.ID {
	out := make([]peer.ID, len(ps))
	for i, p := range ps {
		out[i] = p.h.ID()
	}
	return out
}

func addr6(t *testing.T, rank int) netip.Addr {
	t.Helper()
	a, err := Addr6(testJob, rank)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func addr(t *testing.T, rank int) netip.Addr {
	t.Helper()
	a, err := Addr(testJob, rank)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// cluster joins testJob on each provider (rank i on ps[i]) with a memory
// port per rank.
func cluster(t *testing.T, ps ...provider) ([]*Net, []*memPort) {
	t.Helper()
	meet(ps...)
	nets, ports := make([]*Net, len(ps)), make([]*memPort, len(ps))
	for i, p := range ps {
		n, err := p.svc.Join(testJob, ids(ps...))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = n.Close() })
		ports[i] = newMemPort()
		if err := n.Attach(i, ports[i]); err != nil {
			t.Fatal(err)
		}
		nets[i] = n
	}
	return nets, ports
}

// waitStats waits until cond holds of n's counters.
func waitStats(t *testing.T, n *Net, what string, cond func(Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond(n.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: stats are %+v", what, n.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPacketsFlowBetweenRanks(t *testing.T) {
	a, b, c := newProvider(t), newProvider(t), newProvider(t)
	nets, ports := cluster(t, a, b, c)
	for _, to := range []int{1, 2} {
		want := packet(addr(t, 0), addr(t, to), []byte("all_reduce"))
		ports[0].send <- want
		if got := ports[to].receive(t); !bytes.Equal(got, want) {
			t.Errorf("rank %d got %x, want %x", to, got, want)
		}
	}
	want6 := packet(addr6(t, 0), addr6(t, 1), []byte("all_reduce over IPv6"))
	ports[0].send <- want6
	if got := ports[1].receive(t); !bytes.Equal(got, want6) {
		t.Errorf("rank 1 got %x, want %x", got, want6)
	}
	reply := packet(addr(t, 2), addr(t, 0), []byte("ack"))
	ports[2].send <- reply
	if got := ports[0].receive(t); !bytes.Equal(got, reply) {
		t.Errorf("rank 0 got %x, want %x", got, reply)
	}
	if s := nets[0].Stats(); s.PacketsOut != 3 || s.PacketsIn != 1 || len(s.Drops) != 0 {
		t.Errorf("rank 0's stats %+v, want 3 out, 1 in, no drops", s)
	}
	if s := nets[2].Stats(); s.PacketsIn != 1 || s.BytesIn != uint64(len(packet(addr(t, 0), addr(t, 2), []byte("all_reduce")))) {
		t.Errorf("rank 2's stats %+v, want 1 packet in", s)
	}
}

func TestLocalRankDropsSpoofedAndForeign(t *testing.T) {
	a, b := newProvider(t), newProvider(t)
	nets, ports := cluster(t, a, b)
	ports[0].send <- packet(addr(t, 1), addr(t, 1), []byte("spoof"))                             // rank 1's address
	ports[0].send <- packet(addr(t, 0), netip.MustParseAddr("192.168.1.10"), nil)                // off the job's subnet
	ports[0].send <- packet(addr(t, 0), addr(t, 7), nil)                                         // no such rank
	ports[0].send <- packet(netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::2"), nil) // the kernel's router solicitation
	ports[0].send <- packet(addr6(t, 0), netip.MustParseAddr("ff02::16"), nil)                   // a multicast listener report
	ports[0].send <- packet(addr6(t, 1), addr6(t, 0), nil)                                       // rank 1's IPv6 address
	ports[0].send <- packet(addr6(t, 0), netip.MustParseAddr("fd00::1"), nil)                    // off the job's IPv6 subnet
	ports[0].send <- []byte{0x60, 0, 0, 0}                                                       // IPv6, cut short
	ports[0].send <- []byte{0x45, 0, 0}                                                          // cut short
	waitStats(t, nets[0], "ten drops", func(s Stats) bool {
		return s.Drops[DropSpoofed] == 2 && s.Drops[DropOtherJob] == 2 && s.Drops[DropNoRoute] == 1 &&
			s.Drops[DropLinkLocal] == 2 && s.Drops[DropMalformed] == 2
	})
	if s := nets[0].Stats(); s.PacketsOut != 0 {
		t.Errorf("%d packets went out, want none", s.PacketsOut)
	}
}

// rawStream opens a stream from p to q for job and writes its hello.
func rawStream(t *testing.T, p, q provider, job string) io.Writer {
	t.Helper()
	p.h.Peerstore().AddAddrs(q.h.ID(), q.h.Addrs(), time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := p.h.NewStream(ctx, q.h.ID(), Protocol)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Reset() })
	if err := frame.Write(st, encodeHello(job)); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestPeerDropsBadSenders(t *testing.T) {
	var charged violations
	a, b, c := newProvider(t, WithViolations(charged.record)), newProvider(t), newProvider(t)
	nets, ports := cluster(t, a, b, c)

	stranger := newProvider(t) // holds no rank
	w := rawStream(t, stranger, a, testJob)
	_ = frame.Write(w, packet(addr(t, 1), addr(t, 0), []byte("let me in")))
	waitStats(t, nets[0], "non-member's stream dropped", func(s Stats) bool { return s.Drops[DropNotMember] == 1 })

	// b holds rank 1 only: a packet from rank 2's address is spoofed.
	w = rawStream(t, b, a, testJob)
	_ = frame.Write(w, packet(addr(t, 2), addr(t, 0), []byte("i am c")))
	_ = frame.Write(w, packet(addr(t, 1), netip.MustParseAddr("10.0.0.1"), nil))
	_ = frame.Write(w, packet(addr(t, 1), addr(t, 2), []byte("not served by a")))
	_ = frame.Write(w, []byte("\x45 short"))
	_ = frame.Write(w, packet(addr6(t, 2), addr6(t, 0), []byte("i am c, over IPv6")))
	waitStats(t, nets[0], "member's bad packets dropped", func(s Stats) bool {
		return s.Drops[DropSpoofed] == 2 && s.Drops[DropOtherJob] == 1 && s.Drops[DropNoRoute] == 1 && s.Drops[DropMalformed] == 1
	})
	// The stream still carries good packets after the bad ones.
	good := packet(addr(t, 1), addr(t, 0), []byte("fine"))
	_ = frame.Write(w, good)
	if got := ports[0].receive(t); !bytes.Equal(got, good) {
		t.Errorf("rank 0 got %x, want %x", got, good)
	}
	good6 := packet(addr6(t, 1), addr6(t, 0), []byte("fine over IPv6"))
	_ = frame.Write(w, good6)
	if got := ports[0].receive(t); !bytes.Equal(got, good6) {
		t.Errorf("rank 0 got %x, want %x", got, good6)
	}

	// An oversized frame ends the stream.
	_ = frame.Write(w, make([]byte, MTU+1))
	waitStats(t, nets[0], "oversized frame dropped", func(s Stats) bool { return s.Drops[DropMalformed] == 2 })

	// Each bad stream charged its sender once: the stranger for sending
	// into a job it is not a member of, b for its first spoofed packet.
	want := []string{stranger.h.ID().String() + " " + string(DropNotMember), b.h.ID().String() + " " + string(DropSpoofed)}
	if got := charged.list(); !slices.Equal(got, want) {
		t.Errorf("charged %q, want %q", got, want)
	}

	// A stream for a job with no network here is refused.
	before := a.svc.UnknownStreams()
	_ = rawStream(t, b, a, "another-job")
	deadline := time.Now().Add(20 * time.Second)
	for a.svc.UnknownStreams() == before {
		if time.Now().After(deadline) {
			t.Fatal("stream for an unknown job not refused")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReplacementTakesOverTheRank(t *testing.T) {
	a, b, c, d := newProvider(t), newProvider(t), newProvider(t), newProvider(t)
	nets, ports := cluster(t, a, b, c)
	meet(a, b, c, d)
	// c fails; d takes rank 2 with the updated member list.
	members := ids(a, b, d)
	for _, n := range nets[:2] {
		if err := n.SetMember(2, d.h.ID()); err != nil {
			t.Fatal(err)
		}
	}
	_ = nets[2].Close()
	nd, err := d.svc.Join(testJob, members)
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Close()
	pd := newMemPort()
	if err := nd.Attach(2, pd); err != nil {
		t.Fatal(err)
	}
	want := packet(addr(t, 0), addr(t, 2), []byte("to the replacement"))
	ports[0].send <- want
	if got := pd.receive(t); !bytes.Equal(got, want) {
		t.Errorf("replacement got %x, want %x", got, want)
	}
	// c, no longer a member, is refused.
	w := rawStream(t, c, a, testJob)
	_ = frame.Write(w, packet(addr(t, 2), addr(t, 0), []byte("still me")))
	waitStats(t, nets[0], "old member refused", func(s Stats) bool { return s.Drops[DropNotMember] == 1 })
	if err := nets[0].Attach(1, newMemPort()); !errors.Is(err, ErrNotLocal) {
		t.Errorf("attach of b's rank on a: %v, want ErrNotLocal", err)
	}
}

func TestCloseTearsDown(t *testing.T) {
	a, b := newProvider(t), newProvider(t)
	nets, ports := cluster(t, a, b)
	if err := nets[0].Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.svc.Stats(testJob); ok {
		t.Error("closed network still listed")
	}
	select {
	case <-ports[0].closed:
	default:
		t.Error("port of a closed network left open")
	}
	if _, err := a.svc.Join(testJob, ids(a, b)); err != nil {
		t.Errorf("join after close: %v", err)
	}
	if _, err := a.svc.Join(testJob, ids(a, b)); !errors.Is(err, ErrJoined) {
		t.Errorf("second join: %v, want ErrJoined", err)
	}
}

func TestStreamWaitsForItsJob(t *testing.T) {
	a, b := newProvider(t), newProvider(t, withJoinWait(time.Minute)) // b's part of the run starts late
	meet(a, b)
	na, err := a.svc.Join(testJob, ids(a, b))
	if err != nil {
		t.Fatal(err)
	}
	defer na.Close()
	pa := newMemPort()
	if err := na.Attach(0, pa); err != nil {
		t.Fatal(err)
	}
	pa.send <- packet(addr(t, 0), addr(t, 1), []byte("early"))
	waitStats(t, na, "early packet sent", func(s Stats) bool { return s.PacketsOut == 1 })
	nb, err := b.svc.Join(testJob, ids(a, b))
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	pb := newMemPort()
	if err := nb.Attach(1, pb); err != nil {
		t.Fatal(err)
	}
	want := packet(addr(t, 0), addr(t, 1), []byte("late"))
	pa.send <- want
	for got := pb.receive(t); !bytes.Equal(got, want); got = pb.receive(t) {
		// the early packet, if it came after the rank attached
	}
	if n := b.svc.UnknownStreams(); n != 0 {
		t.Errorf("%d streams refused as unknown, want 0: the stream should wait for its job", n)
	}
	if s := na.Stats(); s.Drops[DropSendFailed] != 0 {
		t.Errorf("a's stats %+v: want no send failures", s)
	}
}
