package evm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/ledger/anchor/evm/evmtest"
)

func newSim(t *testing.T) *Simulated {
	t.Helper()
	s, err := NewSimulated(anchor.Config{Timeout: anchor.Duration(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func simConfig() anchor.Config {
	cfg := anchor.DefaultConfig()
	cfg.Simulated = true
	cfg.Every = 8
	cfg.Timeout = anchor.Duration(2 * time.Second)
	return cfg
}

func TestSimulatedAnchorsAndProofs(t *testing.T) {
	s := newSim(t)
	r := newRig(t, simConfig(), s)
	ctx := context.Background()
	for _, n := range []int{8, 3, 8} {
		r.log.Add(t, n)
		if err := r.a.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r.flush(t)
	anchors := confirmed(r.a)
	if got := sizes(anchors); fmt.Sprint(got) != "[8 19]" {
		t.Fatalf("anchored sizes %v, want [8 19]", got)
	}
	checkProofs(t, s, r.log, anchors)
	if id, _ := s.ChainID(ctx); id != SimulatedChainID || anchors[0].ChainID != SimulatedChainID {
		t.Fatalf("chain id %d, anchor's %d", id, anchors[0].ChainID)
	}
	t.Logf("gas used by one anchor on the simulated chain: %d", anchors[0].GasUsed)
}

// TestSimulatedReorg replaces the block holding a confirmed anchor. When the
// reorg keeps the transaction (it goes back to the pool and is mined in a
// new block), the record follows it; when the transaction is gone, the
// anchor is marked dropped and re-sent.
func TestSimulatedReorg(t *testing.T) {
	ctx := context.Background()
	t.Run("moved", func(t *testing.T) {
		s := newSim(t)
		r := newRig(t, simConfig(), s)
		r.log.Add(t, 8)
		if err := r.a.Step(ctx); err != nil {
			t.Fatal(err)
		}
		before := confirmed(r.a)[0]
		if err := s.Reorg(ctx, 1, true); err != nil {
			t.Fatal(err)
		}
		r.clock.advance(time.Minute) // confirmed anchors are re-checked every minute
		if err := r.a.Step(ctx); err != nil {
			t.Fatal(err)
		}
		all := r.a.Anchors()
		if len(all) != 1 || all[0].State != anchor.StateConfirmed || all[0].BlockHash == before.BlockHash {
			t.Fatalf("after a reorg that kept the tx: %+v", all)
		}
		if !strings.Contains(all[0].Note, "moved by a reorg") {
			t.Fatalf("note %q", all[0].Note)
		}
		if err := anchor.VerifyOnChain(ctx, s, &all[0]); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("dropped", func(t *testing.T) {
		s := newSim(t)
		r := newRig(t, simConfig(), s)
		r.log.Add(t, 8)
		if err := r.a.Step(ctx); err != nil {
			t.Fatal(err)
		}
		first := confirmed(r.a)[0]
		if err := s.Reorg(ctx, 1, false); err != nil {
			t.Fatal(err)
		}
		if err := anchor.VerifyOnChain(ctx, s, &first); err == nil || !strings.Contains(err.Error(), "not found: dropped by a reorg?") {
			t.Fatalf("VerifyOnChain after the reorg = %v", err)
		}
		r.clock.advance(time.Minute)
		if err := r.a.Step(ctx); err != nil {
			t.Fatal(err)
		}
		all := r.a.Anchors()
		if len(all) != 2 || all[0].State != anchor.StateDropped || all[1].State != anchor.StateConfirmed || all[1].Replaces != first.Tx {
			t.Fatalf("after the reorg: %+v", r.a.Status())
		}
		if !strings.Contains(all[0].Note, "dropped by a reorg") || !strings.Contains(all[1].Note, "re-sends "+first.Tx.String()) {
			t.Fatalf("notes %q / %q", all[0].Note, all[1].Note)
		}
		onDisk, err := anchor.LoadAnchors(r.dir)
		if err != nil || len(onDisk) != 2 || onDisk[0].State != anchor.StateDropped {
			t.Fatalf("anchors.json: %v %+v", err, onDisk)
		}
		checkProofs(t, s, r.log, all[1:])
	})
}

// proxy is a JSON-RPC endpoint in front of the simulated chain that can hang
// or lie.
type proxy struct {
	rc     *rpc.Client
	hang   atomic.Bool
	tamper atomic.Bool
	calls  atomic.Int64
	// release ends hung requests: a handler that has read its body notices
	// the client hanging up, but Close should not depend on it.
	release chan struct{}
}

func newProxy(t *testing.T, s *Simulated) (*proxy, *httptest.Server) {
	t.Helper()
	p := &proxy{rc: serveRPC(t, s.chain), release: make(chan struct{})}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(p.release) }) // runs first: hung handlers return
	return p, srv
}

// serveRPC serves c's eth_ methods that ethclient calls for the EVM backend
// on an in-process JSON-RPC server, answering as a node does.
func serveRPC(t *testing.T, c *devChain) *rpc.Client {
	t.Helper()
	srv := rpc.NewServer()
	if err := srv.RegisterName("eth", ethAPI{c}); err != nil {
		t.Fatal(err)
	}
	rc := rpc.DialInProc(srv)
	t.Cleanup(func() { rc.Close(); srv.Stop() })
	return rc
}

// ethAPI is the eth_ namespace of a node over a dev chain. Its results are
// what geth returns: hex quantities, headers, transactions with their block,
// receipts, and null for what is unknown.
type ethAPI struct{ c *devChain }

func (a ethAPI) ChainId(ctx context.Context) (*hexutil.Big, error) {
	id, err := a.c.ChainID(ctx)
	return (*hexutil.Big)(id), err
}

func (a ethAPI) BlockNumber(ctx context.Context) (hexutil.Uint64, error) {
	n, err := a.c.BlockNumber(ctx)
	return hexutil.Uint64(n), err
}

func (a ethAPI) GetBlockByNumber(ctx context.Context, n rpc.BlockNumber, _ bool) (*types.Header, error) {
	h, err := a.c.HeaderByNumber(ctx, big.NewInt(n.Int64()))
	if errors.Is(err, ethereum.NotFound) {
		return nil, nil
	}
	return h, err
}

func (a ethAPI) GetTransactionCount(ctx context.Context, addr common.Address, _ string) (hexutil.Uint64, error) {
	n, err := a.c.PendingNonceAt(ctx, addr)
	return hexutil.Uint64(n), err
}

// callArgs is eth_estimateGas's call object, as ethclient sends it.
type callArgs struct {
	From       common.Address   `json:"from"`
	To         *common.Address  `json:"to"`
	Input      hexutil.Bytes    `json:"input"`
	Value      *hexutil.Big     `json:"value"`
	Gas        hexutil.Uint64   `json:"gas"`
	AccessList types.AccessList `json:"accessList"`
}

func (a ethAPI) EstimateGas(ctx context.Context, args callArgs) (hexutil.Uint64, error) {
	gas, err := a.c.EstimateGas(ctx, ethereum.CallMsg{
		From: args.From, To: args.To, Data: args.Input, Value: (*big.Int)(args.Value), Gas: uint64(args.Gas), AccessList: args.AccessList,
	})
	return hexutil.Uint64(gas), err
}

func (a ethAPI) GasPrice(ctx context.Context) (*hexutil.Big, error) {
	p, err := a.c.SuggestGasPrice(ctx)
	return (*hexutil.Big)(p), err
}

func (a ethAPI) MaxPriorityFeePerGas(ctx context.Context) (*hexutil.Big, error) {
	p, err := a.c.SuggestGasTipCap(ctx)
	return (*hexutil.Big)(p), err
}

func (a ethAPI) SendRawTransaction(ctx context.Context, raw hexutil.Bytes) (common.Hash, error) {
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(raw); err != nil {
		return common.Hash{}, err
	}
	return tx.Hash(), a.c.SendTransaction(ctx, tx)
}

func (a ethAPI) GetTransactionByHash(ctx context.Context, h common.Hash) (map[string]any, error) {
	tx, _, err := a.c.TransactionByHash(ctx, h)
	if errors.Is(err, ethereum.NotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	r, err := a.c.TransactionReceipt(ctx, h)
	if err != nil {
		return nil, err
	}
	from, err := types.Sender(a.c.signer, tx)
	if err != nil {
		return nil, err
	}
	enc, _ := tx.MarshalJSON()
	var out map[string]any
	if err := json.Unmarshal(enc, &out); err != nil {
		return nil, err
	}
	out["blockNumber"], out["blockHash"] = (*hexutil.Big)(r.BlockNumber), r.BlockHash
	out["transactionIndex"], out["from"] = hexutil.Uint(r.TransactionIndex), from
	return out, nil
}

func (a ethAPI) GetTransactionReceipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	r, err := a.c.TransactionReceipt(ctx, h)
	if errors.Is(err, ethereum.NotFound) {
		return nil, nil
	}
	return r, err
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.calls.Add(1)
	body, _ := io.ReadAll(r.Body)
	if p.hang.Load() {
		select {
		case <-r.Context().Done():
		case <-p.release:
		}
		return
	}
	var req struct {
		ID     json.RawMessage   `json:"id"`
		Method string            `json:"method"`
		Params []json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	args := make([]any, len(req.Params))
	for i, a := range req.Params {
		args[i] = a
	}
	var res json.RawMessage
	reply := map[string]any{"jsonrpc": "2.0", "id": req.ID}
	if err := p.rc.CallContext(r.Context(), &res, req.Method, args...); err != nil {
		reply["error"] = map[string]any{"code": -32000, "message": err.Error()}
	} else {
		if p.tamper.Load() && req.Method == "eth_getTransactionByHash" && string(res) != "null" {
			var tx map[string]any
			_ = json.Unmarshal(res, &tx)
			data, _ := hexutil.Decode(tx["input"].(string))
			data[len(anchor.CommitmentMagic)+8] ^= 0xff // the root's first byte
			tx["input"] = hexutil.Encode(data)
			res, _ = json.Marshal(tx)
		}
		reply["result"] = res
	}
	w.Header().Set("content-type", "application/json")
	_ = json.NewEncoder(w).Encode(reply)
}

// dialProxy dials the proxy as a node would: URL and key from config and env.
func dialProxy(t *testing.T, s *Simulated, url string, timeout time.Duration) *EVM {
	t.Helper()
	cfg := simConfig()
	cfg.Simulated = false
	cfg.RPCURL = url
	cfg.KeyEnv = "TEST_ANCHOR_KEY"
	cfg.Timeout = anchor.Duration(timeout)
	key := hexutil.Encode(crypto.FromECDSA(s.key))
	e, err := Dial(context.Background(), cfg, func(k string) string {
		if k == "TEST_ANCHOR_KEY" {
			return key
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestRPCTimeoutIsRetried: an endpoint that hangs gives a clear error, the
// pending anchor stays on disk, Status says it is retried, and once the
// endpoint answers the anchor lands; nothing is lost. The key shows nowhere.
func TestRPCTimeoutIsRetried(t *testing.T) {
	s := newSim(t)
	p, srv := newProxy(t, s)
	e := dialProxy(t, s, srv.URL+"/v3/APIKEY-IN-PATH", 300*time.Millisecond)
	cfg := simConfig()
	cfg.Simulated, cfg.RPCURL, cfg.Timeout = false, srv.URL, anchor.Duration(300*time.Millisecond)
	r := newRig(t, cfg, e)
	ctx := context.Background()

	p.hang.Store(true)
	r.log.Add(t, 8)
	start := time.Now()
	err := r.a.Step(ctx)
	if !errors.Is(err, anchor.ErrTimeout) || !strings.Contains(err.Error(), "rpc timeout after 300ms") {
		t.Fatalf("step against a hanging endpoint = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("the step took %s: the timeout did not bound it", d)
	}
	if strings.Contains(err.Error(), "APIKEY") {
		t.Fatalf("the URL's secret path shows: %v", err)
	}
	st := r.a.Status()
	if len(st.Pending) != 1 || !strings.Contains(st.Retrying, "did not land") || !strings.Contains(st.Retrying, "rpc timeout after 300ms") {
		t.Fatalf("status: %+v", st)
	}
	onDisk, _ := anchor.LoadAnchors(r.dir)
	if len(onDisk) != 1 || onDisk[0].State != anchor.StatePending {
		t.Fatalf("on disk: %+v", onDisk)
	}

	r.clock.advance(500 * time.Millisecond) // within the 1s backoff
	calls := p.calls.Load()
	_ = r.a.Step(ctx)
	if got := p.calls.Load(); got != calls {
		t.Fatalf("%d RPC calls within the backoff, want none", got-calls)
	}

	p.hang.Store(false)
	r.clock.advance(time.Second)
	if err := r.a.Step(ctx); err != nil {
		t.Fatal(err)
	}
	anchors := confirmed(r.a)
	if len(anchors) != 1 || anchors[0].Attempts < 2 {
		t.Fatalf("after the endpoint came back: %+v", r.a.Status())
	}
	if err := anchor.VerifyOnChain(ctx, s, &anchors[0]); err != nil {
		t.Fatal(err)
	}
	if st := r.a.Status(); st.Retrying != "" || st.Error != "" {
		t.Fatalf("status after recovery: %+v", st)
	}
	assertNoKey(t, s, r, e)
}

// TestLyingEndpointFailsVerification: an endpoint that returns the anchor's
// transaction with another root in its calldata is caught, and so is an
// anchor whose record names a transaction carrying another checkpoint.
func TestLyingEndpointFailsVerification(t *testing.T) {
	s := newSim(t)
	p, srv := newProxy(t, s)
	e := dialProxy(t, s, srv.URL, 5*time.Second)
	r := newRig(t, simConfig(), s)
	ctx := context.Background()
	r.log.Add(t, 8)
	if err := r.a.Step(ctx); err != nil {
		t.Fatal(err)
	}
	a := confirmed(r.a)[0]
	if err := anchor.VerifyOnChain(ctx, e, &a); err != nil {
		t.Fatalf("through the honest proxy: %v", err)
	}
	p.tamper.Store(true)
	err := anchor.VerifyOnChain(ctx, e, &a)
	if !errors.Is(err, ErrBadNode) {
		t.Fatalf("through the lying proxy: %v, want ErrBadNode", err)
	}
	t.Logf("lying endpoint: %v", err)
	p.tamper.Store(false)

	// A second log anchors; the first anchor's record is edited to name
	// that transaction.
	r2 := newRig(t, simConfig(), s)
	r2.log.Add(t, 9)
	if err := r2.a.Step(ctx); err != nil {
		t.Fatal(err)
	}
	forged := a
	forged.Tx = confirmed(r2.a)[0].Tx
	err = anchor.VerifyOnChain(ctx, e, &forged)
	if !errors.Is(err, anchor.ErrNotAnchored) || !strings.Contains(err.Error(), "root on chain ") || !strings.Contains(err.Error(), "differs from checkpoint's ") {
		t.Fatalf("an anchor naming another tx: %v", err)
	}
	t.Logf("other root: %v", err)
}

// TestChainIDMismatch: a configured chain ID the node does not serve is an
// error that names both.
func TestChainIDMismatch(t *testing.T) {
	s := newSim(t)
	_, srv := newProxy(t, s)
	cfg := simConfig()
	cfg.Simulated, cfg.RPCURL, cfg.ChainID = false, srv.URL, 5
	key := hexutil.Encode(crypto.FromECDSA(s.key))
	e, err := Dial(context.Background(), cfg, func(string) string { return key })
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	_, err = e.Send(context.Background(), []byte("x"))
	if !errors.Is(err, ErrChainMismatch) || !strings.Contains(err.Error(), "chain_id is 5 but the node at "+srv.URL+" serves chain 1337") {
		t.Fatalf("Send = %v", err)
	}
}

func TestDialNeverShowsTheKey(t *testing.T) {
	bare := strings.TrimPrefix(evmtest.AnvilKey, "0x")
	cfg := anchor.DefaultConfig()
	cfg.RPCURL = "http://127.0.0.1:1"
	for _, bad := range []string{"0x" + strings.Repeat("0", 64), "0x" + strings.Repeat("f", 64)} { // not valid secp256k1 keys
		_, err := Dial(context.Background(), cfg, func(string) string { return bad })
		if !errors.Is(err, anchor.ErrNoKey) || strings.Contains(err.Error(), bad[2:10]) {
			t.Errorf("Dial with an invalid key: %v", err)
		}
	}
	e, err := Dial(context.Background(), cfg, func(string) string { return evmtest.AnvilKey })
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	shown := fmt.Sprintf("%v %+v %#v %s", e, e, e, e)
	if strings.Contains(strings.ToLower(shown), bare[:16]) || !strings.Contains(shown, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266") {
		t.Fatalf("EVM shows as %q", shown)
	}
	// A call that fails still does not show it.
	_, err = e.Send(context.Background(), []byte("x"))
	if err == nil || strings.Contains(strings.ToLower(err.Error()), bare[:16]) {
		t.Fatalf("Send to a closed port = %v", err)
	}
}

// assertNoKey checks the logs, status, anchors file and backend text of a
// run for the payer's private key.
func assertNoKey(t *testing.T, s *Simulated, r *rig, e *EVM) {
	t.Helper()
	key := strings.ToLower(hexutil.Encode(crypto.FromECDSA(s.key))[2:])
	st, _ := json.Marshal(r.a.Status())
	file, _ := os.ReadFile(filepath.Join(r.dir, anchor.FileName))
	all := strings.ToLower(strings.Join([]string{r.logs.String(), string(st), string(file), fmt.Sprintf("%v %+v %#v", e, e, e)}, "\n"))
	if strings.Contains(all, key[:16]) {
		t.Fatal("the private key shows in logs, status, anchors.json or the backend's text")
	}
	if !bytes.Contains([]byte(r.logs.String()), []byte("anchor not sent")) {
		t.Fatalf("the logs do not say the anchor was retried:\n%s", r.logs.String())
	}
}
