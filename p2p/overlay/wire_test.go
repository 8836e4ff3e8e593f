package overlay

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// packet is an IPv4 packet from src to dst carrying payload (UDP's
// protocol number, no checksum: the overlay reads only the addresses).
func packet(src, dst netip.Addr, payload []byte) []byte {
	b := make([]byte, 20+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	b[8], b[9] = 64, 17
	s, d := src.As4(), dst.As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	copy(b[20:], payload)
	return b
}

func TestHelloRoundTrip(t *testing.T) {
	job := "0123456789abcdef0123456789abcdef"
	got, err := decodeHello(encodeHello(job))
	if err != nil || got != job {
		t.Fatalf("decodeHello(encodeHello(%q)) = %q, %v", job, got, err)
	}
	for name, b := range map[string][]byte{
		"empty":       nil,
		"no job":      {Version},
		"old version": append([]byte{0}, "job"...),
		"too long":    append([]byte{Version}, strings.Repeat("a", MaxJobIDBytes+1)...),
		"slash":       append([]byte{Version}, "../x"...),
	} {
		if _, err := decodeHello(b); !errors.Is(err, ErrHello) {
			t.Errorf("%s: error %v, want ErrHello", name, err)
		}
	}
}

func TestParsePacket(t *testing.T) {
	src, dst := netip.MustParseAddr("10.128.0.1"), netip.MustParseAddr("10.128.0.2")
	good := packet(src, dst, []byte("hello"))
	h, err := parsePacket(good)
	if err != nil || h.src != src || h.dst != dst {
		t.Fatalf("parsePacket = %+v, %v; want %s -> %s", h, err, src, dst)
	}
	bad := map[string][]byte{
		"short":       good[:19],
		"ipv6":        append([]byte{0x60}, good[1:]...),
		"ihl small":   append([]byte{0x44}, good[1:]...),
		"ihl past":    append([]byte{0x4f}, good[1:20]...),
		"total short": good[:len(good)-1],
		"over mtu":    packet(src, dst, make([]byte, MTU)),
	}
	for name, b := range bad {
		if _, err := parsePacket(b); !errors.Is(err, ErrPacket) {
			t.Errorf("%s: error %v, want ErrPacket", name, err)
		}
	}
}

func FuzzDecodeHello(f *testing.F) {
	f.Add(encodeHello("0123456789abcdef0123456789abcdef"))
	f.Add([]byte{})
	f.Add([]byte{Version, 0xff})
	f.Add(append([]byte{2}, "job"...))
	f.Fuzz(func(t *testing.T, b []byte) {
		job, err := decodeHello(b)
		if err != nil {
			return
		}
		if checkJobID(job) != nil {
			t.Fatalf("decoded job %q that checkJobID refuses", job)
		}
		again, err := decodeHello(encodeHello(job))
		if err != nil || again != job {
			t.Fatalf("round trip of %q: %q, %v", job, again, err)
		}
	})
}

func FuzzParsePacket(f *testing.F) {
	src, dst := netip.MustParseAddr("10.128.0.1"), netip.MustParseAddr("10.128.0.2")
	f.Add(packet(src, dst, []byte("payload")))
	f.Add([]byte{0x45})
	f.Add(make([]byte, 20))
	f.Add(packet(src, dst, make([]byte, MTU)))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parsePacket(b)
		if err != nil {
			return
		}
		if len(b) < 20 || len(b) > MTU || b[0]>>4 != 4 || !h.src.Is4() || !h.dst.Is4() {
			t.Fatalf("accepted a %d-byte frame starting %#x", len(b), b[0])
		}
	})
}
