package overlay

import (
	"bufio"
	"bytes"
	"io"
	"net/netip"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/p2p/frame"
)

// discardPort keeps what is written to it.
type discardPort struct{ got [][]byte }

func (*discardPort) Read([]byte) (int, error) { return 0, io.EOF }

func (p *discardPort) Write(b []byte) (int, error) {
	p.got = append(p.got, append([]byte(nil), b...))
	return len(b), nil
}

func (*discardPort) Close() error { return nil }

// FuzzInboundStream feeds a stream's bytes, as a member sent them, to
// the decoders a provider runs on them: the hello, then packet frames.
// Whatever the bytes, only IPv4 packets from the sender's rank to a rank
// served here are delivered, and the counters add up.
func FuzzInboundStream(f *testing.F) {
	src, _ := Addr(testJob, 0)
	dst, _ := Addr(testJob, 1)
	stream := func(frames ...[]byte) []byte {
		var b bytes.Buffer
		for _, fr := range frames {
			_ = frame.Write(&b, fr)
		}
		return b.Bytes()
	}
	f.Add(stream(encodeHello(testJob), packet(src, dst, []byte("x"))))
	f.Add(stream(encodeHello(testJob), packet(dst, dst, nil), packet(src, netip.MustParseAddr("10.0.0.1"), nil)))
	f.Add(stream(encodeHello("other"), packet(src, dst, nil)))
	f.Add(append(stream(encodeHello(testJob)), 0xff, 0xff, 0xff, 0x7f))
	f.Add(stream(encodeHello(testJob), packet(src, dst, make([]byte, MTU-20))))
	f.Add([]byte{0x80})
	remote, self := peer.ID("sender"), peer.ID("self")
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		job, err := readHello(r)
		if err != nil || job != testJob {
			return
		}
		port := &discardPort{}
		n := &Net{job: testJob, prefix: Subnet(testJob), members: []peer.ID{remote, self}, ports: map[int]Port{1: port}}
		_ = n.readPackets(r, remote, func() {}, func(Drop) {})
		for _, pkt := range port.got {
			h, err := parsePacket(pkt)
			if err != nil || h.src != src || h.dst != dst {
				t.Fatalf("delivered %x (%+v, %v): want %s -> %s", pkt, h, err, src, dst)
			}
		}
		if s := n.Stats(); s.PacketsIn != uint64(len(port.got)) {
			t.Fatalf("counted %d packets in, delivered %d", s.PacketsIn, len(port.got))
		}
	})
}
