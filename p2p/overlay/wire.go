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
	// ErrPacket: a frame that is not a well-formed IPv4 packet.
	ErrPacket = errors.New("bad overlay packet")
	// ErrNotIPv4: an IPv6 packet, which the overlay does not carry; it
	// wraps ErrPacket too.
	ErrNotIPv4 = fmt.Errorf("%w: IPv6, only IPv4 is carried", ErrPacket)
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

// header is what the overlay reads of an IPv4 packet.
type header struct {
	src, dst netip.Addr
}

// parsePacket checks that b is one whole IPv4 packet of at most MTU bytes
// (version 4, a header of 20 to 60 bytes inside it, a total length equal
// to len(b)) and returns its addresses. It reads nothing past the header.
func parsePacket(b []byte) (header, error) {
	if len(b) > MTU {
		return header{}, fmt.Errorf("%w: %d bytes, over the MTU of %d", ErrPacket, len(b), MTU)
	}
	if len(b) > 0 && b[0]>>4 == 6 {
		return header{}, ErrNotIPv4
	}
	if len(b) < 20 {
		return header{}, fmt.Errorf("%w: %d bytes, shorter than an IPv4 header", ErrPacket, len(b))
	}
	if v := b[0] >> 4; v != 4 {
		return header{}, fmt.Errorf("%w: IP version %d, only 4 is carried", ErrPacket, v)
	}
	if ihl := int(b[0]&0x0f) * 4; ihl < 20 || ihl > len(b) {
		return header{}, fmt.Errorf("%w: header length %d in a packet of %d", ErrPacket, ihl, len(b))
	}
	if total := int(binary.BigEndian.Uint16(b[2:4])); total != len(b) {
		return header{}, fmt.Errorf("%w: total length %d, packet of %d", ErrPacket, total, len(b))
	}
	return header{src: netip.AddrFrom4([4]byte(b[12:16])), dst: netip.AddrFrom4([4]byte(b[16:20]))}, nil
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
