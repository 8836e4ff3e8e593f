package gossip

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"

	"github.com/gpumesh/gpumesh/p2p/coord"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func newKey(t testing.TB) (crypto.PrivKey, peer.ID) {
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

// seal signs rec, which need not be a valid Message, the way Encode does.
func seal(t testing.TB, rec record.Record, k crypto.PrivKey) []byte {
	t.Helper()
	b, err := Encode(anyRecord{rec}, k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// anyRecord lets seal encode records that are not Messages, such as one of a type no topic knows.
type anyRecord struct{ record.Record }

func (anyRecord) Validate(time.Time, time.Duration) error { return nil }

func validHeartbeat() *Heartbeat {
	return &Heartbeat{Seq: 1, Sent: t0, Expires: t0.Add(time.Minute), Agent: "gpumesh/test"}
}

// otherDomain is a heartbeat payload signed under a different domain: a
// signature made for another record type must not verify as a heartbeat.
type otherDomain struct{ Heartbeat }

func (*otherDomain) Domain() string { return "gpumesh-something-else" }

func TestDecode(t *testing.T) {
	key, id := newKey(t)
	otherKey, otherID := newKey(t)
	types := []Type{HeartbeatType}
	valid := seal(t, validHeartbeat(), key)

	tampered := bytes.Clone(valid)
	// Flip a byte inside the payload (the JSON agent string) to break the signature.
	i := bytes.Index(tampered, []byte("gpumesh/test"))
	tampered[i] ^= 0x01

	future := validHeartbeat()
	future.Sent, future.Expires = t0.Add(time.Hour), t0.Add(time.Hour+time.Minute)
	expired := validHeartbeat()
	expired.Sent, expired.Expires = t0.Add(-2*time.Minute), t0.Add(-time.Minute)
	zeroSeq := validHeartbeat()
	zeroSeq.Seq = 0
	tooLong := validHeartbeat()
	tooLong.Expires = t0.Add(time.Hour)
	big := validHeartbeat()
	big.Agent = string(bytes.Repeat([]byte("x"), 2000))
	// The same signed heartbeat in other bytes: an unknown field (15)
	// appended, or a decoy payload field in front that the real one
	// overrides. Both verify; neither is how Encode writes it.
	rewrapped := append(bytes.Clone(valid), 15<<3, 1)
	decoy := append([]byte{3<<3 | 2, 1, 'x'}, valid...)

	tests := []struct {
		name string
		data []byte
		from peer.ID
		want error
	}{
		{"valid", valid, id, nil},
		{"too large", seal(t, big, key), id, ErrTooLarge},
		{"garbage", []byte("hello, world"), id, ErrMalformed},
		{"empty", nil, id, ErrMalformed},
		{"unknown type", seal(t, &fakeRecord{}, key), id, ErrUnknownType},
		{"tampered", tampered, id, ErrBadSignature},
		{"rewrapped", rewrapped, id, ErrNonCanonical},
		{"decoy payload", decoy, id, ErrNonCanonical},
		{"other domain", seal(t, &otherDomain{*validHeartbeat()}, key), id, ErrBadSignature},
		{"signed by another peer", seal(t, validHeartbeat(), otherKey), otherID, nil},
		{"from the future", seal(t, future, key), id, ErrExpired},
		{"expired", seal(t, expired, key), id, ErrExpired},
		{"zero seq", seal(t, zeroSeq, key), id, ErrInvalid},
		{"lifetime too long", seal(t, tooLong, key), id, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg, signer, err := Decode(tc.data, types, t0, 1024, 30*time.Second)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode: err = %v, want %v", err, tc.want)
			}
			if tc.want == nil {
				if signer != tc.from {
					t.Errorf("signer = %s, want %s", signer, tc.from)
				}
				hb, ok := msg.(*Heartbeat)
				if !ok || hb.Agent != "gpumesh/test" || hb.Seq != 1 {
					t.Fatalf("decoded %#v, want the heartbeat sent", msg)
				}
			}
		})
	}
	// No types allowed on a topic: everything is refused.
	if _, _, err := Decode(valid, nil, t0, 1024, 0); !errors.Is(err, ErrUnknownType) {
		t.Errorf("Decode on a topic with no types: err = %v, want ErrUnknownType", err)
	}
}

// fakeRecord is a well-signed record of a type no topic allows.
type fakeRecord struct{}

func (*fakeRecord) Domain() string                 { return "gpumesh-fake" }
func (*fakeRecord) Codec() []byte                  { return []byte("/gpumesh/fake/1") }
func (*fakeRecord) MarshalRecord() ([]byte, error) { return []byte("{}"), nil }
func (*fakeRecord) UnmarshalRecord(b []byte) error { return nil }

// FuzzDecode: any bytes on the capacity and anchors topics. What decodes
// is within the size limit and valid (a heartbeat's coordinate included);
// every error wraps one of the ErrX sentinels.
func FuzzDecode(f *testing.F) {
	key, _ := newKey(f)
	f.Add(seal(f, validHeartbeat(), key))
	f.Add(seal(f, &AnchorAnnouncement{Seq: 1, Sent: t0, Expires: t0.Add(time.Minute), Anchor: []byte(`{"anchor":1}`)}, key))
	withCoord := validHeartbeat()
	withCoord.Coord = &coord.Coordinate{Vec: make([]float64, coord.Dimensions), Height: 1e-5}
	f.Add(seal(f, withCoord, key))
	f.Add([]byte{})
	f.Add([]byte("\x0a\x00\x12\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, _, err := Decode(data, []Type{HeartbeatType, AnchorType}, t0, 64<<10, time.Minute)
		if err == nil && msg == nil {
			t.Fatal("nil message without an error")
		}
		if err == nil && (len(data) > 64<<10 || msg.Validate(t0, time.Minute) != nil) {
			t.Fatalf("decoded %d bytes into a message that does not validate: %+v", len(data), msg)
		}
		if err != nil {
			for _, want := range []error{ErrTooLarge, ErrMalformed, ErrNonCanonical, ErrUnknownType, ErrBadSignature, ErrInvalid, ErrExpired} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("error %v wraps no ErrX sentinel", err)
		}
	})
}

func TestPresenceSequenceKeepsIncreasing(t *testing.T) {
	p := newPresence("a")
	first := p.next(t0, time.Second)
	// The clock goes back: the sequence must still increase.
	second := p.next(t0.Add(-time.Hour), time.Second)
	if second.Seq <= first.Seq {
		t.Fatalf("seq went from %d to %d", first.Seq, second.Seq)
	}
	if got := second.Expires.Sub(second.Sent); got != 3*time.Second {
		t.Errorf("lifetime = %s, want 3 intervals", got)
	}
	_, id := newKey(t)
	p.observe(id, first)
	if alive := p.Alive(t0); len(alive) != 1 || alive[0].Peer != id {
		t.Errorf("Alive(t0) = %v, want [%s]", alive, id)
	}
	if alive := p.Alive(first.Expires); len(alive) != 0 {
		t.Errorf("Alive after expiry = %v, want none", alive)
	}
}

// TestAnchorAnnouncementBounds: an announcement must carry an anchor of
// bounded size, a positive seq and a short life.
func TestAnchorAnnouncementBounds(t *testing.T) {
	ok := AnchorAnnouncement{Seq: 1, Sent: t0, Expires: t0.Add(time.Minute), Anchor: []byte("x")}
	if err := ok.Validate(t0, time.Minute); err != nil {
		t.Fatalf("valid announcement: %v", err)
	}
	for name, mut := range map[string]func(*AnchorAnnouncement){
		"empty anchor": func(a *AnchorAnnouncement) { a.Anchor = nil },
		"huge anchor":  func(a *AnchorAnnouncement) { a.Anchor = make([]byte, MaxAnchorBytes+1) },
		"zero seq":     func(a *AnchorAnnouncement) { a.Seq = 0 },
		"day-long":     func(a *AnchorAnnouncement) { a.Expires = t0.Add(24 * time.Hour) },
		"expired":      func(a *AnchorAnnouncement) { a.Sent, a.Expires = t0.Add(-time.Hour), t0.Add(-time.Minute) },
	} {
		a := ok
		mut(&a)
		if err := a.Validate(t0, time.Minute); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
