package anchor

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Backend is a chain anchors are written to and read from. ledger/anchor/evm
// implements it over JSON-RPC and on an in-process simulated chain. Every
// method bounds its own RPC calls by the configured timeout; an error from a
// call that ran out of time wraps ErrTimeout.
type Backend interface {
	// ChainID returns the chain's ID.
	ChainID(ctx context.Context) (uint64, error)
	// Send signs and submits one transaction whose calldata is data and
	// returns its hash without waiting for it to be mined. When signing
	// worked but submitting failed, the hash comes back with the error:
	// the transaction may still land, and the caller may look it up.
	Send(ctx context.Context, data []byte) (TxHash, error)
	// Lookup returns what the chain holds for tx: ErrNotFound when it knows
	// no such transaction (never sent, evicted, or dropped by a reorg),
	// Pending when it waits in the pool, else its canonical block. A
	// receipt whose block is no longer canonical counts as not found.
	Lookup(ctx context.Context, tx TxHash) (Tx, error)
}

// Preparer is a Backend that signs a transaction before it submits it.
// The anchorer then records the transaction's hash in anchors.json before
// the transaction can land: a node killed between the two finds it again
// on restart, where with Send alone it would have paid for an anchor it
// never learns of.
type Preparer interface {
	// Prepare signs a transaction whose calldata is data and returns its
	// hash and a func that submits it. The caller must call submit exactly
	// once, and before any other Send or Prepare on the backend. An error
	// from submit may come with a transaction that lands all the same.
	Prepare(ctx context.Context, data []byte) (hash TxHash, submit func(context.Context) error, err error)
}

// Errors a Backend's methods wrap.
var (
	// ErrNotFound means the chain knows no such transaction now.
	ErrNotFound = errors.New("tx not found")
	// ErrTimeout means an RPC call ran out of time.
	ErrTimeout = errors.New("rpc timeout")
)

// Tx is a transaction as the chain holds it.
type Tx struct {
	// Hash is the transaction hash.
	Hash TxHash `json:"hash"`
	// From is the sender's address, 0x-prefixed hex.
	From string `json:"from"`
	// Data is the calldata.
	Data []byte `json:"data"`
	// Pending means the transaction waits in the pool, not yet mined; the
	// fields below are then zero.
	Pending bool `json:"pending,omitempty"`
	// Block is the number of the canonical block that holds it.
	Block uint64 `json:"block,omitempty"`
	// BlockHash is that block's hash.
	BlockHash TxHash `json:"block_hash,omitzero"`
	// GasUsed is the gas the transaction used.
	GasUsed uint64 `json:"gas_used,omitempty"`
	// Failed means the transaction was mined but reverted.
	Failed bool `json:"failed,omitempty"`
	// Confirmations is the number of blocks from Block to the chain's head,
	// both counted: 1 right after it was mined.
	Confirmations uint64 `json:"confirmations,omitempty"`
}

// TxHash is a 32-byte chain hash (a transaction's or a block's), written as
// 0x-prefixed hex.
type TxHash [32]byte

// String returns the 0x-prefixed hex form.
func (h TxHash) String() string { return "0x" + hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zeros (no hash).
func (h TxHash) IsZero() bool { return h == TxHash{} }

// MarshalText implements encoding.TextMarshaler.
func (h TxHash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *TxHash) UnmarshalText(b []byte) error {
	p, err := ParseTxHash(string(b))
	if err != nil {
		return err
	}
	*h = p
	return nil
}

// ParseTxHash parses 64 hex digits, with or without 0x.
func ParseTxHash(s string) (TxHash, error) {
	var h TxHash
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(s) != 64 {
		return h, fmt.Errorf("hash has %d hex digits, want 64", len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("hash: %w", err)
	}
	return h, nil
}
