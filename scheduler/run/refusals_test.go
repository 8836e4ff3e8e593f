package run

import (
	"bufio"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p/frame"
)

// rawRecord is a message whose payload is whatever bytes a hostile
// requester chose, signed under a real domain and payload type: a run
// request's unless member is set, else a membership update's.
type rawRecord struct {
	payload []byte
	member  bool
}

func (r *rawRecord) Domain() string {
	if r.member {
		return MemberDomain
	}
	return RequestDomain
}

func (r *rawRecord) Codec() []byte {
	if r.member {
		return []byte(MemberCodec)
	}
	return []byte(RequestCodec)
}

func (r *rawRecord) MarshalRecord() ([]byte, error)          { return r.payload, nil }
func (r *rawRecord) UnmarshalRecord(b []byte) error          { r.payload = b; return nil }
func (r *rawRecord) Validate(time.Time, time.Duration) error { return nil }

// TestBadRunRequestsAsDocumented sends each bad first frame run-1.md's
// "Bad input" table lists and checks the Ack the page names: ok false,
// not busy, a reason starting with the documented text.
func TestBadRunRequestsAsDocumented(t *testing.T) {
	prov := newProvider(t, ServerConfig{})
	n, other := newNode(t), newNode(t)
	connect(n, prov.node)
	good := wasmRequest(jobID(t), []int{0}, []peer.ID{prov.ID()})
	good.Seq, good.Sent = 1, time.Now()
	good.Files = []File{{Name: ModuleFile, Digest: sha([]byte("m")), Size: 1}}
	good.Spec.Wasm.Digest = good.Files[0].Digest
	payload, err := good.MarshalRecord()
	if err != nil {
		t.Fatal(err)
	}
	sealRaw := func(p string) []byte {
		b, err := gossip.Encode(&rawRecord{payload: []byte(p)}, n.key)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	swap := func(from, to string) []byte {
		if !strings.Contains(string(payload), from) {
			t.Fatalf("%s not in %s", from, payload)
		}
		return sealRaw(strings.Replace(string(payload), from, to, 1))
	}
	valid := sealRaw(string(payload))
	flipped := append([]byte(nil), valid...)
	flipped[len(flipped)-1] ^= 1
	forged, err := gossip.Encode(good, other.key)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := gossip.Encode(&gossip.Heartbeat{Seq: 1, Sent: time.Now(), Expires: time.Now().Add(time.Minute), Agent: "x"}, n.key)
	if err != nil {
		t.Fatal(err)
	}
	old := good.Sent.Add(-10 * time.Minute).Format(time.RFC3339Nano)
	sent, _ := good.Sent.MarshalText()
	cases := []struct {
		name   string
		raw    []byte // written as is, then the write side closed
		prefix string
	}{
		{"a length over 2 MiB", binary.AppendUvarint(nil, MaxRequestBytes+1), "read run request: frame too large"},
		{"a frame cut short", []byte{9, '{'}, "read run request: unexpected EOF"},
		{"not an envelope", frameOf([]byte("junk")), "malformed message"},
		{"an unknown protobuf field added", frameOf(append(append([]byte(nil), valid...), 0x48, 0x01)), "envelope not in its canonical encoding"},
		{"a heartbeat", frameOf(hb), "payload type not allowed on topic"},
		{"signature over other bytes", frameOf(flipped), "bad signature"},
		{"payload not JSON", frameOf(sealRaw("run")), "malformed message"},
		{"seq of 2^64", frameOf(swap(`"seq":1`, `"seq":18446744073709551616`)), "malformed message"},
		{"size negative", frameOf(swap(`"size":1`, `"size":-1`)), "invalid message"},
		{"size as a string", frameOf(swap(`"size":1`, `"size":"1"`)), "malformed message"},
		{"seq 0", frameOf(swap(`"seq":1`, `"seq":0`)), "invalid message"},
		{"wall time negative", frameOf(swap(`"limits":{}`, `"limits":{"wall_ns":-1}`)), "invalid message"},
		{"sent 10 minutes ago", frameOf(swap(string(sent), old)), "run-request: message expired or from the future"},
		{"signed by another key", frameOf(forged), "signed by someone else"},
	}
	for _, c := range cases {
		st, err := n.NewStream(t.Context(), prov.ID(), Protocol)
		if err != nil {
			t.Fatal(err)
		}
		_ = st.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := st.Write(c.raw); err != nil {
			t.Fatal(err)
		}
		_ = st.CloseWrite()
		b, err := frame.Read(bufio.NewReader(st), maxAckBytes)
		_ = st.Reset()
		if err != nil {
			t.Errorf("%s: no ack: %v", c.name, err)
			continue
		}
		a, err := decodeAck(b)
		if err != nil || a.OK || a.Busy || !strings.HasPrefix(a.Reason, c.prefix) {
			t.Errorf("%s: answered %+v (%v), want ok false, not busy, a reason starting %q", c.name, a, err, c.prefix)
		}
	}
	if begins, _ := prov.auth.calls(); len(begins) != 0 {
		t.Errorf("BeginRun called for bad requests: %q", begins)
	}
}

// frameOf is b as one frame.
func frameOf(b []byte) []byte { return append(binary.AppendUvarint(nil, uint64(len(b))), b...) }

// TestBadMemberUpdatesAsDocumented: net-1.md's bad input on
// /gpumesh/net-member/1. A frame over 16 KiB or cut short resets the
// stream; anything else bad is answered by an Ack with ok false and the
// documented reason prefix.
func TestBadMemberUpdatesAsDocumented(t *testing.T) {
	prov := newProvider(t, ServerConfig{})
	n, other := newNode(t), newNode(t)
	connect(n, prov.node)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	member := func(fields string) []byte {
		b, err := gossip.Encode(&rawRecord{payload: []byte(`{"network":"` + strings.Repeat("ab", 16) + `","sent":"` + now + `","ranks":[1],"peer":"` + other.ID().String() + `",` + fields + `}`), member: true}, n.key)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	forged, err := gossip.Encode(&MemberUpdate{Network: strings.Repeat("ab", 16), Seq: 1, Sent: time.Now(), Ranks: []int{1}, Peer: other.ID().String()}, other.key)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := gossip.Encode(&gossip.Heartbeat{Seq: 1, Sent: time.Now(), Expires: time.Now().Add(time.Minute), Agent: "x"}, n.key)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		raw    []byte
		prefix string // "" for a reset stream
	}{
		{"a length over 16 KiB", binary.AppendUvarint(nil, MaxMemberBytes+1), ""},
		{"a frame cut short", []byte{9, '{'}, ""},
		{"not an envelope", frameOf([]byte("junk")), "malformed message"},
		{"a heartbeat", frameOf(hb), "payload type not allowed on topic"},
		{"seq of 2^64", frameOf(member(`"seq":18446744073709551616`)), "malformed message"},
		{"rank as a string", frameOf(member(`"seq":1,"ranks":["1"]`)), "malformed message"},
		{"seq 0", frameOf(member(`"seq":0`)), "invalid message"},
		{"signed by another key", frameOf(forged), "signed by "},
		{"a network not here", frameOf(member(`"seq":1`)), "network " + strings.Repeat("ab", 16) + ": " + ErrNoNetwork.Error()},
	}
	for _, c := range cases {
		st, err := n.NewStream(t.Context(), prov.ID(), MemberProtocol)
		if err != nil {
			t.Fatal(err)
		}
		_ = st.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := st.Write(c.raw); err != nil {
			t.Fatal(err)
		}
		_ = st.CloseWrite()
		b, err := frame.Read(bufio.NewReader(st), maxAckBytes)
		_ = st.Reset()
		if c.prefix == "" {
			if err == nil {
				t.Errorf("%s: answered %q, want the stream reset", c.name, b)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: no ack: %v", c.name, err)
			continue
		}
		a, err := decodeAck(b)
		if err != nil || a.OK || !strings.HasPrefix(a.Reason, c.prefix) {
			t.Errorf("%s: answered %+v (%v), want ok false, a reason starting %q", c.name, a, err, c.prefix)
		}
	}
}
