package anchor

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"

	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// CheckpointDomain is the signature domain of checkpoints: a signature made
// for any other record type never verifies as a checkpoint.
const CheckpointDomain = "gpumesh-checkpoint"

// checkpointCodec is the envelope payload type of checkpoints, versioned.
var checkpointCodec = []byte("/gpumesh/checkpoint/1")

// MaxCheckpointBytes bounds a signed checkpoint envelope.
const MaxCheckpointBytes = 2 << 10

// Checkpoint is a log's signed statement "my log has Size entries and this
// Root": the thing anchored on chain, and what proofs are checked against.
type Checkpoint struct {
	// Log is the peer ID of the node whose ledger this is; its key signs.
	Log peer.ID
	// Size is the number of entries in the log, at least 1.
	Size int64
	// Root is the RFC 6962 root of the log's first Size entries.
	Root merkle.Hash
	// Time is when the checkpoint was made.
	Time time.Time
}

// checkpointJSON is the payload inside the envelope: hex root, so it reads
// like the calldata on a chain explorer.
type checkpointJSON struct {
	Log  string    `json:"log"`
	Size int64     `json:"size"`
	Root string    `json:"root"`
	Time time.Time `json:"time"`
}

// Domain implements record.Record.
func (*Checkpoint) Domain() string { return CheckpointDomain }

// Codec implements record.Record.
func (*Checkpoint) Codec() []byte { return checkpointCodec }

// MarshalRecord implements record.Record.
func (c *Checkpoint) MarshalRecord() ([]byte, error) {
	return json.Marshal(checkpointJSON{Log: c.Log.String(), Size: c.Size, Root: hex.EncodeToString(c.Root[:]), Time: c.Time.UTC()})
}

// UnmarshalRecord implements record.Record.
func (c *Checkpoint) UnmarshalRecord(b []byte) error {
	var j checkpointJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	id, err := peer.Decode(j.Log)
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	root, err := parseHash(j.Root)
	if err != nil {
		return fmt.Errorf("root: %w", err)
	}
	*c = Checkpoint{Log: id, Size: j.Size, Root: root, Time: j.Time}
	return nil
}

// Validate returns every problem with the checkpoint's fields.
func (c *Checkpoint) Validate() error {
	var errs []error
	if c.Log == "" {
		errs = append(errs, errors.New("no log id"))
	}
	if c.Size < 1 {
		errs = append(errs, fmt.Errorf("size %d, want at least 1", c.Size))
	}
	if c.Time.IsZero() {
		errs = append(errs, errors.New("no time"))
	}
	return errors.Join(errs...)
}

// String names the checkpoint for messages: log, size and a short root.
func (c *Checkpoint) String() string {
	return fmt.Sprintf("checkpoint %s size %d root %s", c.Log, c.Size, short(c.Root))
}

// Sign returns the checkpoint sealed in a libp2p envelope by key, which must
// be the key of c.Log (Sign fills Log in when it is empty).
func (c *Checkpoint) Sign(key crypto.PrivKey) ([]byte, error) {
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	if c.Log == "" {
		c.Log = id
	}
	if c.Log != id {
		return nil, fmt.Errorf("sign checkpoint of log %s with the key of %s", c.Log, id)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	env, err := record.Seal(c, key)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	data, err := env.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode checkpoint: %w", err)
	}
	return data, nil
}

// ErrBadCheckpoint means bytes are not a valid signed checkpoint: too large,
// malformed, badly signed, signed by another key than its log's, or with
// impossible fields.
var ErrBadCheckpoint = errors.New("bad checkpoint")

// OpenCheckpoint decodes a signed checkpoint envelope and verifies it: the
// signature, the domain, that the signer is the log named inside, and the
// fields. Every error wraps ErrBadCheckpoint. It never panics.
func OpenCheckpoint(data []byte) (*Checkpoint, error) {
	if len(data) > MaxCheckpointBytes {
		return nil, fmt.Errorf("%w: %d bytes > %d", ErrBadCheckpoint, len(data), MaxCheckpointBytes)
	}
	c := new(Checkpoint)
	env, err := record.ConsumeTypedEnvelope(data, c)
	if err != nil {
		if errors.Is(err, record.ErrInvalidSignature) {
			return nil, fmt.Errorf("%w: signature does not verify", ErrBadCheckpoint)
		}
		return nil, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	signer, err := peer.IDFromPublicKey(env.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: signer key: %v", ErrBadCheckpoint, err)
	}
	if signer != c.Log {
		return nil, fmt.Errorf("%w: log %s signed by %s", ErrBadCheckpoint, c.Log, signer)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCheckpoint, err)
	}
	return c, nil
}

// parseHash decodes 64 hex digits.
func parseHash(s string) (merkle.Hash, error) {
	var h merkle.Hash
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("%d hex digits, want %d", len(s), 2*len(h))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, err
	}
	return h, nil
}

// short is the first 4 bytes of a hash in hex, for messages.
func short(h [32]byte) string { return hex.EncodeToString(h[:4]) + "..." }
