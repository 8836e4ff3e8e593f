package overlay

import "sync/atomic"

// Drop is why a packet or stream was dropped.
type Drop string

// Reasons of a drop.
const (
	// DropNotMember: a stream from a peer that holds no rank of the job.
	DropNotMember Drop = "not_member"
	// DropSpoofed: a packet whose source address is not one of its
	// sender's ranks (a local rank's own address, or a remote peer's).
	DropSpoofed Drop = "spoofed_source"
	// DropOtherJob: a packet addressed outside the job's subnet.
	DropOtherJob Drop = "other_job"
	// DropNoRoute: a packet for an address of the job that no rank holds,
	// or, arriving from a peer, for a rank not served here.
	DropNoRoute Drop = "no_route"
	// DropMalformed: a frame that is not an IP packet of at most MTU
	// bytes.
	DropMalformed Drop = "malformed"
	// DropLinkLocal: an IPv6 packet a rank's kernel sent to the link, not
	// to a rank (router solicitations, multicast listener reports: to a
	// multicast address, or from a link-local or unspecified one); the
	// overlay carries unicast between ranks only.
	DropLinkLocal Drop = "link_local"
	// DropQueueFull: a packet for a peer whose send queue is full (a rank
	// that sends faster than the path carries).
	DropQueueFull Drop = "queue_full"
	// DropSendFailed: a packet lost with the stream that carried it.
	DropSendFailed Drop = "send_failed"
)

// Drops lists every Drop, in the order Stats reports them.
var Drops = []Drop{DropNotMember, DropSpoofed, DropOtherJob, DropNoRoute, DropMalformed, DropLinkLocal, DropQueueFull, DropSendFailed}

// Stats are a job network's counters on this provider since it joined.
// In counts packets delivered to a local rank, Out packets a local rank
// sent that the overlay took (handed to a stream or to another local
// rank).
type Stats struct {
	BytesIn, PacketsIn   uint64
	BytesOut, PacketsOut uint64
	// Drops are the packets (and, for DropNotMember, streams) dropped,
	// by reason; reasons with none are left out.
	Drops map[Drop]uint64
}

// counters are Stats as they are counted.
type counters struct {
	bytesIn, packetsIn   atomic.Uint64
	bytesOut, packetsOut atomic.Uint64
	drops                [8]atomic.Uint64 // indexed as Drops
}

func (c *counters) in(n int) {
	c.bytesIn.Add(uint64(n))
	c.packetsIn.Add(1)
}

func (c *counters) out(n int) {
	c.bytesOut.Add(uint64(n))
	c.packetsOut.Add(1)
}

func (c *counters) drop(d Drop) {
	for i, r := range Drops {
		if r == d {
			c.drops[i].Add(1)
			return
		}
	}
}

func (c *counters) snapshot() Stats {
	s := Stats{BytesIn: c.bytesIn.Load(), PacketsIn: c.packetsIn.Load(), BytesOut: c.bytesOut.Load(),
		PacketsOut: c.packetsOut.Load(), Drops: map[Drop]uint64{}}
	for i, r := range Drops {
		if n := c.drops[i].Load(); n > 0 {
			s.Drops[r] = n
		}
	}
	return s
}
