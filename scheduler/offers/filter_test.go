package offers

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// testOffer is an 8x A100-80GB docker/wasm provider in Germany, region EU.
func testOffer(mods ...func(*Offer)) Offer {
	o := Offer{
		Peer: peer.ID("peer-a"), Class: "A100-80GB", Pool: "gpu", Model: "NVIDIA A100-SXM4-80GB",
		NumGPUs: 8, FreeGPUs: 6, VRAMGB: 80, ComputeCap: 8.0, Price: 1.1,
		Country: "DE", Region: "EU", Executors: []string{"docker", "wasm"}, Available: true,
		RTTms: 42, GFLOPS: 150000, Verified: true,
		Attributes: map[string]string{"tier": "soc2", "green": "true", "bandwidth_gbps": "25"},
	}
	for _, m := range mods {
		m(&o)
	}
	return o
}

func TestParseCanonical(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"   \t ", ""},
		{"gpu_class=A100-80GB", "gpu_class=A100-80GB"},
		{"gpu_class == A100-80GB", "gpu_class=A100-80GB"},
		{"num_gpus >= 4", "num_gpus>=4"},
		{"num_gpus>=4.0 vram_gb>40 price<=1.20", "num_gpus>=4 vram_gb>40 price<=1.2"},
		{"price < 1e1 price > -0.5", "price<10 price>-0.5"},
		{"region in [EU,US]", "region in [EU,US]"},
		{"region in [ EU , US ]", "region in [EU,US]"},
		{"region in[EU]", "region in [EU]"},
		{"country notin [DE, FR]", "country notin [DE,FR]"},
		{"country not in [DE,FR]", "country notin [DE,FR]"},
		{"executor=docker executor != process", "executor=docker executor!=process"},
		{"available=true verified != false", "available=true verified!=false"},
		{`model="NVIDIA A100-SXM4-80GB"`, `model="NVIDIA A100-SXM4-80GB"`},
		{`model="plain"`, `model=plain`},
		{`model="say \"hi\" \\ bye"`, `model="say \"hi\" \\ bye"`},
		{`model=""`, `model=""`},
		{`model="a=b,[c]"`, `model="a=b,[c]"`},
		{"attr.tier=soc2 attr.bandwidth_gbps>=10", "attr.tier=soc2 attr.bandwidth_gbps>=10"},
		{"attr.bandwidth_gbps >= 10.50", "attr.bandwidth_gbps>=10.50"},
		{`attr.label in ["a b", c]`, `attr.label in ["a b",c]`},
		{"pool=GPU", "pool=GPU"},
		{"num_gpus in [1, 2,4]", "num_gpus in [1,2,4]"},
		{"rtt_ms<50 gflops>1e5 compute_cap>=8.6 cores>=16 free_gpus>0 total_vram_gb>=320",
			"rtt_ms<50 gflops>100000 compute_cap>=8.6 cores>=16 free_gpus>0 total_vram_gb>=320"},
		{"gpu_class=in", "gpu_class=in"},
		{"\ngpu_class=A100-80GB\n\tprice<=2\n", "gpu_class=A100-80GB price<=2"},
		{"model=été", "model=été"},
	}
	for _, tt := range tests {
		f, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := f.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		g, err := Parse(f.String())
		if err != nil {
			t.Errorf("Parse(%q) (canonical of %q): %v", f.String(), tt.in, err)
			continue
		}
		if !reflect.DeepEqual(f, g) {
			t.Errorf("Parse(%q) = %#v, want %#v (from %q)", f.String(), g, f, tt.in)
		}
	}
}

// TestParseArgsJoined checks the form the CLI passes: several args joined
// with spaces parse like the one-string form.
func TestParseArgsJoined(t *testing.T) {
	args := []string{"gpu_class=A100-80GB", "num_gpus", ">=", "4", "region", "in", "[EU,", "US]"}
	f, err := Parse(strings.Join(args, " "))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.String(), "gpu_class=A100-80GB num_gpus>=4 region in [EU,US]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		filter string
		mod    func(*Offer)
		want   bool
	}{
		{"", nil, true},
		// Strings, case-insensitive.
		{"gpu_class=A100-80GB", nil, true},
		{"gpu_class=a100-80gb", nil, true},
		{"gpu_class=H100", nil, false},
		{"gpu_class!=H100", nil, true},
		{"gpu_class!=a100-80GB", nil, false},
		{"gpu_class in [H100, a100-80gb]", nil, true},
		{"gpu_class in [H100,RTX-4090]", nil, false},
		{"gpu_class notin [H100,RTX-4090]", nil, true},
		{"gpu_class not in [h100,A100-80GB]", nil, false},
		{"pool=gpu", nil, true},
		{"pool=CPU", nil, false},
		{`model="nvidia a100-sxm4-80gb"`, nil, true},
		{"model=A100", nil, false},
		{"country=de", nil, true},
		{"country=EU", nil, false},
		// Region matches the region or the country.
		{"region=EU", nil, true},
		{"region=de", nil, true},
		{"region in [US,DE]", nil, true},
		{"region in [EU,US]", func(o *Offer) { o.Region = "" }, false},
		{"region in [EU,US]", func(o *Offer) { o.Region, o.Country = "", "US" }, true},
		{"region in [NA,AS]", nil, false},
		{"region!=DE", nil, false},
		{"region!=US", nil, true},
		{"region notin [EU]", nil, false},
		{"region notin [US,FR]", nil, true},
		// Executor is a set.
		{"executor=docker", nil, true},
		{"executor=DOCKER", nil, true},
		{"executor=process", nil, false},
		{"executor in [process,wasm]", nil, true},
		{"executor in [process]", nil, false},
		{"executor!=docker", nil, false},
		{"executor!=process", nil, true},
		{"executor notin [process,wasm]", nil, false},
		{"executor notin [process]", nil, true},
		{"executor=docker", func(o *Offer) { o.Executors = nil }, false},
		{"executor!=docker", func(o *Offer) { o.Executors = nil }, true},
		{"executor=docker executor=wasm", nil, true},
		// Numbers.
		{"num_gpus=8", nil, true},
		{"num_gpus!=8", nil, false},
		{"num_gpus>=8", nil, true},
		{"num_gpus>8", nil, false},
		{"num_gpus<9", nil, true},
		{"num_gpus<=7", nil, false},
		{"num_gpus in [4,8]", nil, true},
		{"num_gpus notin [4,8]", nil, false},
		{"num_gpus notin [1,2]", nil, true},
		{"free_gpus>=6", nil, true},
		{"free_gpus>6", nil, false},
		{"vram_gb>=80", nil, true},
		{"vram_gb>80", nil, false},
		{"total_vram_gb=640", nil, true},
		{"total_vram_gb>=640", func(o *Offer) { o.VRAMGB = 79.6 }, false},
		{"total_vram_gb=636.8", func(o *Offer) { o.VRAMGB = 79.6 }, true},
		{"cores>=16", nil, false},
		{"cores>=16", func(o *Offer) { o.Cores = 32 }, true},
		{"compute_cap>=8", nil, true},
		{"compute_cap>=8.6", nil, false},
		{"price<=1.1", nil, true},
		{"price<1.1", nil, false},
		{"price<=1.2 price>=1", nil, true},
		{"gflops>=1e5", nil, true},
		{"gflops>=1e6", nil, false},
		// RTT: an unknown one fails every rtt_ms clause.
		{"rtt_ms<50", nil, true},
		{"rtt_ms>=50", nil, false},
		{"rtt_ms<50", func(o *Offer) { o.RTTms = -1 }, false},
		{"rtt_ms>=50", func(o *Offer) { o.RTTms = -1 }, false},
		{"rtt_ms!=10", func(o *Offer) { o.RTTms = -1 }, false},
		{"rtt_ms notin [10]", func(o *Offer) { o.RTTms = -1 }, false},
		{"rtt_ms>=0", func(o *Offer) { o.RTTms = 0 }, true},
		// Booleans.
		{"available=true", nil, true},
		{"available=false", nil, false},
		{"available!=true", func(o *Offer) { o.Available = false }, true},
		{"verified=true", nil, true},
		{"verified=true", func(o *Offer) { o.Verified = false }, false},
		{"verified=false", func(o *Offer) { o.Verified = false }, true},
		// Attributes.
		{"attr.tier=soc2", nil, true},
		{"attr.tier=SOC2", nil, true},
		{"attr.tier=iso27001", nil, false},
		{"attr.tier!=iso27001", nil, true},
		{"attr.tier in [iso27001,soc2]", nil, true},
		{"attr.tier notin [iso27001,soc2]", nil, false},
		{"attr.green=true", nil, true},
		{"attr.bandwidth_gbps>=10", nil, true},
		{"attr.bandwidth_gbps>25", nil, false},
		{"attr.bandwidth_gbps<=25.0", nil, true},
		{"attr.bandwidth_gbps=25", nil, true},
		{"attr.bandwidth_gbps=25.0", nil, false}, // = compares strings
		{"attr.tier>=1", nil, false},             // not a number
		{"attr.missing=x", nil, false},
		{"attr.missing!=x", nil, true},
		{"attr.missing in [x]", nil, false},
		{"attr.missing notin [x]", nil, true},
		{"attr.missing>0", nil, false},
		{"attr.missing<0", nil, false},
		{"attr.tier=soc2", func(o *Offer) { o.Attributes = nil }, false},
		// Conjunction.
		{"gpu_class=A100-80GB num_gpus>=4 vram_gb>=40 price<=1.2 region in [EU,US]", nil, true},
		{"gpu_class=A100-80GB num_gpus>=4 vram_gb>=40 price<=1.0 region in [EU,US]", nil, false},
	}
	for _, tt := range tests {
		f, err := Parse(tt.filter)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.filter, err)
			continue
		}
		o := testOffer()
		if tt.mod != nil {
			tt.mod(&o)
		}
		if got := f.Match(o); got != tt.want {
			t.Errorf("Parse(%q).Match(%+v) = %v, want %v", tt.filter, o, got, tt.want)
		}
		if got := f.Reject(o) == ""; got != tt.want {
			t.Errorf("Parse(%q).Reject = %q, want match %v", tt.filter, f.Reject(o), tt.want)
		}
	}
}

func TestMatchNil(t *testing.T) {
	var f *Filter
	if !f.Match(testOffer()) {
		t.Error("nil filter does not match")
	}
	if f.String() != "" {
		t.Errorf("nil filter String() = %q, want \"\"", f.String())
	}
	if h := f.Hints(); !reflect.DeepEqual(h, Hints{}) {
		t.Errorf("nil filter Hints() = %+v, want zero", h)
	}
}

func TestReject(t *testing.T) {
	f, err := Parse("gpu_class == A100-80GB price <= 1.00 region not in [ EU ]")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.Reject(testOffer()), "price<=1"; got != want {
		t.Errorf("Reject = %q, want %q", got, want)
	}
	if got, want := f.Reject(testOffer(func(o *Offer) { o.Price = 0.5 })), "region notin [EU]"; got != want {
		t.Errorf("Reject = %q, want %q", got, want)
	}
	if got := f.Reject(testOffer(func(o *Offer) { o.Price, o.Region, o.Country = 0.5, "NA", "US" })); got != "" {
		t.Errorf("Reject = %q, want \"\"", got)
	}
}

func TestParseErrors(t *testing.T) {
	allFields := make([]string, 0, len(fields))
	for _, f := range Fields() {
		allFields = append(allFields, f.Name)
	}
	tests := []struct {
		in   string
		pos  int
		want []string // substrings of the message
	}{
		{"gpu=A100", 0, append([]string{`unknown field "gpu"`}, allFields...)},
		{"num_gpus>=4 gpus>=4", 12, []string{`unknown field "gpus"`, "fields: gpu_class, pool"}},
		{"GPU_CLASS=A100", 0, []string{`unknown field "GPU_CLASS"`, "lower case: gpu_class"}},
		{"attr=x", 0, []string{`unknown field "attr"`, "attr.<key>"}},
		{"attr.=x", 0, []string{"attr. needs a key"}},
		{"gpu_class>=3", 9, []string{"operator >= does not apply to gpu_class (string)", "it takes =, !=, in, notin"}},
		{"available<1", 9, []string{"operator < does not apply to available (bool)", "it takes =, !="}},
		{"verified in [true]", 9, []string{"operator in does not apply to verified", "it takes =, !="}},
		{"executor>docker", 8, []string{"operator > does not apply to executor (set)"}},
		{"num_gpus>=four", 10, []string{"num_gpus takes a number", `"four"`}},
		{"num_gpus>=2.5", 10, []string{"num_gpus takes a whole number", `"2.5"`}},
		{"price<=1,2", 8, []string{`expected a field name, got ","`}},
		{"price<=NaN", 7, []string{"price takes a number"}},
		{"price<=inf", 7, []string{"price takes a number"}},
		{"price<=1e999", 7, []string{"price takes a number"}},
		{"vram_gb in [40, big]", 16, []string{"vram_gb takes a number", `"big"`}},
		{"available=yes", 10, []string{"available takes true or false", `"yes"`}},
		{"available=True", 10, []string{"available takes true or false"}},
		{"pool=gpus", 5, []string{"pool is one of gpu, apple, cpu", `"gpus"`}},
		{"attr.bw>=fast", 9, []string{"attr.bw>= takes a number", `"fast"`}},
		{`model="A100`, 6, []string{"unterminated quoted string"}},
		{`model="A\n"`, 8, []string{"bad escape"}},
		{"gpu_class=", 10, []string{"missing value for gpu_class="}},
		{"gpu_class= num_gpus>=4", 11, []string{"missing value for gpu_class="}},
		{"gpu_class=]", 10, []string{"missing value for gpu_class=", `"]"`}},
		{"gpu_class", 9, []string{"missing operator after gpu_class", "=, !=, in, notin"}},
		{"gpu_class A100", 10, []string{"expected an operator after gpu_class", `"A100"`}},
		{"region IN [EU]", 7, []string{"expected an operator after region", "lower case"}},
		{"gpu_class ! A100", 10, []string{`"!" must be followed by "="`}},
		{"region not [EU]", 11, []string{`expected "in" after "not"`}},
		{"region=[EU,US]", 7, []string{"= takes one value", "in [a,b]"}},
		{"region in EU", 10, []string{"in takes a list like [a,b]", `"EU"`}},
		{"region in", 9, []string{"missing list after region in"}},
		{"region in []", 10, []string{"empty list"}},
		{"region in [EU,]", 14, []string{`missing value after ","`}},
		{"region in [EU", 10, []string{"unterminated list"}},
		{"region in [EU,", 10, []string{"unterminated list"}},
		{"region in [EU US]", 14, []string{`expected "," or "]" in list`, `"US"`}},
		{"region in [EU,[US]]", 14, []string{"expected a value in list", `"["`}},
		{"=A100", 0, []string{`expected a field name, got "="`}},
		{`"gpu_class"=A100`, 0, []string{`expected a field name, got "gpu_class"`}},
	}
	for _, tt := range tests {
		f, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want an error", tt.in, f)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error %T %v, want *SyntaxError", tt.in, err, err)
			continue
		}
		if se.Pos != tt.pos || se.Input != tt.in {
			t.Errorf("Parse(%q): error at %d of %q, want at %d: %v", tt.in, se.Pos, se.Input, tt.pos, err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "filter at column ") {
			t.Errorf("Parse(%q): error %q does not start with \"filter at column \"", tt.in, msg)
		}
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("Parse(%q): error %q does not contain %q", tt.in, msg, w)
			}
		}
	}
}

func TestFields(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Fields() {
		if seen[f.Name] {
			t.Errorf("field %s listed twice", f.Name)
		}
		seen[f.Name] = true
		if f.Doc == "" || len(f.Type.Ops()) == 0 {
			t.Errorf("field %s: doc %q, ops %v", f.Name, f.Doc, f.Type.Ops())
		}
		if strings.ToLower(f.Name) != f.Name {
			t.Errorf("field %s is not lower case", f.Name)
		}
	}
	for _, name := range []string{"gpu_class", "pool", "model", "num_gpus", "free_gpus", "vram_gb",
		"total_vram_gb", "cores", "compute_cap", "price", "region", "country", "executor",
		"available", "rtt_ms", "gflops", "verified", "attr.<key>"} {
		if !seen[name] {
			t.Errorf("field %s missing from Fields()", name)
		}
	}
	// Every field but attr.<key> parses with its first operator.
	for _, f := range Fields()[:attrField] {
		v := "1"
		switch f.Type {
		case TypeBool:
			v = "true"
		case TypeString, TypeSet:
			v = "gpu"
		}
		expr := f.Name + string(f.Type.Ops()[0]) + v
		if _, err := Parse(expr); err != nil {
			t.Errorf("Parse(%q): %v", expr, err)
		}
	}
}

func TestHints(t *testing.T) {
	tests := []struct {
		filter string
		want   Hints
	}{
		{"", Hints{}},
		{"price<=1 num_gpus>=4 rtt_ms<40", Hints{}},
		{"gpu_class=A100-80GB", Hints{Classes: []string{"A100-80GB"}}},
		{"gpu_class in [A100-80GB,H100-80GB,a100-80gb]", Hints{Classes: []string{"A100-80GB", "H100-80GB"}}},
		{"gpu_class in [A100-80GB,H100-80GB] gpu_class=h100-80gb", Hints{Classes: []string{"H100-80GB"}}},
		{"gpu_class=A100-80GB gpu_class=H100-80GB", Hints{Classes: []string{}, None: true}},
		{"gpu_class!=A100-80GB gpu_class notin [H100]", Hints{}},
		{"pool in [gpu,apple] pool=apple", Hints{Pools: []string{"apple"}}},
		{"executor=docker", Hints{Executors: []string{"docker"}}},
		{"executor in [docker,wasm] executor=process", Hints{Executors: []string{"process"}}},
		{"executor=docker executor=wasm", Hints{Executors: []string{"docker"}}},
		{"executor!=docker", Hints{}},
		{"region in [EU,US]", Hints{Regions: []string{"EU", "US"}}},
		{"region=EU region=DE", Hints{Regions: []string{"EU"}}},
		{"country in [DE,FR] country notin [FR]", Hints{Countries: []string{"DE", "FR"}}},
		{"vram_gb>=40", Hints{MinVRAMGB: 40}},
		{"vram_gb>=40 vram_gb>48 vram_gb>=24", Hints{MinVRAMGB: 48}},
		{"vram_gb in [80,40]", Hints{MinVRAMGB: 40}},
		{"vram_gb<=24 vram_gb!=80 total_vram_gb>=320", Hints{}},
		{"gpu_class=A100-80GB num_gpus>=4 vram_gb>=40 price<=1.2 region in [EU,US] executor=docker pool=gpu country=de",
			Hints{Classes: []string{"A100-80GB"}, Pools: []string{"gpu"}, Executors: []string{"docker"},
				Regions: []string{"EU", "US"}, Countries: []string{"de"}, MinVRAMGB: 40}},
	}
	for _, tt := range tests {
		f, err := Parse(tt.filter)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.filter, err)
			continue
		}
		if got := f.Hints(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q).Hints() = %+v, want %+v", tt.filter, got, tt.want)
		}
	}
}

func TestParseOrder(t *testing.T) {
	tests := []struct {
		in   string
		want Order
		str  string
	}{
		{"", DefaultOrder, "price,rtt_ms"},
		{"  ", DefaultOrder, "price,rtt_ms"},
		{"price", Order{{Field: "price"}}, "price"},
		{"price,-num_gpus,rtt_ms", Order{{Field: "price"}, {Field: "num_gpus", Desc: true}, {Field: "rtt_ms"}}, "price,-num_gpus,rtt_ms"},
		{" +price , - gflops,available", Order{{Field: "price"}, {Field: "gflops", Desc: true}, {Field: "available"}}, "price,-gflops,available"},
		{"region,gpu_class", Order{{Field: "region"}, {Field: "gpu_class"}}, "region,gpu_class"},
	}
	for _, tt := range tests {
		got, err := ParseOrder(tt.in)
		if err != nil {
			t.Errorf("ParseOrder(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) || got.String() != tt.str {
			t.Errorf("ParseOrder(%q) = %v (%q), want %v (%q)", tt.in, got, got.String(), tt.want, tt.str)
		}
		if again, err := ParseOrder(got.String()); err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("ParseOrder(%q) = %v, %v, want %v", got.String(), again, err, got)
		}
	}

	errs := []struct {
		in   string
		pos  int
		want []string
	}{
		{"cost", 0, []string{`unknown sort field "cost"`, "sortable: gpu_class, pool", "price", "rtt_ms"}},
		{"price, -executor", 7, []string{`unknown sort field "executor"`}},
		{"attr.tier", 0, []string{`unknown sort field "attr.tier"`}},
		{"price,,rtt_ms", 6, []string{"missing field name"}},
		{"price,-", 6, []string{"missing field name"}},
		{"price,-price", 6, []string{"price appears twice"}},
	}
	for _, tt := range errs {
		_, err := ParseOrder(tt.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("ParseOrder(%q) error %v, want *SyntaxError", tt.in, err)
			continue
		}
		if se.Pos != tt.pos {
			t.Errorf("ParseOrder(%q): error at %d, want %d: %v", tt.in, se.Pos, tt.pos, err)
		}
		if !strings.HasPrefix(err.Error(), "sort order at column ") {
			t.Errorf("ParseOrder(%q): error %q", tt.in, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseOrder(%q): error %q does not contain %q", tt.in, err, w)
			}
		}
		if strings.Contains(err.Error(), "executor") && tt.in == "cost" {
			t.Errorf("ParseOrder(%q): error %q lists executor, which does not sort", tt.in, err)
		}
	}
}

func peersOf(offers []Offer) []string {
	var out []string
	for _, o := range offers {
		out = append(out, string(o.Peer)+"/"+o.Class)
	}
	return out
}

func TestSort(t *testing.T) {
	mk := func(p, class string, price, rtt float64, n int) Offer {
		return Offer{Peer: peer.ID(p), Class: class, Price: price, RTTms: rtt, NumGPUs: n, Region: "EU"}
	}
	offers := []Offer{
		mk("d", "A100", 1.0, -1, 8),
		mk("c", "A100", 1.0, 30, 4),
		mk("b", "A100", 2.0, 10, 8),
		mk("a", "H100", 1.0, 30, 8),
		mk("a", "A100", 1.0, 30, 8),
		mk("e", "A100", 0.5, -1, 1),
	}
	tests := []struct {
		spec string
		want []string
	}{
		// Default: price, then rtt with unknown last, then peer, then class.
		{"", []string{"e/A100", "a/A100", "a/H100", "c/A100", "d/A100", "b/A100"}},
		{"-num_gpus,price", []string{"a/A100", "a/H100", "d/A100", "b/A100", "c/A100", "e/A100"}},
		{"rtt_ms", []string{"b/A100", "a/A100", "a/H100", "c/A100", "d/A100", "e/A100"}},
		// Unknown RTT stays last when descending.
		{"-rtt_ms", []string{"a/A100", "a/H100", "c/A100", "b/A100", "d/A100", "e/A100"}},
		{"-price,-gpu_class", []string{"b/A100", "a/H100", "a/A100", "c/A100", "d/A100", "e/A100"}},
		{"region", []string{"a/A100", "a/H100", "b/A100", "c/A100", "d/A100", "e/A100"}},
	}
	for _, tt := range tests {
		ord, err := ParseOrder(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		// Deterministic: every shuffle of the input sorts the same.
		r := rand.New(rand.NewPCG(1, 2))
		for range 20 {
			in := slices.Clone(offers)
			r.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
			ord.Sort(in)
			if got := peersOf(in); !slices.Equal(got, tt.want) {
				t.Errorf("ParseOrder(%q).Sort = %v, want %v", tt.spec, got, tt.want)
				break
			}
		}
	}
	// An empty Order sorts like DefaultOrder.
	a, b := slices.Clone(offers), slices.Clone(offers)
	Order{}.Sort(a)
	DefaultOrder.Sort(b)
	if !slices.Equal(peersOf(a), peersOf(b)) {
		t.Errorf("Order{}.Sort = %v, want %v", peersOf(a), peersOf(b))
	}
}

func TestSortStringsAndBools(t *testing.T) {
	offers := []Offer{
		{Peer: "p1", Class: "rtx-4090", Available: true},
		{Peer: "p2", Class: "A100-80GB", Available: false, GFLOPS: 1, Verified: true},
		{Peer: "p3", Class: "H100", Available: true, GFLOPS: 2, Verified: true},
	}
	for _, tt := range []struct {
		spec string
		want []string
	}{
		{"gpu_class", []string{"p2/A100-80GB", "p3/H100", "p1/rtx-4090"}},
		{"-available", []string{"p1/rtx-4090", "p3/H100", "p2/A100-80GB"}},
		{"verified,-gflops", []string{"p1/rtx-4090", "p3/H100", "p2/A100-80GB"}},
	} {
		ord, err := ParseOrder(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		in := slices.Clone(offers)
		ord.Sort(in)
		if got := peersOf(in); !slices.Equal(got, tt.want) {
			t.Errorf("ParseOrder(%q).Sort = %v, want %v", tt.spec, got, tt.want)
		}
	}
}
