package proof

import (
	"errors"
	"testing"
)

func fixture2(t testing.TB) (Challenge2, Commitment2, OpenRequest2, Openings2) {
	t.Helper()
	ch := newChallenge2(t, 9, Params2{N: 8, Type: FP16FP32, Pool: 2, Products: 4, Samples: 2, Deadline: 1e9})
	w := prove2(t, ch)
	req, err := PickProducts(seeded(1), ch, w.Commitment())
	if err != nil {
		t.Fatal(err)
	}
	op, err := w.Open(req)
	if err != nil {
		t.Fatal(err)
	}
	return ch, w.Commitment(), req, op
}

func TestWire2RoundTripsAndVersions(t *testing.T) {
	ch, cm, req, op := fixture2(t)
	data := mustMarshal(t, ch)
	if len(data) != Challenge2Size || ChallengeWireVersion(data) != 2 {
		t.Fatalf("challenge: %d bytes, version %d; want %d, 2", len(data), ChallengeWireVersion(data), Challenge2Size)
	}
	if got, err := UnmarshalChallenge2(data, Limits2{}); err != nil || got != ch {
		t.Fatalf("challenge round trip: %v", err)
	}
	if _, err := UnmarshalChallenge(data, Limits{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a version 1 decoder given a version 2 challenge: got %v, want ErrTooLarge", err)
	}
	if _, err := UnmarshalChallenge2(data, Limits2{MaxN: 4}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("n over the limit: got %v, want ErrInvalid", err)
	}
	if _, err := UnmarshalCommitment2(mustMarshal(t, cm), ch); err != nil {
		t.Fatal(err)
	}
	if _, err := UnmarshalOpenRequest2(mustMarshal(t, req), ch); err != nil {
		t.Fatal(err)
	}
	od := mustMarshal(t, op)
	if len(od) > MaxOpenings2Size(ch) {
		t.Fatalf("openings of %d bytes over the maximum %d", len(od), MaxOpenings2Size(ch))
	}
	if _, err := UnmarshalOpenings2(od, ch); err != nil {
		t.Fatal(err)
	}
	if _, err := UnmarshalOpenings2(append(od, make([]byte, MaxOpenings2Size(ch))...), ch); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized openings: got %v, want ErrTooLarge", err)
	}
	if _, err := UnmarshalOpenings2(od[:len(od)-1], ch); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated openings: got %v, want ErrMalformed", err)
	}
}

func FuzzUnmarshalChallenge2(f *testing.F) {
	ch, _, _, _ := fixture2(f)
	data := mustMarshal(f, ch)
	fuzzDecode(f, func(data []byte) (Challenge2, error) { return UnmarshalChallenge2(data, Limits2{}) },
		data,
		[]byte{},
		data[:10],
		mustMarshal(f, newChallenge(f, seeded(1), 8, Int8FP32, 2)))
}

func FuzzUnmarshalCommitment2(f *testing.F) {
	ch, cm, _, _ := fixture2(f)
	data := mustMarshal(f, cm)
	fuzzDecode(f, func(data []byte) (Commitment2, error) { return UnmarshalCommitment2(data, ch) },
		data,
		data[:40])
}

func FuzzUnmarshalOpenRequest2(f *testing.F) {
	ch, _, req, _ := fixture2(f)
	data := mustMarshal(f, req)
	fuzzDecode(f, func(data []byte) (OpenRequest2, error) { return UnmarshalOpenRequest2(data, ch) },
		data,
		append(data, 0, 0, 0, 0))
}

func FuzzUnmarshalOpenings2(f *testing.F) {
	ch, _, _, op := fixture2(f)
	data := mustMarshal(f, op)
	f.Add(data)
	f.Add(data[:50])
	big := data[:headerSize+32]
	f.Add(append(append([]byte(nil), big...), 0xff, 0xff, 0xff, 0xff))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := UnmarshalOpenings2(data, ch)
		fuzzDecoder(t, data, o, err)
	})
}

func TestPrepareAndReady(t *testing.T) {
	ch, _, _, _ := fixture2(t)
	p := PrepareFor(ch)
	data := mustMarshal(t, p)
	if len(data) != Prepare2Size || !IsPrepare2(data) {
		t.Fatalf("prepare: %d bytes, want %d", len(data), Prepare2Size)
	}
	got, err := UnmarshalPrepare2(data, Limits2{})
	if err != nil || !got.Matches(ch) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	other := ch
	other.Products--
	if got.Matches(other) {
		t.Fatal("a challenge with other parameters matches")
	}
	if err := CheckReady2(Ready2()); err != nil {
		t.Fatal(err)
	}
	if err := CheckReady2([]byte{'Y', 1}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("version 1 ready: got %v, want ErrMalformed", err)
	}
}

func FuzzUnmarshalPrepare2(f *testing.F) {
	ch, _, _, _ := fixture2(f)
	data := mustMarshal(f, PrepareFor(ch))
	fuzzDecode(f, func(data []byte) (Prepare2, error) { return UnmarshalPrepare2(data, Limits2{}) },
		data,
		data[:7],
		Ready2())
}
