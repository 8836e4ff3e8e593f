package ledger

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFeeMatchesPricingRule(t *testing.T) {
	for _, c := range []struct{ in, want Micros }{
		{-5, 0}, {0, 0}, {1, 0}, {199, 0}, {200, 1}, {399, 1}, {400, 1}, {599, 1}, {600, 2},
		{1_000_000, 2_500}, {1_000_199, 2_500}, {1_000_200, 2_501},
	} {
		if got := Fee(c.in); got != c.want {
			t.Errorf("Fee(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestCostRoundsHalfUp(t *testing.T) {
	for _, c := range []struct {
		price  Micros
		millis int64
		want   Micros
		ok     bool
	}{
		{2_500_000, 3_600_000, 2_500_000, true}, // one GPU-hour
		{1, 1_800_000, 1, true},                 // exactly half a micro rounds up
		{1, 1_799_999, 0, true},
		{3, 1_200_000, 1, true},
		{MaxUnitPrice, 1 << 50, 0, false}, // does not fit
		{-1, 5, 0, false},
	} {
		got, ok := Cost(c.price, c.millis)
		if got != c.want || ok != c.ok {
			t.Errorf("Cost(%d, %d) = %d, %v; want %d, %v", c.price, c.millis, got, ok, c.want, c.ok)
		}
	}
}

func TestReceiptCheck(t *testing.T) {
	p, q := newParty(t), newParty(t)
	good := receipt(p, q, "job-1", 0, 1, 90)
	if err := good.Check(); err != nil {
		t.Fatalf("valid receipt: %v", err)
	}
	if good.GPUMillis != 180_000 || good.Amount != 125_000 || good.ProviderFee != 313 {
		t.Fatalf("Finalize: gpu_ms %d amount %d fee %d; want 180000, 125000, 313", good.GPUMillis, good.Amount, good.ProviderFee)
	}
	cases := []struct {
		name  string
		edit  func(*Receipt)
		want  error
		field string
	}{
		{"gpu time", func(r *Receipt) { r.GPUMillis++ }, ErrArithmetic, "gpu_millis"},
		{"amount", func(r *Receipt) { r.Amount += 1000 }, ErrArithmetic, "amount"},
		{"provider fee", func(r *Receipt) { r.ProviderFee = 0 }, ErrFee, "provider_fee"},
		{"requester fee", func(r *Receipt) { r.RequesterFee++ }, ErrFee, "requester_fee"},
		{"end before start", func(r *Receipt) { r.End = r.Start.Add(-time.Second) }, ErrInvalid, "end"},
		{"local time", func(r *Receipt) { r.Start = r.Start.In(time.FixedZone("x", 3600)) }, ErrInvalid, "start"},
		{"micro precision", func(r *Receipt) { r.Issued = r.Issued.Add(time.Microsecond) }, ErrInvalid, "issued"},
		{"status", func(r *Receipt) { r.Status = "done" }, ErrInvalid, "status"},
		{"digest", func(r *Receipt) { r.ResultDigest = "abc" }, ErrInvalid, "result_digest"},
		{"self-dealing", func(r *Receipt) { r.Requester = r.Provider }, ErrInvalid, "requester"},
		{"bad peer", func(r *Receipt) { r.Provider = "nobody" }, ErrInvalid, "provider"},
		{"huge price", func(r *Receipt) { r.UnitPrice = MaxUnitPrice + 1 }, ErrInvalid, "unit_price"},
		{"id", func(r *Receipt) { r.Seq = 2 }, ErrInvalid, "id"},
		{"long job", func(r *Receipt) { r.Job = strings.Repeat("j", 200) }, ErrInvalid, "job"},
		{"failover without replaces", func(r *Receipt) { r.Attempt = 1 }, ErrInvalid, "replaces"},
	}
	for _, c := range cases {
		r := good
		c.edit(&r)
		err := r.Check()
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.field+":") {
			t.Errorf("%s: got %v, want %v naming %s", c.name, err, c.want, c.field)
		}
	}
}

func TestSignedRoundTrip(t *testing.T) {
	p, q := newParty(t), newParty(t)
	r := receipt(p, q, "job-1", 3, 1, 60)
	s := signBoth(t, p, q, r)
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := UnmarshalSigned(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Verify(s2)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.ID != r.ID || got.Amount != r.Amount || !got.End.Equal(r.End) || got.Rank != 3 {
		t.Fatalf("round trip changed the receipt: %+v, want %+v", got, r)
	}
}

func TestForgedReceiptsRejected(t *testing.T) {
	p, q, x := newParty(t), newParty(t), newParty(t)
	r := receipt(p, q, "job-1", 0, 1, 60)
	provOnly, err := Sign(p.key, r)
	if err != nil {
		t.Fatal(err)
	}
	both := signBoth(t, p, q, r)

	// Sign and Countersign refuse the wrong key.
	if _, err := Sign(q.key, r); !errors.Is(err, ErrWrongSigner) {
		t.Errorf("requester signing as provider: got %v", err)
	}
	if _, err := Countersign(x.key, provOnly); !errors.Is(err, ErrWrongSigner) {
		t.Errorf("stranger countersigning: got %v", err)
	}
	bad := r
	bad.ProviderFee = 0
	if _, err := Sign(p.key, bad); !errors.Is(err, ErrFee) {
		t.Errorf("signing a wrong fee: got %v", err)
	}

	// A receipt with a wrong fee or amount, signed by a provider that does
	// not run our Sign, is caught by Verify.
	sealRaw := func(r Receipt) Signed {
		s, err := sealUnchecked(p, r)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Countersign(q.key, s)
		if err == nil {
			return c
		}
		// Countersign checks too: countersign by hand.
		return countersignUnchecked(t, q, s, r)
	}
	wrongFee := r
	wrongFee.RequesterFee += 7
	wrongAmount := r
	wrongAmount.Amount *= 2
	wrongAmount.ProviderFee, wrongAmount.RequesterFee = Fee(wrongAmount.Amount), Fee(wrongAmount.Amount)

	// Signer swapped: a stranger signs a receipt naming p as provider.
	swapped, err := sealUnchecked(x, r)
	if err != nil {
		t.Fatal(err)
	}
	swapped.Requester = both.Requester

	// Countersignature from another receipt.
	other := signBoth(t, p, q, receipt(p, q, "job-2", 0, 1, 60))
	mixed := Signed{Provider: both.Provider, Requester: other.Requester}

	// A countersignature by a stranger.
	strangerCS := countersignUnchecked(t, x, provOnly, r)

	flipped := Signed{Provider: append([]byte(nil), both.Provider...), Requester: both.Requester}
	flipped.Provider[len(flipped.Provider)/2] ^= 0x01

	for _, c := range []struct {
		name string
		s    Signed
		want error
	}{
		{"unsigned", Signed{}, ErrUnsigned},
		{"provider signature only", provOnly, ErrOneSignature},
		{"signer swapped", swapped, ErrWrongSigner},
		{"countersigned by a stranger", strangerCS, ErrWrongSigner},
		{"countersignature of another receipt", mixed, ErrCountersignMismatch},
		{"wrong fee", sealRaw(wrongFee), ErrFee},
		{"wrong amount", sealRaw(wrongAmount), ErrArithmetic},
		{"byte flipped", flipped, nil},
	} {
		_, err := Verify(c.s)
		switch {
		case err == nil:
			t.Errorf("%s: verified", c.name)
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		case c.want == nil && !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrMalformed):
			t.Errorf("%s: got %v, want ErrBadSignature or ErrMalformed", c.name, err)
		}
	}
}

func TestUnmarshalSignedBounds(t *testing.T) {
	for _, b := range [][]byte{nil, {2}, {1}, {1, 5, 1}, {1, 0, 0, 9}, make([]byte, MaxSignedSize+1)} {
		if _, err := UnmarshalSigned(b); err == nil {
			t.Errorf("UnmarshalSigned(%x...) succeeded", b[:min(len(b), 8)])
		}
	}
	if _, err := (Signed{Provider: make([]byte, MaxSignedSize)}).Marshal(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("marshalling an oversized receipt: got %v", err)
	}
}

func FuzzUnmarshalSigned(f *testing.F) {
	p, q := newParty(f), newParty(f)
	s := signBoth(f, p, q, receipt(p, q, "job-f", 0, 1, 30))
	b, _ := s.Marshal()
	f.Add(b)
	withGPU, _ := signBoth(f, p, q, gpuReceipt(p, q)).Marshal()
	f.Add(withGPU)
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := UnmarshalSigned(b)
		if err != nil {
			return
		}
		if r, err := Verify(s); err == nil {
			if err := r.Check(); err != nil {
				t.Fatalf("Verify accepted a receipt that fails Check: %v", err)
			}
		}
		again, err := s.Marshal()
		if err != nil {
			t.Fatalf("re-marshal: %v", err)
		}
		if s2, err := UnmarshalSigned(again); err != nil || string(s2.Provider) != string(s.Provider) || string(s2.Requester) != string(s.Requester) {
			t.Fatalf("round trip changed the envelopes: %v", err)
		}
	})
}
