package overlay

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/gpumesh/gpumesh/p2p/frame"
)

// Protocol is the stream protocol that carries a job's packets.
const Protocol = "/gpumesh/net/1"

// Version is the version byte of the hello frame this package writes and
// reads.
const Version = 1

// MTU is the largest IP packet the overlay carries, and the MTU of every
// rank's interface: the largest an IPv4 header can state. Packets travel
// inside a libp2p stream, which cuts them into its transport's segments
// as it pleases, so the path's own MTU does not bound them; a large one
// means few packets, and so few system calls and frames, per byte (B11:
// at 1,400 bytes the overlay carried a sixth of the raw stream's rate).
const MTU = 65535

// IfName is the name of the overlay interface inside a rank's namespace.
const IfName = "gpumesh0"

// MaxJobIDBytes bounds the job ID in a hello.
const MaxJobIDBytes = 64

// maxHelloBytes bounds the hello frame.
const maxHelloBytes = 1 + MaxJobIDBytes

// Errors of the decoders. Each refusal wraps one of these.
var (
	// ErrHello: a hello frame that is not Version's, or whose job ID is
	// empty, too long or not made of letters, digits, '-' and '_'.
	ErrHello = errors.New("bad overlay hello")
	// ErrPacket: a frame that is not a well-formed IPv4 or IPv6 packet.
	ErrPacket = errors.New("bad overlay packet")
)

// encodeHello is the first frame of a stream for job.
func encodeHello(job string) []byte {
	return append([]byte{Version}, job...)
}

// decodeHello returns the job ID of a hello frame.
func decodeHello(b []byte) (string, error) {
	if len(b) < 2 || len(b) > maxHelloBytes {
		return "", fmt.Errorf("%w: %d bytes, want 2 to %d", ErrHello, len(b), maxHelloBytes)
	}
	if b[0] != Version {
		return "", fmt.Errorf("%w: version %d, this node speaks %d", ErrHello, b[0], Version)
	}
	job := string(b[1:])
	if err := checkJobID(job); err != nil {
		return "", err
	}
	return job, nil
}

// checkJobID refuses a job ID a hello cannot carry.
func checkJobID(job string) error {
	if len(job) == 0 || len(job) > MaxJobIDBytes {
		return fmt.Errorf("%w: job ID of %d bytes, want 1 to %d", ErrHello, len(job), MaxJobIDBytes)
	}
	for _, c := range []byte(job) {
		ok := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_'
		if !ok {
			return fmt.Errorf("%w: job ID holds byte %#x", ErrHello, c)
		}
	}
	return nil
}

// header is what the overlay reads of an IP packet.
type header struct {
	src, dst netip.Addr
}

// ipv6Header is the length of IPv6's fixed header.
const ipv6Header = 40

// parsePacket checks that b is one whole IPv4 or IPv6 packet of at most
// MTU bytes and returns its addresses: for IPv4, version 4, a header of
// 20 to 60 bytes inside it and a total length equal to len(b); for IPv6,
// version 6, the fixed header and a payload length that is the rest of
// b. It reads nothing past the (fixed) header.
func parsePacket(b []byte) (header, error) {
	if len(b) > MTU {
		return header{}, fmt.Errorf("%w: %d bytes, over the MTU of %d", ErrPacket, len(b), MTU)
	}
	if len(b) > 0 && b[0]>>4 == 6 {
		return parsePacket6(b)
	}
	if len(b) < 20 {
		return header{}, fmt.Errorf("%w: %d bytes, shorter than an IPv4 header", ErrPacket, len(b))
	}
	if v := b[0] >> 4; v != 4 {
		return header{}, fmt.Errorf("%w: IP version %d, only 4 and 6 are carried", ErrPacket, v)
	}
	if ihl := int(b[0]&0x0f) * 4; ihl < 20 || ihl > len(b) {
		return header{}, fmt.Errorf("%w: header length %d in a packet of %d", ErrPacket, ihl, len(b))
	}
	if total := int(binary.BigEndian.Uint16(b[2:4])); total != len(b) {
		return header{}, fmt.Errorf("%w: total length %d, packet of %d", ErrPacket, total, len(b))
	}
	return header{src: netip.AddrFrom4([4]byte(b[12:16])), dst: netip.AddrFrom4([4]byte(b[16:20]))}, nil
}

// parsePacket6 is parsePacket for a packet of version 6.
func parsePacket6(b []byte) (header, error) {
	if len(b) < ipv6Header {
		return header{}, fmt.Errorf("%w: %d bytes, shorter than an IPv6 header", ErrPacket, len(b))
	}
	if payload := int(binary.BigEndian.Uint16(b[4:6])); payload != len(b)-ipv6Header {
		return header{}, fmt.Errorf("%w: IPv6 payload length %d, packet of %d", ErrPacket, payload, len(b))
	}
	return header{src: netip.AddrFrom16([16]byte(b[8:24])), dst: netip.AddrFrom16([16]byte(b[24:40]))}, nil
}

// kernelLocal says whether h is an IPv6 packet the kernel sends on its
// own to the link rather than to a rank (router solicitations, multicast
// listener reports, neighbour discovery): to a multicast address, or from
// a link-local or unspecified one.
func (h header) kernelLocal() bool {
	return h.dst.Is6() && (h.dst.IsMulticast() || h.src.IsLinkLocalUnicast() || h.src.IsUnspecified())
}

// writeFrame writes pkt as a p2p/frame frame (a uvarint length, then the
// bytes) without copying it into a new buffer first, as frame.Write does:
// w buffers.
func writeFrame(w *bufio.Writer, pkt []byte) error {
	var hdr [binary.MaxVarintLen64]byte
	if _, err := w.Write(binary.AppendUvarint(hdr[:0], uint64(len(pkt)))); err != nil {
		return err
	}
	_, err := w.Write(pkt)
	return err
}

// readFrame reads one p2p/frame frame into buf and returns it; a frame
// longer than buf is refused (frame.ErrTooLarge) before it is read. The
// packet is valid until the next call.
func readFrame(r *bufio.Reader, buf []byte) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(len(buf)) {
		return nil, fmt.Errorf("%w: %d bytes, at most %d allowed", frame.ErrTooLarge, n, len(buf))
	}
	if _, err := io.ReadFull(r, buf[:n]); err != nil {
		return nil, err
	}
	return buf[:n], nil
}
