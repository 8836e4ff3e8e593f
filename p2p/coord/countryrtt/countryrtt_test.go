package countryrtt

import (
	"bytes"
	"compress/gzip"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	tab, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	cs := tab.Countries()
	if len(cs) < 100 {
		t.Fatalf("%d countries, want the data set's 100+", len(cs))
	}
	for _, c := range cs {
		if c == "None" || c == "EU" {
			t.Fatalf("pseudo-country %q listed as a place for nodes", c)
		}
	}
	// The first row of the file: AD-AT, 3 pings, 37.5 ms mean.
	st, ok := tab.Between("AT", "AD")
	if !ok || st.Count != 3 || st.Mean < 37*time.Millisecond || st.Mean > 38*time.Millisecond || st.Min > st.Mean || st.Max < st.Mean {
		t.Fatalf("AT-AD = %+v, %v", st, ok)
	}
	if st, ok := tab.Between("AE", "AE"); !ok || st.Mean > 10*time.Millisecond {
		t.Fatalf("AE-AE = %+v, %v: the file's same-country row", st, ok)
	}
	// Physics: Germany-Netherlands is far closer than Germany-Australia.
	near, ok1 := tab.Between("DE", "NL")
	far, ok2 := tab.Between("DE", "AU")
	if !ok1 || !ok2 || near.Mean*5 > far.Mean {
		t.Fatalf("DE-NL %v, DE-AU %v", near.Mean, far.Mean)
	}
}

func TestParseRejectsBadRows(t *testing.T) {
	for name, csv := range map[string]string{
		"empty":        "",
		"header only":  "cty1,cty2,rtt_cnt,rtt_avg,rtt_std,rtt_min,rtt_max\n",
		"short row":    "h,h,h,h,h,h,h\nAD,AT,3\n",
		"bad number":   "h,h,h,h,h,h,h\nAD,AT,3,x,1,1,1\n",
		"negative rtt": "h,h,h,h,h,h,h\nAD,AT,3,-1,1,1,1\n",
	} {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(csv))
		w.Close()
		if _, err := Parse(&b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	if _, err := Parse(bytes.NewReader([]byte("not gzip"))); err == nil {
		t.Error("not gzip: parsed")
	}
}
