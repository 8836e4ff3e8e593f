package gossip

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const testNonce = "00112233445566778899aabbccddeeff"

// validProbe is a probe naming two candidates.
func validProbe(t testing.TB) *RTTProbe {
	_, a := newKey(t)
	_, b := newKey(t)
	return &RTTProbe{Job: jobID, Nonce: testNonce, Seq: 1, Sent: t0, Deadline: t0.Add(time.Second),
		Candidates: []RTTCandidate{{Peer: a.String(), Addrs: []string{"/ip4/10.0.0.2/udp/4001/quic-v1"}}, {Peer: b.String()}}}
}

// TestRTTRoundValidate: every bound of the probe and the row is checked.
func TestRTTRoundValidate(t *testing.T) {
	_, p := newKey(t)
	if err := validProbe(t).Validate(t0, time.Minute); err != nil {
		t.Fatalf("valid probe: %v", err)
	}
	bad := map[string]func(*RTTProbe){
		"nonce":        func(m *RTTProbe) { m.Nonce = "xyz" },
		"one":          func(m *RTTProbe) { m.Candidates = m.Candidates[:1] },
		"twice":        func(m *RTTProbe) { m.Candidates[1] = m.Candidates[0] },
		"not a peer":   func(m *RTTProbe) { m.Candidates[0].Peer = "p" },
		"long round":   func(m *RTTProbe) { m.Deadline = m.Sent.Add(time.Hour) },
		"many addrs":   func(m *RTTProbe) { m.Candidates[0].Addrs = make([]string, 9) },
		"long address": func(m *RTTProbe) { m.Candidates[0].Addrs = []string{strings.Repeat("a", 300)} },
		"seq":          func(m *RTTProbe) { m.Seq = 0 },
	}
	for name, edit := range bad {
		m := validProbe(t)
		edit(m)
		if err := m.Validate(t0, time.Minute); err == nil {
			t.Errorf("%s: probe valid, want refused", name)
		}
	}
	row := &RTTRow{Job: jobID, Nonce: testNonce, Sent: t0, RTTs: []PeerRTT{{Peer: p.String(), RTT: 40 * time.Millisecond}}}
	if err := row.Validate(t0, time.Minute); err != nil {
		t.Fatalf("valid row: %v", err)
	}
	for name, rtts := range map[string][]PeerRTT{
		"negative": {{Peer: p.String(), RTT: -1}},
		"too long": {{Peer: p.String(), RTT: 2 * time.Minute}},
		"twice":    {{Peer: p.String(), RTT: 1}, {Peer: p.String(), RTT: 2}},
		"not peer": {{Peer: "p", RTT: 1}},
		"big err":  {{Peer: p.String(), Err: strings.Repeat("e", 300)}},
	} {
		r := *row
		r.RTTs = rtts
		if err := r.Validate(t0, time.Minute); err == nil {
			t.Errorf("%s: row valid, want refused", name)
		}
	}
	if err := row.Validate(t0.Add(time.Minute), time.Minute); !errors.Is(err, ErrExpired) {
		t.Errorf("row a minute old: %v, want ErrExpired", err)
	}
}

// FuzzDecodeRTTRound: any bytes as a probe or a row. What decodes
// validates; every error wraps an ErrX sentinel.
func FuzzDecodeRTTRound(f *testing.F) {
	key, p := newKey(f)
	for _, m := range []Message{validProbe(f),
		&RTTRow{Job: jobID, Nonce: testNonce, Sent: t0, RTTs: []PeerRTT{{Peer: p.String(), RTT: time.Millisecond}, {Peer: "x", Err: "e"}}}} {
		data, err := Encode(m, key)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	types := []Type{RTTProbeType, RTTRowType}
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, _, err := Decode(data, types, t0, 96<<10, time.Minute)
		if err == nil {
			if msg == nil || msg.Validate(t0, time.Minute) != nil {
				t.Fatal("decoded a message that does not validate")
			}
			return
		}
		for _, want := range []error{ErrTooLarge, ErrMalformed, ErrNonCanonical, ErrUnknownType, ErrBadSignature, ErrInvalid, ErrExpired} {
			if errors.Is(err, want) {
				return
			}
		}
		t.Fatalf("error %v wraps no ErrX sentinel", err)
	})
}
