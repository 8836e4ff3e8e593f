package overlay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/p2p/frame"
)

// Timeouts and bounds of the streams.
const (
	// helloTimeout bounds the wait for a new stream's hello.
	helloTimeout = 10 * time.Second
	// joinWait is how long a stream naming a job with no network here
	// waits for it: the members' providers start their parts of a run
	// moments apart, and a rank's first packets may come before its
	// provider joined.
	joinWait = 5 * time.Second
	// idleTimeout ends a stream that carried nothing for this long; its
	// sender opens a new one with its next packet.
	idleTimeout = 5 * time.Minute
	// openTimeout bounds the opening of a stream to a member.
	openTimeout = 10 * time.Second
	// writeTimeout bounds each write of packets to a stream.
	writeTimeout = 10 * time.Second
	// queueLen is the most packets waiting for one peer's stream.
	queueLen = 512
	// queueBytes is the most bytes of packets waiting for one peer's
	// stream.
	queueBytes = 4 << 20
	// queueWait is how long a rank's packet waits for room in a full
	// queue before it is dropped (DropQueueFull). While it waits, the
	// rank's port is not read, so the kernel queues on the rank's
	// interface and TCP in the rank slows down rather than loses packets.
	queueWait = 100 * time.Millisecond
	// readBuffer is an inbound stream's read buffer.
	readBuffer = 64 << 10
	// streamMemory is what an inbound stream reserves in its resource
	// scope: its read buffer and one packet.
	streamMemory = readBuffer + MTU + 8
	// sendBuffer is an outbound stream's write buffer, which it reserves
	// in its resource scope: packets are flushed when none waits.
	sendBuffer = 64 << 10
)

// Errors of Join, Attach and SetMember.
var (
	// ErrClosed: the service or the job's network is closed.
	ErrClosed = errors.New("overlay closed")
	// ErrJoined: the job already has a network on this provider.
	ErrJoined = errors.New("job network already joined")
	// ErrNotLocal: a rank attached here that the member list gives to
	// another peer.
	ErrNotLocal = errors.New("rank not served by this provider")
	// ErrUnsupported: job networks cannot run on this system (not Linux,
	// no /dev/net/tun, or not allowed to create namespaces and devices).
	ErrUnsupported = errors.New("job networks are not supported here")
)

// Port is one local rank's side of a job's network: Read returns one IP
// packet the rank sent, Write delivers one to it, and Close ends a Read
// in progress. A TUN device's file is one.
type Port = io.ReadWriteCloser

// Service is a provider's side of every job network it serves: it
// accepts the streams of Protocol and hands each to its job's Net. Create
// it with New, Start it, Close it.
type Service struct {
	h   host.Host
	log *slog.Logger

	handlers  sync.WaitGroup // inbound stream handlers
	unknown   atomic.Uint64  // streams naming a job with no network here
	joinWait  time.Duration  // see joinWait
	violation func(peer.ID, Drop)
	egress    bool // WithEgress

	mu     sync.Mutex
	nets   map[string]*Net
	joined chan struct{} // closed, and replaced, at every Join and at Close
	closed bool
}

// Option changes a Service that New makes.
type Option func(*Service)

// WithViolations has f called, at most once per stream, with a peer that
// broke the protocol on it and how: a stream into a job it is not a
// member of (DropNotMember), a packet posing as another rank
// (DropSpoofed), a frame over the MTU or not an IP packet
// (DropMalformed). The node charges the peer's reputation. f must not
// block.
func WithViolations(f func(p peer.ID, how Drop)) Option {
	return func(s *Service) { s.violation = f }
}

// New returns a service for h that has not started.
func New(h host.Host, log *slog.Logger, opts ...Option) *Service {
	if log == nil {
		log = slog.Default()
	}
	s := &Service{h: h, log: log, nets: map[string]*Net{}, joined: make(chan struct{}), joinWait: joinWait,
		violation: func(peer.ID, Drop) {}}
	for _, o := range opts {
		o(s)
	}
	if s.violation == nil {
		s.violation = func(peer.ID, Drop) {}
	}
	return s
}

// Start registers the stream handler; the service closes when ctx ends.
func (s *Service) Start(ctx context.Context) {
	s.h.SetStreamHandler(Protocol, s.handle)
	context.AfterFunc(ctx, func() { _ = s.Close() })
}

// Close removes the handler, closes every job's network and waits for
// their streams' handlers. It is safe to call more than once.
func (s *Service) Close() error {
	s.h.RemoveStreamHandler(Protocol)
	s.mu.Lock()
	if !s.closed {
		close(s.joined) // wakes the streams waiting for a job
	}
	s.closed = true
	nets := make([]*Net, 0, len(s.nets))
	for _, n := range s.nets {
		nets = append(nets, n)
	}
	s.mu.Unlock()
	for _, n := range nets {
		_ = n.Close()
	}
	s.handlers.Wait()
	return nil
}

// UnknownStreams counts the streams refused because they named a job
// with no network on this provider.
func (s *Service) UnknownStreams() uint64 { return s.unknown.Load() }

// Stats returns the counters of job's network on this provider, and
// false when it has none.
func (s *Service) Stats(job string) (Stats, bool) {
	n := s.lookup(job)
	if n == nil {
		return Stats{}, false
	}
	return n.Stats(), true
}

// All returns the counters of every job network on this provider, by
// job.
func (s *Service) All() map[string]Stats {
	s.mu.Lock()
	nets := make([]*Net, 0, len(s.nets))
	for _, n := range s.nets {
		nets = append(nets, n)
	}
	s.mu.Unlock()
	out := make(map[string]Stats, len(nets))
	for _, n := range nets {
		out[n.job] = n.Stats()
	}
	return out
}

// Join creates job's network on this provider with its member list:
// members[r] is the peer that runs rank r. Close the Net when the job's
// work here ends.
func (s *Service) Join(job string, members []peer.ID) (*Net, error) {
	if err := checkJobID(job); err != nil {
		return nil, fmt.Errorf("join job network: %w", err)
	}
	if len(members) == 0 || len(members) > MaxRanks {
		return nil, fmt.Errorf("join job network %s: %w: %d members, want 1 to %d", job, ErrRank, len(members), MaxRanks)
	}
	n := &Net{svc: s, job: job, prefix: Subnet(job), prefix6: Subnet6(job), members: append([]peer.ID(nil), members...),
		ports: map[int]Port{}, senders: map[peer.ID]*sender{}, inbound: map[network.Stream]peer.ID{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil, fmt.Errorf("join job network %s: %w", job, ErrClosed)
	case s.nets[job] != nil:
		return nil, fmt.Errorf("join job network %s: %w", job, ErrJoined)
	}
	s.nets[job] = n
	close(s.joined)
	s.joined = make(chan struct{})
	s.log.Debug("job network joined", "job", job, "subnet", n.prefix.String(), "members", len(members))
	return n, nil
}

// lookup returns job's network, or nil.
func (s *Service) lookup(job string) *Net {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nets[job]
}

// await returns job's network, waiting up to joinWait for it to be
// joined; nil if it is not by then, or the service closed.
func (s *Service) await(job string) *Net {
	t := time.NewTimer(s.joinWait)
	defer t.Stop()
	for {
		s.mu.Lock()
		n, joined, closed := s.nets[job], s.joined, s.closed
		s.mu.Unlock()
		if n != nil || closed {
			return n
		}
		select {
		case <-joined:
		case <-t.C:
			return nil
		}
	}
}

// leave forgets n, once it is closed.
func (s *Service) leave(n *Net) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nets[n.job] == n {
		delete(s.nets, n.job)
	}
}

// handle serves one inbound stream: its hello names the job, whose
// member list decides whether the sender may send into it; then every
// frame is a packet for one of the job's local ranks.
func (s *Service) handle(st network.Stream) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = st.Reset()
		return
	}
	s.handlers.Add(1)
	s.mu.Unlock()
	defer s.handlers.Done()
	if err := st.Scope().ReserveMemory(streamMemory, network.ReservationPriorityMedium); err != nil {
		s.log.Debug("overlay stream refused: no memory", "peer", st.Conn().RemotePeer(), "err", err)
		_ = st.Reset()
		return
	}
	defer st.Scope().ReleaseMemory(streamMemory)
	r := bufio.NewReaderSize(st, readBuffer)
	_ = st.SetReadDeadline(time.Now().Add(helloTimeout))
	remote := st.Conn().RemotePeer()
	job, err := readHello(r)
	if err != nil {
		s.log.Debug("overlay stream refused", "peer", remote, "err", err)
		_ = st.Reset()
		return
	}
	n := s.await(job)
	if n == nil {
		s.unknown.Add(1)
		s.log.Debug("overlay stream refused: no such job network here", "peer", remote, "job", job)
		_ = st.Reset()
		return
	}
	n.serveInbound(st, r, remote)
}

// readHello reads and decodes a stream's hello.
func readHello(r *bufio.Reader) (string, error) {
	b, err := frame.Read(r, maxHelloBytes)
	if err != nil {
		return "", fmt.Errorf("read overlay hello: %w", err)
	}
	return decodeHello(b)
}

// Net is one job's network on this provider: its member list, the local
// ranks' ports, a sender per remote member and the inbound streams.
type Net struct {
	svc     *Service
	job     string
	prefix  netip.Prefix // IPv4
	prefix6 netip.Prefix // IPv6
	stats   counters
	wg      sync.WaitGroup // port readers and senders

	mu      sync.Mutex
	members []peer.ID                  // by rank
	ports   map[int]Port               // local ranks
	senders map[peer.ID]*sender        // by remote member
	inbound map[network.Stream]peer.ID // streams being read, by sender
	egress  map[int]*Egress            // local ranks' (WithEgress)
	closed  bool
}

// Job is the job's ID.
func (n *Net) Job() string { return n.job }

// Prefix is the job's subnet.
func (n *Net) Prefix() netip.Prefix { return n.prefix }

// Addr is rank's address.
func (n *Net) Addr(rank int) (netip.Addr, error) { return addrIn(n.prefix, rank) }

// Prefix6 is the job's IPv6 subnet.
func (n *Net) Prefix6() netip.Prefix { return n.prefix6 }

// Addr6 is rank's IPv6 address.
func (n *Net) Addr6(rank int) (netip.Addr, error) { return addrIn(n.prefix6, rank) }

// subnetOf is the job's subnet of a's family.
func (n *Net) subnetOf(a netip.Addr) netip.Prefix {
	if a.Is6() {
		return n.prefix6
	}
	return n.prefix
}

// Stats returns the network's counters.
func (n *Net) Stats() Stats { return n.stats.snapshot() }

// Members returns the member list, by rank.
func (n *Net) Members() []peer.ID {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]peer.ID(nil), n.members...)
}

// Attach gives local rank its port: packets it reads from p go to their
// ranks, packets for rank are written to p. The network owns p from then
// on and closes it at Close (or when its Read fails: the rank's device is
// gone).
func (n *Net) Attach(rank int, p Port) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.closed:
		return fmt.Errorf("attach rank %d of job %s: %w", rank, n.job, ErrClosed)
	case rank < 0 || rank >= len(n.members):
		return fmt.Errorf("attach rank %d of job %s: %w: world of %d", rank, n.job, ErrRank, len(n.members))
	case n.members[rank] != n.svc.h.ID():
		return fmt.Errorf("attach rank %d of job %s: %w: it is %s's", rank, n.job, ErrNotLocal, n.members[rank])
	case n.ports[rank] != nil:
		return fmt.Errorf("attach rank %d of job %s: already attached", rank, n.job)
	}
	n.ports[rank] = p
	n.wg.Go(func() { n.readPort(rank, p) })
	return nil
}

// SetMember gives rank to p, as a replacement after a failover does: p's
// packets from rank's address are accepted from then on, the old
// member's no longer, and packets for rank go to p.
func (n *Net) SetMember(rank int, p peer.ID) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return fmt.Errorf("set member of job %s: %w", n.job, ErrClosed)
	}
	if rank < 0 || rank >= len(n.members) {
		return fmt.Errorf("set member of job %s: %w: rank %d in a world of %d", n.job, ErrRank, rank, len(n.members))
	}
	old := n.members[rank]
	n.members[rank] = p
	if port := n.ports[rank]; port != nil && p != n.svc.h.ID() { // the rank moved away from here
		delete(n.ports, rank)
		_ = port.Close()
	}
	if old == p || n.holdsLocked(old) {
		return nil
	}
	if s := n.senders[old]; s != nil {
		delete(n.senders, old)
		s.close()
	}
	for st, from := range n.inbound {
		if from == old {
			_ = st.Reset()
		}
	}
	return nil
}

// Close tears the job's network down on this provider: it closes the
// ports, stops the senders, resets the inbound streams and waits for them
// all. It is safe to call more than once.
func (n *Net) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	for r, p := range n.ports {
		_ = p.Close()
		delete(n.ports, r)
	}
	for id, s := range n.senders {
		s.close()
		delete(n.senders, id)
	}
	for st := range n.inbound {
		_ = st.Reset()
	}
	n.mu.Unlock()
	n.dropAllEgress()
	n.svc.leave(n)
	n.wg.Wait()
	n.svc.log.Debug("job network closed", "job", n.job)
	return nil
}

// holdsLocked says whether p holds a rank; n.mu is held.
func (n *Net) holdsLocked(p peer.ID) bool {
	for _, m := range n.members {
		if m == p {
			return true
		}
	}
	return false
}

// readPort forwards the packets local rank sends until its port fails.
func (n *Net) readPort(rank int, p Port) {
	defer func() {
		n.mu.Lock()
		if n.ports[rank] == p {
			delete(n.ports, rank)
		}
		n.mu.Unlock()
		_ = p.Close()
	}()
	src, _ := addrIn(n.prefix, rank)
	src6, _ := addrIn(n.prefix6, rank)
	buf := getBuffer()
	for {
		k, err := p.Read(buf)
		if err != nil {
			putBuffer(buf)
			return
		}
		if n.fromRank(src, src6, buf[:k]) {
			buf = getBuffer()
		}
	}
}

// Packet buffers: a rank's port is read into a buffer of portBuffer
// bytes (a TUN read shorter than the packet would cut it). A packet of at
// least bigPacket bytes is queued in that buffer, which its sender puts
// back in the pool once written; a smaller one is copied, so a queue of
// small packets does not hold 64 KiB each.
const (
	portBuffer = 1 << 16
	bigPacket  = 4 << 10
)

// buffers holds packet buffers of portBuffer bytes.
var buffers = sync.Pool{New: func() any { b := make([]byte, portBuffer); return &b }}

func getBuffer() []byte { return *buffers.Get().(*[]byte) }

// putBuffer returns b to the pool if it is one of the pool's.
func putBuffer(b []byte) {
	if cap(b) == portBuffer {
		b = b[:portBuffer]
		buffers.Put(&b)
	}
}

// fromRank routes one packet a local rank whose addresses are src and
// src6 sent. It returns whether it kept pkt's buffer (queued it whole);
// if not, the caller may reuse it.
func (n *Net) fromRank(src, src6 netip.Addr, pkt []byte) (kept bool) {
	h, err := parsePacket(pkt)
	if h.dst.Is6() {
		src = src6
	}
	switch {
	case err != nil:
		n.stats.drop(dropOf(err))
		return false
	case h.kernelLocal():
		n.stats.drop(DropLinkLocal)
		return false
	case h.src != src:
		n.stats.drop(DropSpoofed)
		return false
	case !n.subnetOf(h.dst).Contains(h.dst):
		n.stats.drop(DropOtherJob)
		return false
	}
	d, ok := rankOf(n.subnetOf(h.dst), h.dst)
	n.mu.Lock()
	if !ok || d >= len(n.members) || n.closed {
		n.mu.Unlock()
		n.stats.drop(DropNoRoute)
		return false
	}
	port, to := n.ports[d], n.members[d]
	if port == nil && to == n.svc.h.ID() { // a rank of this provider's not attached (yet, or any more)
		n.mu.Unlock()
		n.stats.drop(DropNoRoute)
		return false
	}
	var s *sender
	if port == nil {
		s = n.senderLocked(to)
	}
	n.mu.Unlock()
	if port != nil { // another rank of this job served here: Write copies
		if _, err := port.Write(pkt); err != nil {
			n.stats.drop(DropSendFailed)
			return false
		}
		n.stats.out(len(pkt))
		n.stats.in(len(pkt))
		return false
	}
	q := pkt
	if len(pkt) < bigPacket {
		q = append([]byte(nil), pkt...)
	}
	if !s.enqueue(q, queueWait) {
		n.stats.drop(DropQueueFull)
		return false
	}
	n.stats.out(len(pkt))
	return len(pkt) >= bigPacket
}

// serveInbound reads the packets of st, from remote, until it fails, is
// idle for idleTimeout, or the network closes.
func (n *Net) serveInbound(st network.Stream, r *bufio.Reader, remote peer.ID) {
	n.mu.Lock()
	if n.closed || !n.holdsLocked(remote) {
		closed := n.closed
		n.mu.Unlock()
		if !closed {
			n.svc.violation(remote, DropNotMember)
			n.stats.drop(DropNotMember)
			n.svc.log.Debug("overlay stream refused: not a member", "peer", remote, "job", n.job)
		}
		_ = st.Reset()
		return
	}
	n.inbound[st] = remote
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.inbound, st)
		n.mu.Unlock()
		_ = st.Reset()
	}()
	charged := false
	err := n.readPackets(r, remote, func() { _ = st.SetReadDeadline(time.Now().Add(idleTimeout)) }, func(d Drop) {
		if !charged && (d == DropSpoofed || d == DropMalformed) {
			charged = true
			n.svc.violation(remote, d)
		}
	})
	if errors.Is(err, frame.ErrTooLarge) {
		n.svc.log.Debug("overlay stream reset: oversized frame", "peer", remote, "job", n.job)
	}
}

// readPackets reads packet frames from r and delivers each as remote's
// (deliver), calling before ahead of each read and dropped with each
// packet dropped, until r fails: it returns that error. An oversized
// frame is a protocol violation: it is counted (DropMalformed) and ends
// the reading.
func (n *Net) readPackets(r *bufio.Reader, remote peer.ID, before func(), dropped func(Drop)) error {
	buf := make([]byte, MTU) // port.Write copies the packet: one buffer serves them all
	for {
		before()
		pkt, err := readFrame(r, buf)
		if errors.Is(err, frame.ErrTooLarge) {
			dropped(DropMalformed)
			n.stats.drop(DropMalformed)
		}
		if err != nil {
			return err
		}
		if d := n.deliver(remote, pkt); d != "" {
			dropped(d)
			n.stats.drop(d)
		}
	}
}

// deliver delivers one packet remote sent, if remote holds the rank of
// its source address and its destination is a rank served here; it
// returns why not (the caller counts the drop), or "".
func (n *Net) deliver(remote peer.ID, pkt []byte) Drop {
	h, err := parsePacket(pkt)
	if err != nil {
		return dropOf(err)
	}
	p := n.subnetOf(h.dst)
	if !p.Contains(h.dst) {
		return DropOtherJob
	}
	s, sok := rankOf(p, h.src)
	d, dok := rankOf(p, h.dst)
	n.mu.Lock()
	spoofed := !sok || s >= len(n.members) || n.members[s] != remote
	var port Port
	if dok {
		port = n.ports[d]
	}
	n.mu.Unlock()
	switch {
	case spoofed:
		return DropSpoofed
	case port == nil:
		return DropNoRoute
	}
	if _, err := port.Write(pkt); err != nil {
		return DropSendFailed
	}
	n.stats.in(len(pkt))
	return ""
}

// senderLocked returns p's sender, starting it if needed; n.mu is held
// and n is not closed.
func (n *Net) senderLocked(p peer.ID) *sender {
	if s := n.senders[p]; s != nil {
		return s
	}
	s := &sender{peer: p, q: make(chan []byte, queueLen), room: make(chan struct{}, 1), stop: make(chan struct{})}
	n.senders[p] = s
	n.wg.Go(func() { n.send(s) })
	return s
}

// sender is the queue of packets for one remote member and the goroutine
// that writes them to its stream.
type sender struct {
	peer  peer.ID
	q     chan []byte
	bytes atomic.Int64  // bytes of the packets' buffers in q
	room  chan struct{} // signalled when a packet leaves q
	stop  chan struct{}
	once  sync.Once
}

// enqueue queues pkt, waiting up to wait for room when the queue holds
// queueLen packets or buffers of queueBytes bytes; it returns false when there was
// none by then, or the sender stopped.
func (s *sender) enqueue(pkt []byte, wait time.Duration) bool {
	if s.put(pkt) {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-s.room:
		case <-t.C:
			return false
		case <-s.stop:
			return false
		}
		if s.put(pkt) {
			return true
		}
	}
}

// put queues pkt if there is room, without waiting.
func (s *sender) put(pkt []byte) bool {
	if s.bytes.Load()+int64(cap(pkt)) > queueBytes && len(s.q) > 0 {
		return false
	}
	select {
	case s.q <- pkt:
		s.bytes.Add(int64(cap(pkt)))
		return true
	default:
		return false
	}
}

// take is called with each packet the sender took from q.
func (s *sender) take(pkt []byte) {
	s.bytes.Add(-int64(cap(pkt)))
	select {
	case s.room <- struct{}{}:
	default:
	}
}

// close stops the sender's goroutine.
func (s *sender) close() { s.once.Do(func() { close(s.stop) }) }

// send writes s's packets to a stream to s.peer, opening one when it has
// none, until s is closed: it takes every packet waiting, writes them
// into the stream's buffer and flushes once. A batch whose write fails is
// tried once more on a new stream (the old one may have been reset by the
// other side as idle), then dropped.
func (n *Net) send(s *sender) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // ends with send: cancel or stop
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	var out *outStream
	defer func() { out.reset() }()
	batch := make([][]byte, 0, queueLen)
	for {
		batch = batch[:0]
		select {
		case <-s.stop:
			return
		case pkt := <-s.q:
			s.take(pkt)
			batch = append(batch, pkt)
		}
	drain:
		for len(batch) < cap(batch) {
			select {
			case pkt := <-s.q:
				s.take(pkt)
				batch = append(batch, pkt)
			default:
				break drain
			}
		}
		sent := false
		for try := 0; try < 2 && !sent; try++ {
			if out == nil {
				st, err := n.open(ctx, s.peer)
				if err != nil {
					n.svc.log.Debug("overlay stream not opened", "peer", s.peer, "job", n.job, "err", err)
					break
				}
				out = &outStream{st: st, w: bufio.NewWriterSize(st, sendBuffer)}
			}
			if err := out.write(batch); err != nil {
				out.reset()
				out = nil
				continue
			}
			sent = true
		}
		if !sent {
			for range batch {
				n.stats.drop(DropSendFailed)
			}
		}
		for i, pkt := range batch {
			putBuffer(pkt)
			batch[i] = nil
		}
	}
}

// outStream is a stream packets are written to, through a buffer.
type outStream struct {
	st network.Stream
	w  *bufio.Writer
}

// write writes pkts as frames and flushes them, under one deadline.
func (o *outStream) write(pkts [][]byte) error {
	_ = o.st.SetWriteDeadline(time.Now().Add(writeTimeout))
	for _, pkt := range pkts {
		if err := writeFrame(o.w, pkt); err != nil {
			return err
		}
	}
	return o.w.Flush()
}

// reset resets the stream, if there is one, and releases its memory.
func (o *outStream) reset() {
	if o != nil {
		o.st.Scope().ReleaseMemory(sendBuffer)
		_ = o.st.Reset()
	}
}

// open opens a stream to p for the job and writes its hello.
func (n *Net) open(ctx context.Context, p peer.ID) (network.Stream, error) {
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	st, err := n.svc.h.NewStream(ctx, p, Protocol)
	if err != nil {
		return nil, fmt.Errorf("open overlay stream to %s: %w", p, err)
	}
	if err := st.Scope().ReserveMemory(sendBuffer, network.ReservationPriorityMedium); err != nil {
		_ = st.Reset()
		return nil, fmt.Errorf("overlay stream to %s: no memory for its buffer: %w", p, err)
	}
	_ = st.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := frame.Write(st, encodeHello(n.job)); err != nil {
		st.Scope().ReleaseMemory(sendBuffer)
		_ = st.Reset()
		return nil, fmt.Errorf("write overlay hello to %s: %w", p, err)
	}
	_ = st.CloseRead() // nothing comes back on this stream
	return st, nil
}

// dropOf is the drop reason of parsePacket's error.
func dropOf(error) Drop { return DropMalformed }
