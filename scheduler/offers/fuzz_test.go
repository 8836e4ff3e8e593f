package offers

import (
	"errors"
	"reflect"
	"strconv"
	"testing"
)

// FuzzParse checks that Parse never panics, that its errors are
// *SyntaxErrors that point into the input, and that whatever parses reads
// back from its canonical String() as the same filter, and that text that
// is no condition after a filter is refused, not ignored.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"gpu_class=A100-80GB num_gpus>=4 vram_gb>=40 price<=1.2 region in [EU,US]",
		"gpu_class == a100-80gb num_gpus >= 4",
		"pool=gpu executor=docker available=true verified!=false",
		"country not in [DE, FR] region notin [EU]",
		`model="NVIDIA \"A100\" \\ 80GB"`,
		`attr.tier in ["soc 2", iso27001] attr.bw>=10.5 attr.x!=""`,
		"rtt_ms<50 gflops>1e5 compute_cap>=8.6 cores>=16 free_gpus>0 total_vram_gb>=320",
		"num_gpus in [1,2,4,8] price>-0.0 price<0x1p-2",
		"gpu=A100",
		"gpu_class>=3",
		"available<1",
		`model="unterminated`,
		"region in [EU,",
		"region in [EU US]",
		"gpu_class= num_gpus>=4",
		"a!b",
		"model=été\u00a0x",
		"model=\xff\xfe",
	} {
		f.Add(seed)
	}
	o := testOffer()
	f.Fuzz(func(t *testing.T, expr string) {
		fl, err := Parse(expr)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T %v, want *SyntaxError", expr, err, err)
			}
			if se.Pos < 0 || se.Pos > len(expr) || se.Input != expr {
				t.Fatalf("Parse(%q): error at %d of %q: %v", expr, se.Pos, se.Input, err)
			}
			return
		}
		for _, tail := range []string{`"]...`, " x", " ]", "=1"} {
			if _, err := Parse(expr + tail); err == nil {
				t.Fatalf("Parse(%q) accepted %q after the filter %q", expr+tail, tail, expr)
			}
		}
		s := fl.String()
		again, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) (canonical of %q): %v", s, expr, err)
		}
		if !reflect.DeepEqual(fl, again) {
			t.Fatalf("Parse(%q) = %#v, want %#v (canonical of %q)", s, again, fl, expr)
		}
		if s2 := again.String(); s2 != s {
			t.Fatalf("String() not stable: %q, then %q", s, s2)
		}
		if fl.Match(o) != again.Match(o) {
			t.Fatalf("Match differs between %q and %q", expr, s)
		}
		if !reflect.DeepEqual(fl.Hints(), again.Hints()) {
			t.Fatalf("Hints differ between %q and %q", expr, s)
		}
	})
}

// FuzzParseOrder checks that ParseOrder never panics and that what parses
// reads back from String().
func FuzzParseOrder(f *testing.F) {
	for _, seed := range []string{"", "price", "price,-num_gpus,rtt_ms", " + price , - gflops", "cost", "price,,x", "-"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		ord, err := ParseOrder(spec)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Pos < 0 || se.Pos > len(spec) {
				t.Fatalf("ParseOrder(%q) error %v, want a *SyntaxError inside the input", spec, err)
			}
			return
		}
		again, err := ParseOrder(ord.String())
		if err != nil || !reflect.DeepEqual(again, ord) {
			t.Fatalf("ParseOrder(%q) = %v, %v, want %v", ord.String(), again, err, ord)
		}
		offers := []Offer{testOffer(), testOffer(func(o *Offer) { o.Peer, o.RTTms = "b", -1 })}
		ord.Sort(offers)
	})
}

// FuzzParseCC: a compute capability from a capacity record reads only as a
// whole "major.minor"; what reads writes back as the same value, and the
// same text with anything after or before it reads as nothing (0).
func FuzzParseCC(f *testing.F) {
	for _, s := range []string{"8.0", "12.1", "8.0x", "8.0.1", "+8.0", " 8.0", "8", "", "99.9", "100.0", "8.10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cc := parseCC(s)
		if cc == 0 {
			return
		}
		if again := parseCC(strconv.FormatFloat(cc, 'f', 1, 64)); again != cc {
			t.Fatalf("parseCC(%q) = %v, reads back as %v", s, cc, again)
		}
		for _, bad := range []string{s + "x", s + ".0", s + `"]`, "x" + s, "+" + s} {
			if got := parseCC(bad); got != 0 {
				t.Fatalf("parseCC(%q) = %v, accepted the text around %q", bad, got, s)
			}
		}
	})
}
