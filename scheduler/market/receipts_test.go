package market

import (
	"bufio"
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

func testPeer(t *testing.T) peer.ID {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestCheckReceipt: the requester countersigns a provider's receipt only if
// it states what the requester observed; each way of stating more or
// something else is refused with its reason.
func TestCheckReceipt(t *testing.T) {
	reqID, provID := testPeer(t), testPeer(t)
	m := &requester{core: &core{self: reqID}}
	start := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	served := 40 * time.Second
	j := &job{req: &gossip.JobRequest{ID: "job1", Workers: 2, PerWorker: gossip.Resources{GPUs: 1}}}
	mb := &member{peer: provID, ranks: []int{1}, req: "job1", price: 0.5}
	u := Usage{Start: start, End: start.Add(served)}
	res := executor.Result{Status: executor.StatusSucceeded}
	outs := []run.File{{Name: "out.txt", Digest: "sha256:00", Size: 1}}
	o := run.Outcome{Results: map[int]executor.Result{1: res}, Outputs: map[int][]run.File{1: outs}}
	honest := ledger.Receipt{Job: "job1", Requester: reqID.String(), Provider: provID.String(), Rank: 1, Devices: 1,
		Start: start.Add(-20 * time.Millisecond), End: start.Add(served), UnitPrice: 500000, Seq: 1, Issued: time.Now(),
		ResultDigest: receiptDigest(run.ResultDigest(res, outs)), Status: ledger.StatusSucceeded}
	honest.Finalize()
	if why := m.checkReceipt(j, mb, u, o, honest, map[int]bool{}); why != "" {
		t.Fatalf("the honest receipt was refused: %s", why)
	}
	for name, c := range map[string]struct {
		edit func(*ledger.Receipt)
		want string
	}{
		"longer than served":  {func(r *ledger.Receipt) { r.End = r.End.Add(10 * time.Second) }, "observed"},
		"another price":       {func(r *ledger.Receipt) { r.UnitPrice = 900000 }, "unit price"},
		"another result":      {func(r *ledger.Receipt) { r.ResultDigest = strings.Repeat("ab", 32) }, "result digest"},
		"a rank not run":      {func(r *ledger.Receipt) { r.Rank = 0 }, "rank 0"},
		"more devices":        {func(r *ledger.Receipt) { r.Devices = 8 }, "devices"},
		"another job":         {func(r *ledger.Receipt) { r.Job = "job2" }, "job job2"},
		"another requester":   {func(r *ledger.Receipt) { r.Requester = provID.String() }, "parties"},
		"a failover claimed":  {func(r *ledger.Receipt) { r.Attempt = 1 }, "attempt"},
		"a start far away":    {func(r *ledger.Receipt) { r.Start, r.End = r.Start.Add(-time.Hour), r.End.Add(-time.Hour) }, "minute"},
		"no result delivered": {func(r *ledger.Receipt) { r.ResultDigest = "" }, "result digest"},
	} {
		r := honest
		c.edit(&r)
		r.Finalize()
		why := m.checkReceipt(j, mb, u, o, r, map[int]bool{})
		if !strings.Contains(why, c.want) {
			t.Errorf("%s: refusal %q, want it to mention %q", name, why, c.want)
		}
	}
	// The same rank twice in one offer: the second is refused.
	seen := map[int]bool{}
	if why := m.checkReceipt(j, mb, u, o, honest, seen); why != "" {
		t.Fatal(why)
	}
	if why := m.checkReceipt(j, mb, u, o, honest, seen); !strings.Contains(why, "twice") {
		t.Errorf("a second receipt for rank 1: %q", why)
	}
}

// FuzzSettleMessages: the receipt exchange's messages (and the Ack that
// answers an invitation) decode from any bytes without panicking; a frame
// over its limit never decodes; and what decodes, written again as a
// frame, decodes to a message that writes the same bytes.
func FuzzSettleMessages(f *testing.F) {
	f.Add([]byte(`{"job":"j","ranks":[0,1],"attempt":1,"replaces":"x"}`))
	f.Add([]byte(`{"receipts":["AQID"],"error":""}`))
	f.Add([]byte(`{"countersigned":["AQID"],"refused":{"a":"b"}}`))
	f.Add([]byte(`{"ok":false,"reason":"busy"}`))
	f.Add([]byte(`{"receipts":["AQID"],"payout":"0x5FbDB2315678afecb367f032d93F642f64180aa3","held":{"nonce":3,"cumulative":"30000"}}`))
	f.Add([]byte(`{"countersigned":["AQID"],"vouchers":["AQID"],"resent":[{"receipt":"AQID","voucher":"AQID"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		framed := appendUvarint(nil, uint64(len(data)))
		framed = append(framed, data...)
		for _, tc := range []struct {
			v     any
			limit int
		}{{&settleRequest{}, maxSettleRequestBytes}, {&settleOffer{}, maxSettleBytes}, {&settleAnswer{}, maxSettleAnswerBytes}} {
			err := readJSON(bufio.NewReader(bytes.NewReader(framed)), tc.limit, tc.v)
			if err != nil {
				continue
			}
			if len(data) > tc.limit {
				t.Fatalf("%T: a frame of %d bytes decoded under a limit of %d", tc.v, len(data), tc.limit)
			}
			again, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatalf("%T: re-encode: %v", tc.v, err)
			}
			back := reflect.New(reflect.TypeOf(tc.v).Elem()).Interface()
			if err := readJSON(bufio.NewReader(bytes.NewReader(append(appendUvarint(nil, uint64(len(again))), again...))), 1<<30, back); err != nil {
				t.Fatalf("%T: re-encoded message does not decode: %v", tc.v, err)
			}
			if third, _ := json.Marshal(back); !bytes.Equal(third, again) {
				t.Fatalf("%T: %s decoded again as %s", tc.v, again, third)
			}
		}
		if a, err := readAck(data); err == nil {
			b, _ := json.Marshal(a)
			if back, err := readAck(b); err != nil || back != a {
				t.Fatalf("ack %+v decoded again as %+v, %v", a, back, err)
			}
		}
	})
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
