// Package frame reads and writes length-prefixed messages on libp2p streams:
// a uvarint length, then the bytes. Every stream protocol of gpumesh frames
// its messages this way, so a reader can refuse an oversized message before
// allocating for it.
package frame

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrTooLarge is returned by Read for a frame longer than its limit.
var ErrTooLarge = errors.New("frame too large")

// Write sends b with its length as a uvarint in front, in one write.
func Write(w io.Writer, b []byte) error {
	buf := binary.AppendUvarint(make([]byte, 0, len(b)+binary.MaxVarintLen64), uint64(len(b)))
	_, err := w.Write(append(buf, b...))
	return err
}

// Read reads one frame, refusing one longer than limit before allocating
// for it.
func Read(r *bufio.Reader, limit int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(limit) {
		return nil, fmt.Errorf("%w: %d bytes, at most %d allowed", ErrTooLarge, n, limit)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}
