package settle

import (
	"bytes"
	"testing"
)

// FuzzDecodeSignedVoucher feeds hostile bytes to the voucher decoder: it
// must never panic, and what it accepts must re-encode to a value it accepts
// again and either verify or be refused with a reason.
func FuzzDecodeSignedVoucher(f *testing.F) {
	sv, err := SignVoucher(requesterKey, testDomain, testVoucher())
	if err != nil {
		f.Fatal(err)
	}
	good, _ := sv.Encode()
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"v":1,"voucher":{"cumulative":1e400}}`))
	f.Add(bytes.Replace(good, []byte(`"nonce":3`), []byte(`"nonce":18446744073709551616`), 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		sv, err := DecodeSignedVoucher(b)
		if err != nil {
			return
		}
		_ = sv.Verify(sv.Domain) // must not panic
		again, err := sv.Encode()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := DecodeSignedVoucher(again); err != nil {
			t.Fatalf("accepted %q but not its re-encoding %q: %v", b, again, err)
		}
	})
}

// FuzzDecodeSignedWork does the same for the work decoder.
func FuzzDecodeSignedWork(f *testing.F) {
	sw, err := SignWork(providerKey, testDomain, testWork())
	if err != nil {
		f.Fatal(err)
	}
	good, _ := sw.Encode()
	f.Add(good)
	f.Add([]byte(`{"v":1,"work":{"amount":-1}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		sw, err := DecodeSignedWork(b)
		if err != nil {
			return
		}
		_ = sw.Verify(sw.Domain, sw.Work.Requester)
		_ = Conflicts(sw, sw, sw.Work.Requester)
		again, err := sw.Encode()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := DecodeSignedWork(again); err != nil {
			t.Fatalf("accepted %q but not its re-encoding %q: %v", b, again, err)
		}
	})
}
