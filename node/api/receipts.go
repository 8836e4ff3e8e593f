package api

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/anchor"
)

// Hash is a 32-byte tree hash (a merkle.Hash) written as 64 hex digits,
// as checkpoints and chain explorers write them.
type Hash [32]byte

// MarshalText implements encoding.TextMarshaler.
func (h Hash) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h[:])), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 2*len(h) {
		return fmt.Errorf("hash has %d hex digits, want %d", len(b), 2*len(h))
	}
	_, err := hex.Decode(h[:], b)
	return err
}

// String returns the hex form.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Roles a node plays in a receipt.
const (
	RoleProvider  = "provider"
	RoleRequester = "requester"
)

// ReceiptQuery selects receipts for GET /api/v1/receipts.
type ReceiptQuery struct {
	// Job keeps the receipts of one job; "" keeps all.
	Job string
	// Peer keeps the receipts in which this peer is provider or requester; "" keeps all.
	Peer string
	// Limit is the most receipts returned, newest first; 0 means all.
	Limit int
}

// ReceiptRow is one receipt in GET /api/v1/receipts.
type ReceiptRow struct {
	// Index is the receipt's entry in the node's ledger.
	Index int64 `json:"index"`
	// Logged is when the node appended it.
	Logged time.Time `json:"logged"`
	// Role is what the node was in the work: provider or requester.
	Role string `json:"role"`
	// Counterparty is the other side's peer ID.
	Counterparty string `json:"counterparty"`
	// Anchored says whether a confirmed anchor of the node's ledger covers the entry.
	Anchored bool `json:"anchored"`
	// Receipt is the receipt itself.
	Receipt ledger.Receipt `json:"receipt"`
}

// Receipts is the answer to GET /api/v1/receipts.
type Receipts struct {
	// Log is the peer ID of the node whose ledger this is.
	Log string `json:"log"`
	// Size is the number of entries in the ledger.
	Size int64 `json:"size"`
	// Anchored is the tree size of the newest confirmed anchor, 0 if none.
	Anchored int64 `json:"anchored"`
	// Receipts are those selected, newest first.
	Receipts []ReceiptRow `json:"receipts"`
	// Damaged are the selected entries that could not be read or failed
	// their check, newest first; the rest are listed in Receipts.
	Damaged []CorruptEntry `json:"damaged,omitempty"`
}

// Entry is a ledger entry as GET /api/v1/receipts/{id} shows it.
type Entry struct {
	// Index numbers the entry in the ledger, from 0.
	Index int64 `json:"index"`
	// Time is when it was appended.
	Time time.Time `json:"time"`
	// Kind is what it holds: "receipt".
	Kind string `json:"kind"`
	// Prev is the previous entry's hash (the hash chain).
	Prev Hash `json:"prev"`
	// Hash is the RFC 6962 leaf hash of Encoded.
	Hash Hash `json:"hash"`
	// Encoded is the entry's canonical bytes (ledger.Entry.Encode): the Merkle leaf.
	Encoded []byte `json:"encoded"`
}

// Inclusion is an RFC 6962 inclusion proof of an entry in the tree of a
// ledger's first Size entries.
type Inclusion struct {
	// Size is the tree size the proof is for.
	Size int64 `json:"size"`
	// Root is that tree's root.
	Root Hash `json:"root"`
	// Proof is the audit path, from the leaf upwards.
	Proof []Hash `json:"proof"`
	// Anchored says the size and root are those of Anchor's checkpoint;
	// otherwise they are the ledger's head when asked.
	Anchored bool `json:"anchored"`
}

// ReceiptProof is the answer to GET /api/v1/receipts/{id}: a receipt with
// everything needed to check it without trusting the node.
type ReceiptProof struct {
	// Log is the peer ID of the node whose ledger holds the entry.
	Log string `json:"log"`
	// Role is what the node was in the work: provider or requester.
	Role string `json:"role"`
	// Counterparty is the other side's peer ID.
	Counterparty string `json:"counterparty"`
	// Receipt is the receipt, as decoded by the node.
	Receipt ledger.Receipt `json:"receipt"`
	// RequesterPays is Amount + RequesterFee.
	RequesterPays ledger.Micros `json:"requester_pays"`
	// ProviderReceives is Amount - ProviderFee.
	ProviderReceives ledger.Micros `json:"provider_receives"`
	// PoolReceives is both fees, paid to Receipt.IncentivePool.
	PoolReceives ledger.Micros `json:"pool_receives"`
	// Signed is the marshalled ledger.Signed: both parties' envelopes.
	Signed []byte `json:"signed"`
	// Entry is the ledger entry that holds Signed.
	Entry Entry `json:"entry"`
	// LogSize is the number of entries in the ledger when asked.
	LogSize int64 `json:"log_size"`
	// Inclusion proves Entry in the tree of Anchor's checkpoint, or in the
	// current head's when no confirmed anchor covers it.
	Inclusion Inclusion `json:"inclusion"`
	// Anchor is the node's newest confirmed anchor covering the entry, nil if none.
	Anchor *anchor.Anchor `json:"anchor,omitempty"`
	// NotAnchored says why Anchor is nil ("anchoring off: ...", or that an
	// anchor is pending); "" when it is set.
	NotAnchored string `json:"not_anchored,omitempty"`
	// PeerAnchor is the counterparty's latest anchor announced on gossip, if known.
	PeerAnchor *anchor.Anchor `json:"peer_anchor,omitempty"`
}

// CorruptEntry says where a ledger first fails its checks (a ledger.CorruptError).
type CorruptEntry struct {
	// Index is the first bad entry, -1 when the damage is not in one entry.
	Index int64 `json:"index"`
	// Reason says what check failed.
	Reason string `json:"reason"`
	// Error is the whole error text.
	Error string `json:"error"`
}

// LedgerCheck is the answer to GET /api/v1/ledger/verify: ledger.Log.Verify
// over the whole ledger (the hash chain, the Merkle tree, every receipt's
// signatures and arithmetic).
type LedgerCheck struct {
	// OK is true when every entry passed.
	OK bool `json:"ok"`
	// Log is the ledger's peer ID.
	Log string `json:"log"`
	// Size is the number of entries checked.
	Size int64 `json:"size"`
	// Root is the tree root of all Size entries (when OK).
	Root Hash `json:"root,omitzero"`
	// Corrupt says where the ledger first fails, nil when OK.
	Corrupt *CorruptEntry `json:"corrupt,omitempty"`
	// Anchors compares each of the node's confirmed anchors with the ledger
	// (when OK): the ledger must still have the anchored root at the
	// anchored size.
	Anchors []AnchorMatch `json:"anchors,omitempty"`
}

// AnchorMatch says whether the ledger still holds what one anchor committed.
type AnchorMatch struct {
	// Tx is the anchor transaction.
	Tx anchor.TxHash `json:"tx"`
	// Size and Root are the anchored checkpoint's.
	Size int64 `json:"size"`
	// Root is the anchored root.
	Root Hash `json:"root"`
	// Matches is true when the ledger's root at Size is Root.
	Matches bool `json:"matches"`
	// Error says why not.
	Error string `json:"error,omitempty"`
}

// PoolBalance is one incentive pool's line in GET /api/v1/balances.
type PoolBalance struct {
	// Pool is the incentive pool.
	Pool string `json:"pool"`
	ledger.Balance
	// Net is what the node is owed (positive) or owes (negative): Balance.Net.
	Net ledger.Micros `json:"net"`
}

// Balances is the answer to GET /api/v1/balances: the node's earnings and
// spending per pool, from the latest receipt of each piece of work.
type Balances struct {
	// Log is the node's peer ID.
	Log string `json:"log"`
	// Pools are sorted by name.
	Pools []PoolBalance `json:"pools"`
	// Vouchers are the payment vouchers' channels (settlement), held as
	// provider then signed as requester; empty without settlement.
	Vouchers []VoucherChannel `json:"vouchers,omitempty"`
	// Wallet is this node's settlement wallet with what the chain holds
	// for it (escrow, stake); nil when settlement is off.
	Wallet *WalletBalances `json:"wallet,omitempty"`
}

// WalletBalances is a node's settlement wallet as GET /api/v1/balances
// shows it: amounts are the token's base units in decimal (Decimals
// places; 6 for a USD stablecoin, where one base unit is one micro),
// read on chain now; the chain fields are empty, and ChainError says
// why, when the node has no chain client or the read failed.
type WalletBalances struct {
	// Address is the wallet's address; Token the token settled in
	// (0x000... is the chain's native coin) and Decimals its decimals.
	Address  string `json:"address"`
	Token    string `json:"token"`
	Decimals uint8  `json:"decimals"`
	// ChainID and Contract name the chain and the Settlement contract.
	ChainID  string `json:"chain_id"`
	Contract string `json:"contract"`
	// Balance is the token the wallet itself holds.
	Balance string `json:"balance,omitempty"`
	// Escrow is what it deposited as a requester, unspent, and
	// PendingWithdrawal the part asked back, waiting out the notice.
	Escrow            string `json:"escrow,omitempty"`
	PendingWithdrawal string `json:"pending_withdrawal,omitempty"`
	// Stake is what it staked as a provider; Eligible whether that makes
	// it eligible for jobs asking for staked providers (nil: not read).
	Stake    string `json:"stake,omitempty"`
	Eligible *bool  `json:"eligible,omitempty"`
	// ChainError says why the chain fields are missing.
	ChainError string `json:"chain_error,omitempty"`
}

// VoucherChannel is the latest voucher of one channel (requester, provider,
// token) this node holds or signed; amounts are in token base units, in decimal.
type VoucherChannel struct {
	// Role is "held" (this node is the provider) or "signed" (the requester).
	Role string `json:"role"`
	// ChainID and Contract name the chain and Settlement contract.
	ChainID  string `json:"chain_id"`
	Contract string `json:"contract"`
	// Requester, Provider and Token are wallet and token addresses.
	Requester string `json:"requester"`
	Provider  string `json:"provider"`
	Token     string `json:"token"`
	// Nonce and Cumulative are the latest voucher's: the nonce counts the
	// channel's vouchers, one per receipt.
	Nonce      uint64 `json:"nonce"`
	Cumulative string `json:"cumulative"`
	// Redeemed and Redeemable (held only): what the ledger records as
	// redeemed, and what the latest voucher would pay now.
	Redeemed   string `json:"redeemed,omitempty"`
	Redeemable string `json:"redeemable,omitempty"`
	// Redemption is the last redemption's state, Tx its transaction and
	// RedeemedAt when that state was recorded (held only).
	Redemption string     `json:"redemption,omitempty"`
	Tx         string     `json:"tx,omitempty"`
	RedeemedAt *time.Time `json:"redeemed_at,omitempty"`
}

// Anchors is the answer to GET /api/v1/anchors.
type Anchors struct {
	// Status is the anchorer's state: off and why, the last anchor, pending ones.
	Status anchor.Status `json:"status"`
	// Anchors are the node's own anchors, oldest first.
	Anchors []anchor.Anchor `json:"anchors"`
}

// AnchorCheck is the answer to POST /api/v1/anchors/verify:
// anchor.VerifyOnChain through the node's chain.
type AnchorCheck struct {
	// Checked is false when the node has no chain to ask; Reason says why.
	Checked bool `json:"checked"`
	// OK is true when the chain holds the anchor's commitment.
	OK bool `json:"ok"`
	// ChainID is the chain asked.
	ChainID uint64 `json:"chain_id,omitempty"`
	// Reason says why the check failed or did not run.
	Reason string `json:"reason,omitempty"`
}

// ErrNotFound marks a receipt or other record the node does not have (answered 404).
var ErrNotFound = errors.New("not found")

// ReceiptBackend is the part of Backend behind /api/v1/receipts, the
// ledger and anchors. Errors wrapping ErrBadRequest answer 400, ErrNotFound 404.
type ReceiptBackend interface {
	// Receipts lists the receipts q selects, newest first.
	Receipts(ctx context.Context, q ReceiptQuery) (Receipts, error)
	// Receipt returns one receipt with its entry and proofs.
	Receipt(ctx context.Context, id string) (ReceiptProof, error)
	// VerifyLedger checks the whole ledger.
	VerifyLedger(ctx context.Context) (LedgerCheck, error)
	// Balances sums the ledger per pool from the node's point of view.
	Balances(ctx context.Context) (Balances, error)
	// Anchors returns the anchoring status and the node's own anchors.
	Anchors(ctx context.Context) (Anchors, error)
	// VerifyAnchor checks an anchor record on the node's chain.
	VerifyAnchor(ctx context.Context, a *anchor.Anchor) (AnchorCheck, error)
}

// ParseReceiptQuery reads job, peer and limit from a query string; a
// malformed peer or limit wraps ErrBadRequest.
func ParseReceiptQuery(v url.Values) (ReceiptQuery, error) {
	q := ReceiptQuery{Job: v.Get("job"), Peer: v.Get("peer")}
	if q.Peer != "" {
		if _, err := peer.Decode(q.Peer); err != nil {
			return q, fmt.Errorf("%w: peer %q is not a peer ID", ErrBadRequest, q.Peer)
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return q, fmt.Errorf("%w: limit %q is not a count", ErrBadRequest, s)
		}
		q.Limit = n
	}
	return q, nil
}

// handleReceipts adds the receipt, ledger and anchor endpoints to mux.
func handleReceipts(mux *http.ServeMux, b ReceiptBackend) {
	mux.HandleFunc("GET /api/v1/receipts", func(w http.ResponseWriter, r *http.Request) {
		q, err := ParseReceiptQuery(r.URL.Query())
		if err != nil {
			writeResult(w, 0, nil, err)
			return
		}
		v, err := b.Receipts(r.Context(), q)
		writeLedgerResult(w, v, err)
	})
	mux.HandleFunc("GET /api/v1/receipts/{id}", func(w http.ResponseWriter, r *http.Request) {
		v, err := b.Receipt(r.Context(), r.PathValue("id"))
		writeLedgerResult(w, v, err)
	})
	mux.HandleFunc("GET /api/v1/ledger/verify", func(w http.ResponseWriter, r *http.Request) {
		v, err := b.VerifyLedger(r.Context())
		writeLedgerResult(w, v, err)
	})
	mux.HandleFunc("GET /api/v1/balances", func(w http.ResponseWriter, r *http.Request) {
		v, err := b.Balances(r.Context())
		writeLedgerResult(w, v, err)
	})
	mux.HandleFunc("GET /api/v1/anchors", func(w http.ResponseWriter, r *http.Request) {
		v, err := b.Anchors(r.Context())
		writeLedgerResult(w, v, err)
	})
	mux.HandleFunc("POST /api/v1/anchors/verify", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, anchor.MaxAnchorBytes+1))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: "read anchor: " + err.Error()})
			return
		}
		a, err := anchor.UnmarshalAnchor(body)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
			return
		}
		v, err := b.VerifyAnchor(r.Context(), a)
		writeLedgerResult(w, v, err)
	})
}

// writeLedgerResult answers v, or the error: 404 for one wrapping
// ErrNotFound, else as writeResult.
func writeLedgerResult(w http.ResponseWriter, v any, err error) {
	if errors.Is(err, ErrNotFound) {
		writeJSON(w, http.StatusNotFound, errorBody{Error: err.Error()})
		return
	}
	writeResult(w, http.StatusOK, v, err)
}

// Receipts fetches GET /api/v1/receipts. A bad query is an *Error with Status 400.
func (c *Client) Receipts(ctx context.Context, q ReceiptQuery) (Receipts, error) {
	v := url.Values{}
	if q.Job != "" {
		v.Set("job", q.Job)
	}
	if q.Peer != "" {
		v.Set("peer", q.Peer)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	path := "/api/v1/receipts"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var out Receipts
	err := c.get(ctx, path, requestTimeout, &out)
	return out, err
}

// Receipt fetches GET /api/v1/receipts/{id}. An unknown receipt is an
// *Error with Status 404.
func (c *Client) Receipt(ctx context.Context, id string) (ReceiptProof, error) {
	var out ReceiptProof
	err := c.get(ctx, "/api/v1/receipts/"+url.PathEscape(id), requestTimeout, &out)
	return out, err
}

// VerifyLedger fetches GET /api/v1/ledger/verify, which walks the whole
// ledger: it may take a while on a large one.
func (c *Client) VerifyLedger(ctx context.Context) (LedgerCheck, error) {
	var out LedgerCheck
	err := c.get(ctx, "/api/v1/ledger/verify", 10*time.Minute, &out)
	return out, err
}

// Balances fetches GET /api/v1/balances.
func (c *Client) Balances(ctx context.Context) (Balances, error) {
	var out Balances
	err := c.get(ctx, "/api/v1/balances", requestTimeout, &out)
	return out, err
}

// Anchors fetches GET /api/v1/anchors.
func (c *Client) Anchors(ctx context.Context) (Anchors, error) {
	var out Anchors
	err := c.get(ctx, "/api/v1/anchors", requestTimeout, &out)
	return out, err
}

// VerifyAnchor posts a to /api/v1/anchors/verify: the node checks it on its chain.
func (c *Client) VerifyAnchor(ctx context.Context, a *anchor.Anchor) (AnchorCheck, error) {
	body, err := json.Marshal(a)
	if err != nil {
		return AnchorCheck{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/anchors/verify", bytes.NewReader(body))
	if err != nil {
		return AnchorCheck{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	var out AnchorCheck
	err = c.do(req, http.StatusOK, &out)
	return out, err
}
