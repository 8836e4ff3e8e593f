package market_test

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p/frame"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// rawRecord is a record whose payload is whatever bytes a hostile sender
// chose, signed under a real domain and payload type.
type rawRecord struct {
	domain, codec string
	payload       []byte
}

func (r *rawRecord) Domain() string                          { return r.domain }
func (r *rawRecord) Codec() []byte                           { return []byte(r.codec) }
func (r *rawRecord) MarshalRecord() ([]byte, error)          { return r.payload, nil }
func (r *rawRecord) UnmarshalRecord(b []byte) error          { r.payload = b; return nil }
func (r *rawRecord) Validate(time.Time, time.Duration) error { return nil }

// rawSeal signs payload as a bid with key, whatever it holds.
func rawSeal(t *testing.T, payload string, key crypto.PrivKey) []byte {
	t.Helper()
	return seal(t, &rawRecord{gossip.BidDomain, "/gpumesh/bid/1", []byte(payload)}, key)
}

// TestBadStreamInputAsDocumented sends each bad input market-1.md's "Bad
// input" table lists to a node's market streams and checks the answer the
// page names: an Ack whose reason starts with the documented text, or a
// reset stream.
func TestBadStreamInputAsDocumented(t *testing.T) {
	node, rogue := newPeer(t), newPeer(t)
	connect(t, rogue, node)
	newMarket(t, node, &gossipTo{}, cpuOffer(0.10))
	now := time.Now().UTC()
	stamp := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }
	bid := func(fields string) string {
		return fmt.Sprintf(`{"job":"%s","sent":"%s","expires":"%s","workers":1,"class":"CPU-x86",%s}`,
			strings.Repeat("ab", 16), stamp(0), stamp(30*time.Second), fields)
	}
	valid := rawSeal(t, bid(`"seq":1,"price":1`), rogue.key)
	flipped := append([]byte(nil), valid...)
	flipped[len(flipped)-1] ^= 1
	otherKey, _, _ := crypto.GenerateEd25519Key(nil)
	hb := seal(t, &gossip.Heartbeat{Seq: 1, Sent: now, Expires: now.Add(time.Minute), Agent: "x"}, rogue.key)
	cases := []struct {
		name   string
		proto  protocol.ID
		data   []byte
		prefix string
	}{
		{"frame over the stream's limit", market.BidProtocol, make([]byte, 16<<10+1), "malformed message: frame too large"},
		{"not an envelope", market.BidProtocol, []byte("junk"), "malformed message"},
		{"an unknown protobuf field added", market.BidProtocol, append(append([]byte(nil), valid...), 0x48, 0x01), "envelope not in its canonical encoding"},
		{"a heartbeat on the bid stream", market.BidProtocol, hb, "payload type not allowed on topic"},
		{"a heartbeat on the award stream", market.AwardProtocol, hb, "payload type not allowed on topic"},
		{"a bid on the invite stream", market.InviteProtocol, valid, "payload type not allowed on topic"},
		{"signature over other bytes", market.BidProtocol, flipped, "bad signature"},
		{"payload not JSON", market.BidProtocol, rawSeal(t, "price=1", rogue.key), "malformed message"},
		{"seq of 2^64", market.BidProtocol, rawSeal(t, bid(`"seq":18446744073709551616,"price":1`), rogue.key), "malformed message"},
		{"price NaN", market.BidProtocol, rawSeal(t, bid(`"seq":1,"price":NaN`), rogue.key), "malformed message"},
		{"price as a string", market.BidProtocol, rawSeal(t, bid(`"seq":1,"price":"1"`), rogue.key), "malformed message"},
		{"price negative", market.BidProtocol, rawSeal(t, bid(`"seq":1,"price":-1`), rogue.key), "invalid message"},
		{"seq 0", market.BidProtocol, rawSeal(t, bid(`"seq":0,"price":1`), rogue.key), "invalid message"},
		{"expired", market.BidProtocol, rawSeal(t, strings.NewReplacer(stamp(0), stamp(-2*time.Minute), stamp(30*time.Second), stamp(-time.Minute)).Replace(bid(`"seq":1,"price":1`)), rogue.key), "bid: message expired or from the future"},
		{"signed by another key", market.BidProtocol, rawSeal(t, bid(`"seq":1,"price":1`), otherKey), "signed by someone else"},
		{"an unknown JSON field", market.BidProtocol, rawSeal(t, bid(`"seq":1,"price":1,"from":"x"`), rogue.key), "unknown_job"},
		{"seq past 2^53", market.BidProtocol, rawSeal(t, bid(`"seq":9007199254740993,"price":1`), rogue.key), "unknown_job"},
	}
	for _, c := range cases {
		a := ack(t, send(t, rogue, node.h.ID(), c.proto, c.data))
		if a.OK || !strings.HasPrefix(a.Reason, c.prefix) {
			t.Errorf("%s: answered %+v, want ok false with a reason starting %q", c.name, a, c.prefix)
		}
	}
	// A frame cut short: 5 bytes announced, 1 sent, the write side closed.
	s, err := rogue.h.NewStream(context.Background(), node.h.ID(), market.BidProtocol)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := s.Write([]byte{5, '{'}); err != nil {
		t.Fatal(err)
	}
	_ = s.CloseWrite()
	answer, err := frame.Read(bufio.NewReader(s), 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	if a := ack(t, answer); a.OK || !strings.HasPrefix(a.Reason, "malformed message") {
		t.Errorf("a frame cut short: answered %+v, want ok false with a reason starting %q", a, "malformed message")
	}
}

// TestBadSettleRequestResetsTheStream: a settle request that is not JSON,
// or over 4 KiB, is answered by resetting the stream, nothing sent.
func TestBadSettleRequestResetsTheStream(t *testing.T) {
	node, rogue := newPeer(t), newPeer(t)
	connect(t, rogue, node)
	newMarket(t, node, &gossipTo{}, cpuOffer(0.10))
	for name, data := range map[string][]byte{
		"not JSON":     []byte("settle please"),
		"over 4 KiB":   []byte(`{"job":"` + strings.Repeat("a", 4<<10) + `"}`),
		"a JSON array": []byte(`[1,2]`),
	} {
		s, err := rogue.h.NewStream(context.Background(), node.h.ID(), market.ReceiptProtocol)
		if err != nil {
			t.Fatal(err)
		}
		_ = s.SetDeadline(time.Now().Add(10 * time.Second))
		if err := frame.Write(s, data); err != nil {
			t.Fatal(err)
		}
		_ = s.CloseWrite()
		if answer, err := frame.Read(bufio.NewReader(s), 1<<20); err == nil {
			t.Errorf("%s: answered %q, want the stream reset", name, answer)
		}
		_ = s.Close()
	}
}
