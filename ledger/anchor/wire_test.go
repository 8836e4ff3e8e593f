package anchor

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"

	"github.com/gpumesh/gpumesh/ledger/anchor/anchortest"
	"github.com/gpumesh/gpumesh/ledger/merkle"
)

func testCheckpoint(t testing.TB) (*Checkpoint, []byte) {
	t.Helper()
	key := newKey(t)
	cp := &Checkpoint{Size: 42, Root: merkle.LeafHash([]byte("root")), Time: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	env, err := cp.Sign(key)
	if err != nil {
		t.Fatal(err)
	}
	return cp, env
}

func TestCheckpointRoundTrip(t *testing.T) {
	cp, env := testCheckpoint(t)
	got, err := OpenCheckpoint(env)
	if err != nil {
		t.Fatal(err)
	}
	if got.Log != cp.Log || got.Size != cp.Size || got.Root != cp.Root || !got.Time.Equal(cp.Time) {
		t.Fatalf("got %+v, want %+v", got, cp)
	}
	if len(env) > MaxCheckpointBytes {
		t.Fatalf("envelope of %d bytes > %d", len(env), MaxCheckpointBytes)
	}
}

// otherRecord is a record of another domain, to try replaying its signature.
type otherRecord struct{ payload []byte }

func (*otherRecord) Domain() string                   { return "gpumesh-heartbeat" }
func (*otherRecord) Codec() []byte                    { return checkpointCodec }
func (o *otherRecord) MarshalRecord() ([]byte, error) { return o.payload, nil }
func (o *otherRecord) UnmarshalRecord(b []byte) error { o.payload = b; return nil }

func TestCheckpointForgeries(t *testing.T) {
	cp, env := testCheckpoint(t)
	payload, _ := cp.MarshalRecord()

	// Signed by another key than the log's.
	stranger := newKey(t)
	forged, err := record.Seal(cp, stranger)
	if err != nil {
		t.Fatal(err)
	}
	forgedBytes, _ := forged.Marshal()

	// The same payload signed under another domain.
	other, err := record.Seal(&otherRecord{payload: payload}, stranger)
	if err != nil {
		t.Fatal(err)
	}
	otherBytes, _ := other.Marshal()

	flipped := bytes.Clone(env)
	flipped[len(flipped)-10] ^= 1

	zero := &Checkpoint{Log: cp.Log, Size: 0, Root: cp.Root, Time: cp.Time}
	if _, err := zero.Sign(newKey(t)); err == nil {
		t.Error("signed a checkpoint of another log's id")
	}

	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"signer is not the log", forgedBytes, "signed by"},
		{"other domain", otherBytes, ""},
		{"bit flipped", flipped, ""},
		{"truncated", env[:len(env)/2], ""},
		{"too large", make([]byte, MaxCheckpointBytes+1), "bytes >"},
		{"empty", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenCheckpoint(tc.data)
			if !errors.Is(err, ErrBadCheckpoint) {
				t.Fatalf("got %v, want ErrBadCheckpoint", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %q, want it to say %q", err, tc.want)
			}
		})
	}
}

func TestCommitment(t *testing.T) {
	cp, _ := testCheckpoint(t)
	m := CommitmentOf(cp)
	b := m.Encode()
	if len(b) != CommitmentSize || CommitmentSize != 83 {
		t.Fatalf("commitment is %d bytes (CommitmentSize %d), want 83", len(b), CommitmentSize)
	}
	got, err := DecodeCommitment(b)
	if err != nil || got != m {
		t.Fatalf("DecodeCommitment = %+v, %v; want %+v", got, err, m)
	}
	if err := got.Diff(m); err != nil {
		t.Fatalf("Diff of equal commitments: %v", err)
	}
	other := m
	other.Root[0] ^= 0xff
	err = other.Diff(m)
	if err == nil || !strings.Contains(err.Error(), "root on chain "+short(other.Root)+" differs from checkpoint's "+short(m.Root)) {
		t.Fatalf("Diff = %v, want it to name both roots", err)
	}
	for _, bad := range [][]byte{nil, b[:82], append(bytes.Clone(b), 0), append([]byte("gpumesh-cp2"), b[11:]...)} {
		if _, err := DecodeCommitment(bad); !errors.Is(err, ErrNotCommitment) {
			t.Errorf("DecodeCommitment(%x) = %v, want ErrNotCommitment", bad, err)
		}
	}
	if LogHash(cp.Log) == LogHash(peer.ID("other")) {
		t.Fatal("two logs hash alike")
	}
}

// testAnchor returns an anchor of a 5-entry log extending its first 3.
func testAnchor(t testing.TB) *Anchor {
	t.Helper()
	var l anchortest.MemLog
	l.Add(t, 5)
	prev, _ := l.RootAt(3)
	n, root, _ := l.Head()
	proof, _ := l.ConsistencyProof(3, n)
	cp := &Checkpoint{Size: n, Root: root, Time: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	env, err := cp.Sign(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return &Anchor{
		Envelope: env, ChainID: 31337, Tx: hashOf("tx", 1), From: "0xfeed", Block: 7, BlockHash: hashOf("block", 7),
		GasUsed: 24_308, Confirmations: 1, PrevSize: 3, PrevRoot: prev, Consistency: proof, State: StateConfirmed,
	}
}

func TestAnchorRoundTrip(t *testing.T) {
	a := testAnchor(t)
	b, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalAnchor(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := got.Marshal()
	if !bytes.Equal(b, b2) {
		t.Fatalf("round trip changed the encoding:\n%s\n%s", b, b2)
	}
	if cp, _ := got.Checkpoint(); cp.Size != 5 {
		t.Fatalf("checkpoint size %d, want 5", cp.Size)
	}
}

func TestUnmarshalAnchorRejects(t *testing.T) {
	edit := func(f func(a *Anchor)) []byte {
		a := testAnchor(t)
		f(a)
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"rewritten history", edit(func(a *Anchor) { a.PrevRoot[0] ^= 1 }), "consistency from size 3 to 5"},
		{"proof cut", edit(func(a *Anchor) { a.Consistency = a.Consistency[:1] }), "wrong proof size"},
		{"prev beyond size", edit(func(a *Anchor) { a.PrevSize = 9 }), "previous size 9"},
		{"unknown state", edit(func(a *Anchor) { a.State = "lost" }), `state "lost"`},
		{"confirmed without block", edit(func(a *Anchor) { a.Block = 0 }), "confirmed without"},
		{"no chain", edit(func(a *Anchor) { a.ChainID = 0 }), "a tx without a chain id"},
		{"bad envelope", edit(func(a *Anchor) { a.Envelope = a.Envelope[1:] }), "bad checkpoint"},
		{"version 2", []byte(`{"v":2}`), "version 2"},
		{"too large", make([]byte, MaxAnchorBytes+1), "bytes >"},
		{"not json", []byte("{"), "bad anchor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := UnmarshalAnchor(tc.data)
			if !errors.Is(err, ErrBadAnchor) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrBadAnchor saying %q", err, tc.want)
			}
		})
	}
}

func FuzzUnmarshalCheckpoint(f *testing.F) {
	_, env := testCheckpoint(f)
	f.Add(env)
	f.Add([]byte{})
	f.Add(env[:20])
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := OpenCheckpoint(b)
		if err != nil {
			return
		}
		if err := cp.Validate(); err != nil {
			t.Fatalf("opened an invalid checkpoint: %v", err)
		}
		if _, err := DecodeCommitment(CommitmentOf(cp).Encode()); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzUnmarshalAnchor(f *testing.F) {
	b, _ := testAnchor(f).Marshal()
	f.Add(b)
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"v":1,"consistency":["00"],"prev_size":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := UnmarshalAnchor(b)
		if err != nil {
			return
		}
		out, err := a.Marshal()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := UnmarshalAnchor(out); err != nil {
			t.Fatalf("re-encoded anchor does not decode: %v", err)
		}
	})
}

func FuzzDecodeCommitment(f *testing.F) {
	cp, _ := testCheckpoint(f)
	f.Add(CommitmentOf(cp).Encode())
	f.Add([]byte(CommitmentMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeCommitment(b)
		if err == nil && !bytes.Equal(m.Encode(), b) {
			t.Fatalf("decode/encode changed %x", b)
		}
	})
}
