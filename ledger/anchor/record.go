package anchor

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gpumesh/gpumesh/ledger/merkle"
)

// AnchorVersion is the version of the Anchor encoding. Version 1 is the JSON
// object Marshal writes.
const AnchorVersion = 1

// MaxAnchorBytes bounds an encoded Anchor, as announced on the anchors topic.
const MaxAnchorBytes = 8 << 10

// maxProofHashes bounds a consistency proof: 2*63 hashes cover any int64 size.
const maxProofHashes = 128

// State is where an anchor transaction stands.
type State string

// The states of an anchor.
const (
	// StatePending: signed, and sent or about to be sent; not yet mined
	// with enough confirmations.
	StatePending State = "pending"
	// StateConfirmed: mined in a canonical block with enough confirmations.
	StateConfirmed State = "confirmed"
	// StateDropped: the transaction left the chain (a reorg) or never
	// landed; the checkpoint was re-sent in a newer anchor.
	StateDropped State = "dropped"
)

// Anchor is one checkpoint committed on chain: the record a node keeps in
// anchors.json and announces on the anchors topic. The signed checkpoint
// envelope is its signature; the chain fields are claims anyone can check
// with VerifyOnChain.
type Anchor struct {
	// Envelope is the signed checkpoint (see OpenCheckpoint).
	Envelope []byte
	// ChainID is the chain the transaction was sent on.
	ChainID uint64
	// Tx is the anchor transaction's hash; zero before it was signed.
	Tx TxHash
	// From is the address that paid for the transaction.
	From string
	// Block is the number of the block that holds Tx, 0 while pending.
	Block uint64
	// BlockHash is that block's hash.
	BlockHash TxHash
	// GasUsed is the gas Tx used.
	GasUsed uint64
	// Confirmations is the confirmation count at the last check.
	Confirmations uint64
	// PrevSize and PrevRoot are the previous anchored checkpoint's tree
	// size and root (0 and zero for a log's first anchor).
	PrevSize int64
	// PrevRoot is the previous anchored checkpoint's root.
	PrevRoot merkle.Hash
	// Consistency is the RFC 6962 consistency proof from (PrevSize,
	// PrevRoot) to this checkpoint: nothing anchored before was rewritten.
	Consistency []merkle.Hash
	// State is pending, confirmed or dropped.
	State State
	// Replaces is the dropped transaction this anchor re-sends, if any.
	Replaces TxHash
	// Note says what happened to the anchor in words ("dropped by a reorg
	// at block 12; re-sent as 0x...").
	Note string
	// Attempts counts the sends tried for this anchor.
	Attempts int
	// Error is the last error sending or checking it, "" when none.
	Error string
	// Sent is when the transaction was last sent.
	Sent time.Time
	// Updated is when the record last changed.
	Updated time.Time

	cp *Checkpoint // Envelope, decoded
}

// anchorJSON is the wire and file form: hashes as hex.
type anchorJSON struct {
	V             int       `json:"v"`
	Checkpoint    []byte    `json:"checkpoint"`
	ChainID       uint64    `json:"chain_id"`
	Tx            TxHash    `json:"tx,omitzero"`
	From          string    `json:"from,omitempty"`
	Block         uint64    `json:"block,omitempty"`
	BlockHash     TxHash    `json:"block_hash,omitzero"`
	GasUsed       uint64    `json:"gas_used,omitempty"`
	Confirmations uint64    `json:"confirmations,omitempty"`
	PrevSize      int64     `json:"prev_size,omitempty"`
	PrevRoot      string    `json:"prev_root,omitempty"`
	Consistency   []string  `json:"consistency,omitempty"`
	State         State     `json:"state"`
	Replaces      TxHash    `json:"replaces,omitzero"`
	Note          string    `json:"note,omitempty"`
	Attempts      int       `json:"attempts,omitempty"`
	Error         string    `json:"error,omitempty"`
	Sent          time.Time `json:"sent,omitzero"`
	Updated       time.Time `json:"updated,omitzero"`
}

// Checkpoint returns the anchored checkpoint, decoding and verifying the
// envelope the first time.
func (a *Anchor) Checkpoint() (*Checkpoint, error) {
	if a.cp == nil {
		cp, err := OpenCheckpoint(a.Envelope)
		if err != nil {
			return nil, err
		}
		a.cp = cp
	}
	return a.cp, nil
}

// String names the anchor for messages and logs.
func (a *Anchor) String() string {
	cp, err := a.Checkpoint()
	if err != nil {
		return fmt.Sprintf("anchor tx %s (%v)", a.Tx, err)
	}
	return fmt.Sprintf("anchor of size %d root %s in tx %s (%s)", cp.Size, short(cp.Root), a.Tx, a.State)
}

// MarshalJSON implements json.Marshaler with the wire form.
func (a Anchor) MarshalJSON() ([]byte, error) {
	j := anchorJSON{
		V: AnchorVersion, Checkpoint: a.Envelope, ChainID: a.ChainID, Tx: a.Tx, From: a.From,
		Block: a.Block, BlockHash: a.BlockHash, GasUsed: a.GasUsed, Confirmations: a.Confirmations,
		PrevSize: a.PrevSize, State: a.State, Replaces: a.Replaces, Note: a.Note,
		Attempts: a.Attempts, Error: a.Error, Sent: a.Sent, Updated: a.Updated,
	}
	if a.PrevSize > 0 {
		j.PrevRoot = hex.EncodeToString(a.PrevRoot[:])
	}
	for _, h := range a.Consistency {
		j.Consistency = append(j.Consistency, hex.EncodeToString(h[:]))
	}
	return json.Marshal(j)
}

// UnmarshalJSON implements json.Unmarshaler. It decodes only; UnmarshalAnchor
// also verifies.
func (a *Anchor) UnmarshalJSON(b []byte) error {
	var j anchorJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.V != AnchorVersion {
		return fmt.Errorf("anchor version %d, want %d", j.V, AnchorVersion)
	}
	*a = Anchor{
		Envelope: j.Checkpoint, ChainID: j.ChainID, Tx: j.Tx, From: j.From,
		Block: j.Block, BlockHash: j.BlockHash, GasUsed: j.GasUsed, Confirmations: j.Confirmations,
		PrevSize: j.PrevSize, State: j.State, Replaces: j.Replaces, Note: j.Note,
		Attempts: j.Attempts, Error: j.Error, Sent: j.Sent, Updated: j.Updated,
	}
	if j.PrevRoot != "" {
		h, err := parseHash(j.PrevRoot)
		if err != nil {
			return fmt.Errorf("prev_root: %w", err)
		}
		a.PrevRoot = h
	}
	if len(j.Consistency) > maxProofHashes {
		return fmt.Errorf("consistency proof of %d hashes, at most %d", len(j.Consistency), maxProofHashes)
	}
	for i, s := range j.Consistency {
		h, err := parseHash(s)
		if err != nil {
			return fmt.Errorf("consistency[%d]: %w", i, err)
		}
		a.Consistency = append(a.Consistency, h)
	}
	return nil
}

// Marshal returns the announcement bytes, at most MaxAnchorBytes.
func (a Anchor) Marshal() ([]byte, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode anchor: %w", err)
	}
	if len(b) > MaxAnchorBytes {
		return nil, fmt.Errorf("encode anchor: %d bytes > %d", len(b), MaxAnchorBytes)
	}
	return b, nil
}

// ErrBadAnchor means bytes are not a valid anchor record.
var ErrBadAnchor = errors.New("bad anchor")

// UnmarshalAnchor decodes an announced anchor and checks everything that
// needs no chain: the size limit, the checkpoint's signature, the fields,
// and that the consistency proof leads from the previous checkpoint to this
// one. Whether the transaction is on chain is VerifyOnChain's job. Every
// error wraps ErrBadAnchor (and ErrBadCheckpoint for the envelope); it never
// panics.
func UnmarshalAnchor(b []byte) (*Anchor, error) {
	if len(b) > MaxAnchorBytes {
		return nil, fmt.Errorf("%w: %d bytes > %d", ErrBadAnchor, len(b), MaxAnchorBytes)
	}
	a := new(Anchor)
	if err := json.Unmarshal(b, a); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadAnchor, err)
	}
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadAnchor, err)
	}
	return a, nil
}

// Validate checks the record on its own: the signed checkpoint, the state,
// and the consistency proof from PrevSize/PrevRoot.
func (a *Anchor) Validate() error {
	cp, err := a.Checkpoint()
	if err != nil {
		return err
	}
	var errs []error
	switch a.State {
	case StatePending, StateConfirmed, StateDropped:
	default:
		errs = append(errs, fmt.Errorf("state %q, want pending, confirmed or dropped", a.State))
	}
	if a.State == StateConfirmed && (a.Tx.IsZero() || a.Block == 0 || a.BlockHash.IsZero()) {
		errs = append(errs, errors.New("confirmed without a tx, block and block hash"))
	}
	if a.ChainID == 0 && !a.Tx.IsZero() {
		errs = append(errs, errors.New("a tx without a chain id"))
	}
	switch {
	case a.PrevSize < 0 || a.PrevSize > cp.Size:
		errs = append(errs, fmt.Errorf("previous size %d not in [0, %d]", a.PrevSize, cp.Size))
	case a.PrevSize == 0 && len(a.Consistency) > 0:
		errs = append(errs, errors.New("consistency proof without a previous checkpoint"))
	case a.PrevSize > 0:
		if err := merkle.VerifyConsistency(a.PrevSize, cp.Size, a.PrevRoot, cp.Root, a.Consistency); err != nil {
			errs = append(errs, fmt.Errorf("consistency from size %d to %d: %w", a.PrevSize, cp.Size, err))
		}
	}
	return errors.Join(errs...)
}
