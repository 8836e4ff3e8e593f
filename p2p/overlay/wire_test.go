package overlay

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// packet is an IPv4 packet (IPv6 for IPv6 addresses) from src to dst
// carrying payload (UDP's protocol number, no checksum: the overlay reads
// only the addresses).
func packet(src, dst netip.Addr, payload []byte) []byte {
	if src.Is6() {
		b := make([]byte, ipv6Header+len(payload))
		b[0] = 0x60
		binary.BigEndian.PutUint16(b[4:6], uint16(len(payload)))
		b[6], b[7] = 17, 64
		s, d := src.As16(), dst.As16()
		copy(b[8:24], s[:])
		copy(b[24:40], d[:])
		copy(b[40:], payload)
		return b
	}
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
	src6, dst6 := netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2")
	good6 := packet(src6, dst6, []byte("hello"))
	if h, err := parsePacket(good6); err != nil || h.src != src6 || h.dst != dst6 {
		t.Fatalf("parsePacket(IPv6) = %+v, %v; want %s -> %s", h, err, src6, dst6)
	}
	bad := map[string][]byte{
		"short":        good[:19],
		"ipv6 short":   good6[:39],
		"ipv6 payload": good6[:len(good6)-1],
		"ipv6 over":    packet(src6, dst6, make([]byte, MTU)),
		"version 5":    append([]byte{0x55}, good[1:]...),
		"ihl small":    append([]byte{0x44}, good[1:]...),
		"ihl past":     append([]byte{0x4f}, good[1:20]...),
		"total short":  good[:len(good)-1],
		"over mtu":     packet(src, dst, make([]byte, MTU)),
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
	f.Add(packet(netip.MustParseAddr("fd00::1"), netip.MustParseAddr("ff02::2"), []byte("rs")))
	f.Add(make([]byte, ipv6Header))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parsePacket(b)
		if err != nil {
			return
		}
		v4 := len(b) >= 20 && b[0]>>4 == 4 && h.src.Is4() && h.dst.Is4()
		v6 := len(b) >= ipv6Header && b[0]>>4 == 6 && h.src.Is6() && h.dst.Is6()
		if len(b) > MTU || !v4 && !v6 {
			t.Fatalf("accepted a %d-byte frame starting %#x", len(b), b[0])
		}
	})
}
