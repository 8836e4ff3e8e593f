package nodetest

import (
	"maps"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Meter is a libp2p bandwidth reporter (libp2p.BandwidthReporter) that
// only counts: the bytes each node's streams carry in and out, in total and
// by protocol. It counts stream payload, not QUIC headers, handshakes or
// retransmissions. libp2p's own BandwidthCounter is not used because its
// rate meters run on a process-wide sweeper goroutine that would outlive a
// synctest bubble.
type Meter struct {
	mu       sync.Mutex
	in, out  int64
	protoIn  map[protocol.ID]int64
	protoOut map[protocol.ID]int64
}

var _ metrics.Reporter = (*Meter)(nil)

// NewMeter returns an empty Meter.
func NewMeter() *Meter {
	return &Meter{protoIn: map[protocol.ID]int64{}, protoOut: map[protocol.ID]int64{}}
}

// MeterTotals is a Meter's counts at one moment.
type MeterTotals struct {
	// In and Out are the stream bytes received and sent.
	In, Out int64
	// ProtoIn and ProtoOut are In and Out by protocol.
	ProtoIn, ProtoOut map[protocol.ID]int64
}

// Totals returns the counts so far.
func (m *Meter) Totals() MeterTotals {
	m.mu.Lock()
	defer m.mu.Unlock()
	return MeterTotals{In: m.in, Out: m.out, ProtoIn: maps.Clone(m.protoIn), ProtoOut: maps.Clone(m.protoOut)}
}

// LogSentMessage counts size bytes sent.
func (m *Meter) LogSentMessage(size int64) {
	m.mu.Lock()
	m.out += size
	m.mu.Unlock()
}

// LogRecvMessage counts size bytes received.
func (m *Meter) LogRecvMessage(size int64) {
	m.mu.Lock()
	m.in += size
	m.mu.Unlock()
}

// LogSentMessageStream counts size bytes sent on protocol p.
func (m *Meter) LogSentMessageStream(size int64, p protocol.ID, _ peer.ID) {
	m.mu.Lock()
	m.protoOut[p] += size
	m.mu.Unlock()
}

// LogRecvMessageStream counts size bytes received on protocol p.
func (m *Meter) LogRecvMessageStream(size int64, p protocol.ID, _ peer.ID) {
	m.mu.Lock()
	m.protoIn[p] += size
	m.mu.Unlock()
}

// GetBandwidthForPeer is not tracked: zero.
func (m *Meter) GetBandwidthForPeer(peer.ID) metrics.Stats { return metrics.Stats{} }

// GetBandwidthForProtocol returns protocol p's totals (no rates).
func (m *Meter) GetBandwidthForProtocol(p protocol.ID) metrics.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return metrics.Stats{TotalIn: m.protoIn[p], TotalOut: m.protoOut[p]}
}

// GetBandwidthTotals returns the totals (no rates).
func (m *Meter) GetBandwidthTotals() metrics.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return metrics.Stats{TotalIn: m.in, TotalOut: m.out}
}

// GetBandwidthByPeer is not tracked: empty.
func (m *Meter) GetBandwidthByPeer() map[peer.ID]metrics.Stats { return map[peer.ID]metrics.Stats{} }

// GetBandwidthByProtocol returns every protocol's totals (no rates).
func (m *Meter) GetBandwidthByProtocol() map[protocol.ID]metrics.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[protocol.ID]metrics.Stats, len(m.protoIn))
	for p, in := range m.protoIn {
		out[p] = metrics.Stats{TotalIn: in, TotalOut: m.protoOut[p]}
	}
	return out
}

// Reset zeroes the counts.
func (m *Meter) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.in, m.out = 0, 0
	clear(m.protoIn)
	clear(m.protoOut)
}

// TrimIdle does nothing: a Meter keeps no per-peer state.
func (m *Meter) TrimIdle(time.Time) {}
