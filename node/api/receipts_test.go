package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/ledger/merkle"
)

type party struct {
	key crypto.PrivKey
	id  peer.ID
}

func newParty(t *testing.T) party {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(k)
	return party{k, id}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// signed is a receipt for a minute of work on 2 devices at $2.50/GPU-hour,
// signed by prov and countersigned by req.
func signed(t *testing.T, prov, req party, job string) ledger.Signed {
	t.Helper()
	d := sha256.Sum256([]byte(job))
	r := ledger.Receipt{
		Job: job, Provider: prov.id.String(), Requester: req.id.String(), Devices: 2, Class: "CPU-x86", Executor: "wasm",
		Start: t0, End: t0.Add(time.Minute), Issued: t0.Add(time.Minute + time.Millisecond),
		UnitPrice: 2_500_000, ResultDigest: hex.EncodeToString(d[:]), Status: ledger.StatusSucceeded, Seq: 1,
	}
	r.Finalize()
	s, err := ledger.Sign(prov.key, r)
	if err != nil {
		t.Fatal(err)
	}
	if s, err = ledger.Countersign(req.key, s); err != nil {
		t.Fatal(err)
	}
	return s
}

// fakeChain is an anchor.Backend holding one transaction.
type fakeChain struct {
	tx   anchor.TxHash
	data []byte
}

func (fakeChain) ChainID(context.Context) (uint64, error) { return 31337, nil }
func (fakeChain) Send(context.Context, []byte) (anchor.TxHash, error) {
	return anchor.TxHash{}, errors.New("read-only")
}
func (c fakeChain) Lookup(_ context.Context, h anchor.TxHash) (anchor.Tx, error) {
	if h != c.tx {
		return anchor.Tx{}, anchor.ErrNotFound
	}
	return anchor.Tx{Hash: h, Data: c.data, Block: 7, BlockHash: anchor.TxHash{7}, Confirmations: 1}, nil
}

// confirmedAnchor signs a checkpoint of l's first size entries with key and
// records it as confirmed in tx.
func confirmedAnchor(t *testing.T, l *ledger.Log, p party, size int64, tx anchor.TxHash) anchor.Anchor {
	t.Helper()
	root, err := l.RootAt(size)
	if err != nil {
		t.Fatal(err)
	}
	cp := &anchor.Checkpoint{Log: p.id, Size: size, Root: root, Time: t0}
	env, err := cp.Sign(p.key)
	if err != nil {
		t.Fatal(err)
	}
	return anchor.Anchor{Envelope: env, ChainID: 31337, Tx: tx, Block: 7, BlockHash: anchor.TxHash{7}, State: anchor.StateConfirmed}
}

// getJSON asks h for path and decodes a 200 answer into out; it returns the
// status and, for another status, the error message.
func getJSON(t *testing.T, h http.Handler, method, path string, body []byte, out any) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, "http://127.0.0.1:7780"+path, bytes.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		var e errorBody
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		return rec.Code, e.Error
	}
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		t.Fatalf("%s %s: %v\n%s", method, path, err, rec.Body)
	}
	return rec.Code, ""
}

// TestReceiptEndpoints serves a real ledger of four receipts through the
// API and checks every endpoint's answer, and that what GET
// /api/v1/receipts/{id} returns verifies on its own, against the head and
// then against an anchored root.
func TestReceiptEndpoints(t *testing.T) {
	prov, req, other := newParty(t), newParty(t), newParty(t)
	l, err := ledger.Open(t.TempDir(), ledger.Options{Self: prov.id, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	var ids []string
	for i, q := range []party{req, req, req, other} {
		s := signed(t, prov, q, fmt.Sprintf("job-%d", i))
		es, err := l.Append(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := es[0].Receipt()
		ids = append(ids, r.ID)
	}
	view := &LedgerView{Log: l, Self: prov.id, Status: anchor.Status{Reason: "anchoring off: no chain configured ([anchor] rpc_url)"}, NoChain: "anchoring off"}
	h := Handler(fakeBackend{view})

	var list Receipts
	if code, msg := getJSON(t, h, "GET", "/api/v1/receipts", nil, &list); code != 200 {
		t.Fatalf("list: %d %s", code, msg)
	}
	if len(list.Receipts) != 4 || list.Size != 4 || list.Log != prov.id.String() {
		t.Fatalf("list: %d receipts, size %d, log %s; want 4, 4, %s", len(list.Receipts), list.Size, list.Log, prov.id)
	}
	for i, row := range list.Receipts {
		if want := ids[3-i]; row.Receipt.ID != want || row.Index != int64(3-i) || row.Role != RoleProvider || row.Anchored {
			t.Errorf("row %d: %s at %d as %s anchored %v; want %s at %d as provider, newest first, not anchored", i, row.Receipt.ID, row.Index, row.Role, row.Anchored, want, 3-i)
		}
	}
	if list.Receipts[0].Counterparty != other.id.String() || list.Receipts[1].Counterparty != req.id.String() {
		t.Errorf("counterparties %s, %s", list.Receipts[0].Counterparty, list.Receipts[1].Counterparty)
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"?job=job-1", ids[1:2]},
		{"?peer=" + other.id.String(), ids[3:4]},
		{"?peer=" + req.id.String() + "&limit=2", []string{ids[2], ids[1]}},
		{"?job=job-1&peer=" + other.id.String(), nil},
		{"?limit=1", ids[3:4]},
		{"?job=nothing", nil},
	} {
		var got Receipts
		if code, msg := getJSON(t, h, "GET", "/api/v1/receipts"+tc.query, nil, &got); code != 200 {
			t.Fatalf("%s: %d %s", tc.query, code, msg)
		}
		var gotIDs []string
		for _, r := range got.Receipts {
			gotIDs = append(gotIDs, r.Receipt.ID)
		}
		if fmt.Sprint(gotIDs) != fmt.Sprint(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.query, gotIDs, tc.want)
		}
	}
	for _, tc := range []struct {
		path string
		code int
		msg  string
	}{
		{"/api/v1/receipts?limit=-1", 400, `limit "-1" is not a count`},
		{"/api/v1/receipts?limit=many", 400, "limit"},
		{"/api/v1/receipts?peer=bob", 400, `peer "bob" is not a peer ID`},
		{"/api/v1/receipts/0123", 404, `no receipt "0123"`},
	} {
		var v any
		if code, msg := getJSON(t, h, "GET", tc.path, nil, &v); code != tc.code || !strings.Contains(msg, tc.msg) {
			t.Errorf("GET %s = %d %q, want %d %q", tc.path, code, msg, tc.code, tc.msg)
		}
	}

	// Not anchored: the proof is against the head, and says why.
	var p ReceiptProof
	if code, msg := getJSON(t, h, "GET", "/api/v1/receipts/"+ids[1], nil, &p); code != 200 {
		t.Fatalf("show: %d %s", code, msg)
	}
	checkProof(t, p, ids[1], 1)
	if p.Anchor != nil || p.Inclusion.Anchored || p.Inclusion.Size != 4 || !strings.Contains(p.NotAnchored, "anchoring off") {
		t.Errorf("unanchored proof: anchor %v, size %d, not_anchored %q", p.Anchor, p.Inclusion.Size, p.NotAnchored)
	}
	if p.Role != RoleProvider || p.Counterparty != req.id.String() || p.ProviderReceives != p.Receipt.Amount-p.Receipt.ProviderFee ||
		p.RequesterPays != p.Receipt.Amount+p.Receipt.RequesterFee || p.PoolReceives != 2*p.Receipt.ProviderFee || p.Receipt.Amount != 83_333 {
		t.Errorf("show: role %s, counterparty %s, amount %d, pays %d, receives %d, pool %d", p.Role, p.Counterparty, p.Receipt.Amount, p.RequesterPays, p.ProviderReceives, p.PoolReceives)
	}

	// Anchored at size 3, with the counterparty's anchor known: entry 1
	// is proven against the anchored root, entry 3 against the head.
	tx := anchor.TxHash{0xaa}
	a := confirmedAnchor(t, l, prov, 3, tx)
	peerA := confirmedAnchor(t, l, prov, 2, anchor.TxHash{0xbb}) // any valid record will do
	view.Own = []anchor.Anchor{a}
	view.Status = anchor.Status{Enabled: true}
	view.PeerAnchor = func(p peer.ID) (anchor.Anchor, bool) { return peerA, p == req.id }
	p = ReceiptProof{}
	getJSON(t, h, "GET", "/api/v1/receipts/"+ids[1], nil, &p)
	checkProof(t, p, ids[1], 1)
	cp, _ := a.Checkpoint()
	if p.Anchor == nil || !p.Inclusion.Anchored || p.Inclusion.Size != 3 || merkle.Hash(p.Inclusion.Root) != cp.Root || p.NotAnchored != "" || p.PeerAnchor == nil || p.PeerAnchor.Tx != peerA.Tx {
		t.Errorf("anchored proof: anchor %v, size %d, peer anchor %v", p.Anchor, p.Inclusion.Size, p.PeerAnchor)
	}
	p = ReceiptProof{}
	getJSON(t, h, "GET", "/api/v1/receipts/"+ids[3], nil, &p)
	checkProof(t, p, ids[3], 3)
	if p.Anchor != nil || p.Inclusion.Size != 4 || !strings.Contains(p.NotAnchored, "pending") || p.PeerAnchor != nil {
		t.Errorf("entry past the anchor: anchor %v, size %d, %q", p.Anchor, p.Inclusion.Size, p.NotAnchored)
	}
	list = Receipts{}
	getJSON(t, h, "GET", "/api/v1/receipts", nil, &list)
	if list.Anchored != 3 || list.Receipts[0].Anchored || !list.Receipts[1].Anchored || !list.Receipts[3].Anchored {
		t.Errorf("list after the anchor: anchored %d, rows %v %v", list.Anchored, list.Receipts[0].Anchored, list.Receipts[1].Anchored)
	}

	// The whole ledger verifies, and matches its anchor; a root the
	// ledger never had does not.
	var check LedgerCheck
	getJSON(t, h, "GET", "/api/v1/ledger/verify", nil, &check)
	if !check.OK || check.Size != 4 || check.Corrupt != nil || len(check.Anchors) != 1 || !check.Anchors[0].Matches {
		t.Errorf("verify: %+v", check)
	}
	var cpBad anchor.Checkpoint = *cp
	cpBad.Root[0] ^= 1
	env, _ := cpBad.Sign(prov.key)
	bad := anchor.Anchor{Envelope: env, ChainID: a.ChainID, Tx: a.Tx, Block: a.Block, BlockHash: a.BlockHash, State: a.State}
	view.Own = []anchor.Anchor{bad}
	check = LedgerCheck{}
	getJSON(t, h, "GET", "/api/v1/ledger/verify", nil, &check)
	if check.OK || len(check.Anchors) != 1 || check.Anchors[0].Matches || !strings.Contains(check.Anchors[0].Error, "the anchor committed") {
		t.Errorf("verify against a rewritten root: %+v", check)
	}
	view.Own = []anchor.Anchor{a}

	var bal Balances
	getJSON(t, h, "GET", "/api/v1/balances", nil, &bal)
	if len(bal.Pools) != 1 || bal.Pools[0].Pool != ledger.DefaultIncentivePool || bal.Pools[0].Earned != 4*83_333 ||
		bal.Pools[0].Receipts != 4 || bal.Pools[0].Net != 4*83_333-bal.Pools[0].ProviderFees {
		t.Errorf("balances: %+v", bal)
	}
	if bal.Wallet != nil {
		t.Errorf("balances without settlement show a wallet: %+v", bal.Wallet)
	}
	eligible := true
	view.Wallet = func(context.Context) *WalletBalances {
		return &WalletBalances{Address: "0xabc", Decimals: 6, Escrow: "250000000", Stake: "100000000", Eligible: &eligible}
	}
	bal = Balances{}
	getJSON(t, h, "GET", "/api/v1/balances", nil, &bal)
	if w := bal.Wallet; w == nil || w.Escrow != "250000000" || w.Stake != "100000000" || w.Eligible == nil || !*w.Eligible {
		t.Errorf("balances with settlement: wallet %+v", bal.Wallet)
	}
	view.Wallet = nil
	var anchors Anchors
	getJSON(t, h, "GET", "/api/v1/anchors", nil, &anchors)
	if !anchors.Status.Enabled || len(anchors.Anchors) != 1 || anchors.Anchors[0].Tx != tx {
		t.Errorf("anchors: %+v", anchors)
	}

	// POST /api/v1/anchors/verify: no chain, the right chain, a chain that
	// holds other data, and a body that is no anchor.
	body, _ := json.Marshal(a)
	var ac AnchorCheck
	getJSON(t, h, "POST", "/api/v1/anchors/verify", body, &ac)
	if ac.Checked || ac.Reason != "anchoring off" {
		t.Errorf("verify anchor without a chain: %+v", ac)
	}
	view.Chain = fakeChain{tx: tx, data: anchor.CommitmentOf(cp).Encode()}
	ac = AnchorCheck{}
	getJSON(t, h, "POST", "/api/v1/anchors/verify", body, &ac)
	if !ac.Checked || !ac.OK || ac.ChainID != 31337 {
		t.Errorf("verify anchor on chain: %+v", ac)
	}
	view.Chain = fakeChain{tx: tx, data: anchor.CommitmentOf(&cpBad).Encode()}
	ac = AnchorCheck{}
	getJSON(t, h, "POST", "/api/v1/anchors/verify", body, &ac)
	if !ac.Checked || ac.OK || !strings.Contains(ac.Reason, "not anchored") {
		t.Errorf("verify anchor against other calldata: %+v", ac)
	}
	if code, msg := getJSON(t, h, "POST", "/api/v1/anchors/verify", []byte(`{"v":1,"checkpoint":"AAAA"}`), &ac); code != 400 || !strings.Contains(msg, "bad anchor") {
		t.Errorf("verify a garbage anchor: %d %q, want 400 bad anchor", code, msg)
	}

	// Through the Go client.
	c := NewClient(httptest.NewServer(h).URL)
	if rs, err := c.Receipts(ctx, ReceiptQuery{Job: "job-2"}); err != nil || len(rs.Receipts) != 1 || rs.Receipts[0].Receipt.ID != ids[2] {
		t.Errorf("client Receipts: %+v %v", rs, err)
	}
	var apiErr *Error
	if _, err := c.Receipt(ctx, "nope"); !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Errorf("client Receipt(nope): %v, want a 404", err)
	}
	if _, err := c.Receipts(ctx, ReceiptQuery{Peer: "bob"}); !errors.As(err, &apiErr) || apiErr.Status != 400 {
		t.Errorf("client Receipts(peer=bob): %v, want a 400", err)
	}
	if ac, err := c.VerifyAnchor(ctx, &a); err != nil || !ac.Checked || ac.OK {
		t.Errorf("client VerifyAnchor: %+v %v", ac, err)
	}

	// A closed ledger is the node's fault: 500.
	l.Close()
	if code, _ := getJSON(t, h, "GET", "/api/v1/receipts/"+ids[0], nil, &p); code != 500 {
		t.Errorf("show on a closed ledger: %d, want 500", code)
	}
}

// checkProof verifies p as a client would: both signatures, the entry's
// bytes and hash, and the inclusion proof against the root it names.
func checkProof(t *testing.T, p ReceiptProof, id string, index int64) {
	t.Helper()
	s, err := ledger.UnmarshalSigned(p.Signed)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ledger.Verify(s)
	if err != nil || r.ID != id || p.Receipt.ID != id {
		t.Fatalf("receipt %s: %v (got %s)", id, err, r.ID)
	}
	e, err := ledger.DecodeEntry(p.Entry.Encoded)
	if err != nil || e.Index != index || p.Entry.Index != index || Hash(e.Hash) != p.Entry.Hash || !bytes.Equal(e.Data, p.Signed) {
		t.Fatalf("entry %d: %v", index, err)
	}
	proof := make([]merkle.Hash, len(p.Inclusion.Proof))
	for i, h := range p.Inclusion.Proof {
		proof[i] = merkle.Hash(h)
	}
	if err := merkle.VerifyInclusion(merkle.LeafHash(p.Entry.Encoded), index, p.Inclusion.Size, proof, merkle.Hash(p.Inclusion.Root)); err != nil {
		t.Fatalf("inclusion of entry %d in %d: %v", index, p.Inclusion.Size, err)
	}
}

// TestLedgerVerifyReportsCorruption: a ledger opened as a node that is not
// party to its receipts fails Verify at entry 0, and the endpoint says so
// with the index and the reason (200: the check ran).
func TestLedgerVerifyReportsCorruption(t *testing.T) {
	prov, req, stranger := newParty(t), newParty(t), newParty(t)
	dir := t.TempDir()
	l, err := ledger.Open(dir, ledger.Options{Self: prov.id, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), signed(t, prov, req, "j")); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if l, err = ledger.Open(dir, ledger.Options{Self: stranger.id, NoSync: true}); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h := Handler(fakeBackend{&LedgerView{Log: l, Self: stranger.id}})
	var check LedgerCheck
	if code, msg := getJSON(t, h, "GET", "/api/v1/ledger/verify", nil, &check); code != 200 {
		t.Fatalf("verify: %d %s", code, msg)
	}
	if check.OK || check.Corrupt == nil || check.Corrupt.Index != 0 || !strings.Contains(check.Corrupt.Error, "not a party") {
		t.Fatalf("verify = %+v, want a corrupt entry 0 naming the party problem", check)
	}
}
