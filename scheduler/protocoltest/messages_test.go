package protocoltest

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	recordpb "github.com/libp2p/go-libp2p/core/record/pb"
	"google.golang.org/protobuf/proto"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/anchor"
	"github.com/gpumesh/gpumesh/ledger/merkle"
	"github.com/gpumesh/gpumesh/p2p/capacity"
	"github.com/gpumesh/gpumesh/p2p/coord"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// The instant every test message is dated; a seq as nodes make them, from
// the clock, and a capacity record's, from the clock in nanoseconds.
var (
	t0     = time.Date(2026, 12, 7, 16, 0, 0, 123456789, time.UTC)
	seq    = gossip.ClockSeq(t0)
	capSeq = uint64(t0.UnixNano())
	job    = "0123456789abcdef0123456789abcdef"
)

func newKey(t *testing.T) (crypto.PrivKey, peer.ID) {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, id
}

// schemaMeta is what a schema says about the envelope its message travels in.
type schemaMeta struct {
	PayloadType string `json:"x-payload-type"`
	Domain      string `json:"x-signature-domain"`
}

func readMeta(t *testing.T, name string) schemaMeta {
	t.Helper()
	b, err := os.ReadFile(SchemaPath(name))
	if err != nil {
		t.Fatalf("schema of %s: %v", name, err)
	}
	var m schemaMeta
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("schema of %s: %v", name, err)
	}
	return m
}

// sealed is the payload a signed message carries on the wire: sealed with
// the record package as every sender does, the envelope marshalled,
// unmarshalled again and its payload taken as a receiver sees it.
func sealed(t *testing.T, key crypto.PrivKey, rec record.Record) (payloadType string, payload []byte) {
	t.Helper()
	env, err := record.Seal(rec, key)
	if err != nil {
		t.Fatal(err)
	}
	data, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := record.UnmarshalEnvelope(data)
	if err != nil {
		t.Fatal(err)
	}
	return string(got.PayloadType), got.RawPayload
}

func testCoord() *coord.Coordinate {
	return &coord.Coordinate{Vec: []float64{0.001, -0.002, 0, 0, 0, 0, 0, 0.0005}, Error: 0.4, Adjustment: 0.0001, Height: 0.00002}
}

// signedMessages builds one of every signed message the Go code sends, with
// its optional fields filled, keyed by schema name.
func signedMessages(t *testing.T) map[string]record.Record {
	t.Helper()
	_, self := newKey(t)
	_, other := newKey(t)
	receipt := ledger.Receipt{Job: job, Requester: other.String(), Provider: self.String(), Rank: 1, Attempt: 0, Devices: 2,
		Class: "a100-80gb", Pool: "gpu", Executor: "wasm", Start: t0, End: t0.Add(10 * time.Minute), UnitPrice: 2_000_000,
		ResultDigest: "sha256:" + job + job, ExitStatus: 0, Status: ledger.StatusSucceeded, Seq: 1, Issued: t0.Add(11 * time.Minute),
		GPU: &ledger.GPUUsage{Devices: 2, Samples: 600, BusyMillis: 590000, PeakMemoryBytes: 80 << 30, MeanUtilPercent: 97.5}}
	receipt.Finalize()
	return map[string]record.Record{
		"heartbeat": &gossip.Heartbeat{Seq: seq, Sent: t0, Expires: t0.Add(90 * time.Second), Agent: "gpumesh/test", Coord: testCoord()},
		"job-request": &gossip.JobRequest{ID: job, Seq: seq, Sent: t0, BidDeadline: t0.Add(5 * time.Second), Workers: 2,
			PerWorker: gossip.Resources{GPUs: 1, Pool: "gpu", Class: "a100-80gb", MinVRAMGB: 40, CPUCores: 8, RAMGB: 64},
			MaxRTT:    50 * time.Millisecond, Regions: []string{"eu"}, MaxPrice: 2.5, Duration: time.Hour, Executor: "wasm",
			Workload: "train", Urgency: gossip.UrgencyHigh, Coord: testCoord(), Addrs: []string{"/ip4/10.0.0.1/tcp/4001"}},
		"bid": &gossip.Bid{Job: job, Seq: seq, Sent: t0, Expires: t0.Add(30 * time.Second), Price: 1.75, Workers: 1, Class: "a100-80gb",
			VRAMGB: 80, Coord: testCoord(), CapacitySeq: capSeq, Addrs: []string{"/ip4/10.0.0.2/udp/4001/quic-v1"},
			RTTs: []gossip.PeerRTT{{Peer: other.String(), RTT: 12 * time.Millisecond}}},
		"award": &gossip.Award{Job: job, Provider: self.String(), Seq: seq, Sent: t0, AcceptBy: t0.Add(10 * time.Second), Price: 1.75,
			Ranks: []int{0, 1}, WorldSize: 4, Peers: []string{self.String(), self.String(), other.String(), other.String()},
			Addrs: map[string][]string{other.String(): {"/ip4/10.0.0.3/tcp/4001"}}, Network: job, Measured: true},
		"accept": &gossip.Accept{Job: job, Seq: seq, Sent: t0, ReservedUntil: t0.Add(time.Minute), AwardSeq: seq - 5,
			RTTs: []gossip.PeerRTT{{Peer: other.String(), RTT: 3 * time.Millisecond}, {Peer: self.String(), Err: "unreachable"}}},
		"rtt-probe": &gossip.RTTProbe{Job: job, Nonce: "00112233445566778899aabbccddeeff", Seq: seq, Sent: t0, Deadline: t0.Add(time.Second),
			Candidates: []gossip.RTTCandidate{{Peer: self.String(), Addrs: []string{"/ip4/10.0.0.2/udp/4001/quic-v1"}}, {Peer: other.String()}}},
		"rtt-row": &gossip.RTTRow{Job: job, Nonce: "00112233445566778899aabbccddeeff", Sent: t0,
			RTTs: []gossip.PeerRTT{{Peer: other.String(), RTT: 41 * time.Millisecond}, {Peer: self.String(), Err: "no answer in time"}}},
		"decline":             &gossip.Decline{Job: job, Seq: seq, Sent: t0, AwardSeq: seq - 5, Reason: "busy"},
		"release":             &gossip.Release{Job: job, Provider: self.String(), Seq: seq, Sent: t0, Reason: "job done"},
		"anchor-announcement": &gossip.AnchorAnnouncement{Seq: seq, Sent: t0, Expires: t0.Add(time.Hour), Anchor: []byte(`{"v":1}`)},
		"run-request": &run.RunRequest{Job: job, Seq: seq, Sent: t0, Ranks: []int{0}, WorldSize: 2, Peers: []string{self.String(), other.String()},
			Spec:  executor.Spec{Version: executor.SpecVersion, Executor: "wasm", Wasm: &executor.WasmSpec{Digest: "sha256:" + job + job}, Args: []string{"-n", "3"}},
			Files: []run.File{{Name: run.ModuleFile, Digest: "sha256:" + job + job, Size: 1234}}, Env: map[string]string{"EPOCHS": "3"},
			SkipCached: true, Network: job, Generation: 1},
		"net-member": &run.MemberUpdate{Network: job, Seq: seq, Sent: t0, Ranks: []int{2, 3}, Peer: other.String(), Restart: true},
		"capacity-record": &capacity.Record{Seq: capSeq, Issued: t0, Expires: t0.Add(time.Hour), Agent: "gpumesh/test", Addrs: []string{"/ip4/10.0.0.2/tcp/4001"},
			Devices: []capacity.Device{{Class: "a100-80gb", Pool: "gpu", Model: "NVIDIA A100", MemoryMB: 81920, ComputeCapability: "8.0", Free: true}, {Class: "cpu-x86", Pool: "cpu", Cores: 32, MemoryMB: 65536}},
			Prices:  map[string]float64{"a100-80gb": 1.5}, Country: "DE", Region: "eu", Executors: []string{"wasm", "docker"},
			Hours: []capacity.Window{{From: 0, To: 1440}}, Attributes: map[string]string{"tier": "gold"}, Coord: testCoord(),
			Proofs:   []capacity.Proof{{Class: "a100-80gb", GFLOPS: 150000, N: 4096, At: t0, By: other.String(), Verdict: "pass"}},
			Provable: []string{"a100-80gb"}},
		"receipt":             &receipt,
		"receipt-countersign": &ledger.Countersignature{V: ledger.ReceiptVersion, ReceiptID: receipt.ID, ProviderEnvelope: receipt.ID},
		"checkpoint":          &anchor.Checkpoint{Log: self, Size: 42, Root: merkle.Hash{1, 2, 3}, Time: t0},
	}
}

// TestSignedMessagesMatchTheirSchemas: every signed message, as it travels,
// has the payload type and domain its schema names and validates against it.
func TestSignedMessagesMatchTheirSchemas(t *testing.T) {
	key, _ := newKey(t)
	for name, rec := range signedMessages(t) {
		t.Run(name, func(t *testing.T) {
			meta := readMeta(t, name)
			pt, payload := sealed(t, key, rec)
			if pt != meta.PayloadType {
				t.Errorf("payload type %q, schema says %q", pt, meta.PayloadType)
			}
			if rec.Domain() != meta.Domain {
				t.Errorf("domain %q, schema says %q", rec.Domain(), meta.Domain)
			}
			if err := Validate(name, payload); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestUnsignedMessagesMatchTheirSchemas: the plain JSON answers and events,
// encoded as their senders encode them (json.Marshal of the Go type).
func TestUnsignedMessagesMatchTheirSchemas(t *testing.T) {
	_, other := newKey(t)
	result := &executor.Result{Status: executor.StatusSucceeded, ExitCode: 0, Started: t0, Ended: t0.Add(time.Minute)}
	cases := []struct {
		name string
		msg  any
	}{
		{"market-ack", market.Ack{OK: true}},
		{"market-ack", market.Ack{OK: false, Reason: "unknown_job"}},
		{"run-ack", run.Ack{OK: true, Heartbeat: 10 * time.Second, Cached: []string{"image"}}},
		{"run-ack", run.Ack{OK: false, Reason: "too many pending requests", Busy: true}},
		{"run-event", run.Event{Kind: run.KindHeartbeat}},
		{"run-event", run.Event{Kind: run.KindState, Rank: 1, State: run.StateRunning, At: t0}},
		{"run-event", run.Event{Kind: run.KindLog, Rank: 0, Line: &executor.Line{At: t0, Stream: "stdout", Text: "epoch 1"}}},
		{"run-event", run.Event{Kind: run.KindResult, Rank: 0, Result: result, Outputs: []run.File{{Name: "out/model.bin", Digest: "sha256:" + job + job, Size: 9}, {Name: "out/huge", Size: 1 << 40, Truncated: true}},
			Omitted: 2, GPU: &ledger.GPUUsage{Devices: 1, Samples: 60, BusyMillis: 59000, PeakMemoryBytes: 1 << 30, MeanUtilPercent: 99},
			Net: &run.NetCounters{BytesIn: 1, PacketsIn: 1, BytesOut: 2, PacketsOut: 2, Drops: map[string]uint64{"no_route": 1}}}},
		{"run-event", run.Event{Kind: run.KindEnd, Error: "file module: digest mismatch"}},
		{"market-ack", market.Ack{OK: false, Reason: "signed by " + other.String()}},
	}
	for _, c := range cases {
		b, err := json.Marshal(c.msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := Validate(c.name, b); err != nil {
			t.Error(err)
		}
	}
}

// TestEnvelopeSignatureAsDocumented: the signature of a heartbeat verifies
// over the bytes envelope-1.md spells out, built here by hand:
// uvarint(len(domain)) domain uvarint(len(type)) type uvarint(len(payload)) payload.
func TestEnvelopeSignatureAsDocumented(t *testing.T) {
	key, _ := newKey(t)
	hb := &gossip.Heartbeat{Seq: seq, Sent: t0, Expires: t0.Add(time.Minute), Agent: "by-hand"}
	data, err := gossip.Encode(hb, key)
	if err != nil {
		t.Fatal(err)
	}
	env, err := record.UnmarshalEnvelope(data)
	if err != nil {
		t.Fatal(err)
	}
	var signed []byte
	for _, part := range [][]byte{[]byte("gpumesh-heartbeat"), []byte("/gpumesh/heartbeat/1"), env.RawPayload} {
		signed = binary.AppendUvarint(signed, uint64(len(part)))
		signed = append(signed, part...)
	}
	var raw recordpb.Envelope // the protobuf of envelope-1.md, read as any client would
	if err := proto.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if string(raw.GetPayloadType()) != "/gpumesh/heartbeat/1" || !bytes.Equal(raw.GetPayload(), env.RawPayload) {
		t.Fatalf("protobuf fields 2 and 3 are %q and %q", raw.GetPayloadType(), raw.GetPayload())
	}
	ok, err := env.PublicKey.Verify(signed, raw.GetSignature())
	if err != nil || !ok {
		t.Fatalf("signature does not verify over the documented bytes: %v", err)
	}
	if err := Validate("heartbeat", env.RawPayload); err != nil {
		t.Error(err)
	}
}
