package anchor

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// CommitmentMagic starts every anchor transaction's calldata; the trailing
// "1" is the encoding's version.
const CommitmentMagic = "gpumesh-cp1"

// CommitmentSize is the length of an encoded Commitment: 83 bytes.
const CommitmentSize = len(CommitmentMagic) + 8 + 32 + 32

// Commitment is what one anchor transaction carries on chain, as its
// calldata (the transaction sends 0 wei to its own sender, so no contract
// runs and it costs the intrinsic gas plus the calldata):
//
//	"gpumesh-cp1" (11 bytes) | size (uint64, big-endian) | root (32) | log (32)
//
// where log is SHA-256 of the log's peer ID bytes, which binds the root to
// one node's ledger without putting its 38-byte ID on chain.
type Commitment struct {
	// Size is the checkpoint's tree size.
	Size uint64
	// Root is the checkpoint's tree root.
	Root merkle.Hash
	// Log is LogHash of the checkpoint's log.
	Log [32]byte
}

// LogHash is the Log field of the commitments of the log id.
func LogHash(id peer.ID) [32]byte { return sha256.Sum256([]byte(id)) }

// CommitmentOf returns the commitment that anchors c.
func CommitmentOf(c *Checkpoint) Commitment {
	return Commitment{Size: uint64(c.Size), Root: c.Root, Log: LogHash(c.Log)}
}

// Encode returns the calldata form.
func (m Commitment) Encode() []byte {
	b := make([]byte, 0, CommitmentSize)
	b = append(b, CommitmentMagic...)
	b = binary.BigEndian.AppendUint64(b, m.Size)
	b = append(b, m.Root[:]...)
	return append(b, m.Log[:]...)
}

// ErrNotCommitment means calldata is not an encoded Commitment.
var ErrNotCommitment = errors.New("not a gpumesh checkpoint commitment")

// DecodeCommitment parses calldata written by Encode.
func DecodeCommitment(b []byte) (Commitment, error) {
	var m Commitment
	if len(b) != CommitmentSize {
		return m, fmt.Errorf("%w: %d bytes, want %d", ErrNotCommitment, len(b), CommitmentSize)
	}
	if !bytes.HasPrefix(b, []byte(CommitmentMagic)) {
		return m, fmt.Errorf("%w: no %q prefix", ErrNotCommitment, CommitmentMagic)
	}
	b = b[len(CommitmentMagic):]
	m.Size = binary.BigEndian.Uint64(b)
	copy(m.Root[:], b[8:40])
	copy(m.Log[:], b[40:72])
	return m, nil
}

// Diff returns why the commitment on chain differs from want (the
// checkpoint's), naming each field that differs, or nil if they match.
func (m Commitment) Diff(want Commitment) error {
	var errs []error
	if m.Root != want.Root {
		errs = append(errs, fmt.Errorf("root on chain %s differs from checkpoint's %s", short(m.Root), short(want.Root)))
	}
	if m.Size != want.Size {
		errs = append(errs, fmt.Errorf("size on chain %d differs from checkpoint's %d", m.Size, want.Size))
	}
	if m.Log != want.Log {
		errs = append(errs, fmt.Errorf("log hash on chain %s differs from checkpoint's %s", short(m.Log), short(want.Log)))
	}
	return errors.Join(errs...)
}
