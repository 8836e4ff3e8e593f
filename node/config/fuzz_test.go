package config

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// FuzzLoad: any bytes as a config file, under each profile override. A
// failed load returns the zero Config; a successful one validates, holds
// only finite numbers, has the profile asked for, and saves to a file
// that loads back to the same config (the same bytes when saved again).
func FuzzLoad(f *testing.F) {
	for _, p := range Profiles {
		tmpl, err := Template(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tmpl, uint8(0))
		c, _ := ForProfile(p)
		full, err := c.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(full, uint8(0))
	}
	for _, s := range []string{
		"",
		`profile = "test"`,
		`profile = "mars"`,
		"[gpu]\nproof_tolerance = 0.75\nchallenge_max_n = 1024\n",
		"[gpu]\nproof_tolerance = nan\n",
		"[market]\ndefault_max_price = inf\n",
		"[p2p]\nlisten = []\nbootstrap_timeout = \"-1s\"\n",
		"[anchor]\nrpc_url = \"http://127.0.0.1:8545\"\nevery = 3\ninterval = \"1s\"\nkey = \"0x" + "11" + "22222222222222222222222222222222222222222222222222222222222222\"\n",
		"[offer]\nprices = [\"gpu=1.5\", \"A100-80GB=2\"]\nhours = [\"18:00-08:00\"]\n",
		"[api]\nlisten = \"0.0.0.0:7780\"\n",
		"unknown = 1\n",
		"[log]\nlevel = \"debug\"\nformat = \"json\"\n",
		"profile = \"home\"\nprofile = \"test\"\n",
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Add([]byte(`profile = "home"`), uint8(3)) // the flag says test
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, flag uint8) {
		profile := ""
		if i := int(flag) % (len(Profiles) + 1); i > 0 {
			profile = Profiles[i-1]
		}
		path := filepath.Join(dir, "fuzz.toml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, exists, err := Load(path, profile)
		if !exists {
			t.Fatalf("Load says the file it read does not exist")
		}
		if err != nil {
			if !reflect.DeepEqual(c, Config{}) {
				t.Fatalf("Load failed (%v) but returned %+v", err, c)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("loaded a config that does not validate: %v", err)
		}
		if profile != "" && c.Profile != profile {
			t.Fatalf("profile %q, want the override %q", c.Profile, profile)
		}
		if !slices.Contains(Profiles, c.Profile) {
			t.Fatalf("profile %q", c.Profile)
		}
		if bad := nonFinite(reflect.ValueOf(c), "config"); bad != "" {
			t.Fatalf("loaded a non-finite number at %s from %q", bad, data)
		}
		saved := filepath.Join(dir, "saved.toml")
		if err := c.Save(saved); err != nil {
			t.Fatalf("save: %v", err)
		}
		again, _, err := Load(saved, "")
		if err != nil {
			t.Fatalf("a saved config does not load: %v", err)
		}
		b1, err1 := c.Marshal()
		b2, err2 := again.Marshal()
		if err1 != nil || err2 != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("save/load changed the config:\n%s\nthen\n%s", b1, b2)
		}
	})
}

// nonFinite returns the path of the first NaN or infinite float in v, or "".
func nonFinite(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return path
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return nonFinite(v.Elem(), path)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if bad := nonFinite(v.Field(i), path+"."+v.Type().Field(i).Name); bad != "" {
				return bad
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if bad := nonFinite(v.Index(i), path); bad != "" {
				return bad
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if bad := nonFinite(it.Value(), path); bad != "" {
				return bad
			}
		}
	}
	return ""
}

// FuzzSetList: editing one list key of any file either refuses (and
// changes nothing) or gives a file in which that key holds the values and
// every other key keeps its value; the same edit again changes nothing.
func FuzzSetList(f *testing.F) {
	tmpl, err := Template("home")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tmpl, uint8(0), "gpu=2.5", "A100-80GB=3")
	f.Add([]byte("profile = \"test\"\n"), uint8(1), "18:00-08:00", "")
	f.Add([]byte("[offer]\nprices = [\n  \"gpu=1\",\n]\n"), uint8(0), "gpu=2", "")
	f.Add([]byte("[offer]\nnote = \"\"\"\nprices = 1\n\"\"\"\n"), uint8(0), "", "")
	f.Add([]byte("[offer] # mine\n  # prices = []\n  prices = [\"x=1\"]\n[p2p]\n"), uint8(2), "/ip4/1.2.3.4/tcp/1/p2p/x", "\"quoted\"")
	f.Fuzz(func(t *testing.T, data []byte, which uint8, v1, v2 string) {
		keys := [][2]string{{"offer", "prices"}, {"offer", "hours"}, {"p2p", "bootstrap"}}
		k := keys[int(which)%len(keys)]
		var values []string
		for _, v := range []string{v1, v2} {
			if v != "" {
				values = append(values, v)
			}
		}
		out, err := setList(data, k[0], k[1], values)
		if err != nil {
			if out != nil {
				t.Fatalf("refused (%v) but returned a file", err)
			}
			return
		}
		var got map[string]any
		if err := toml.Unmarshal(out, &got); err != nil {
			t.Fatalf("edited file does not parse: %v", err)
		}
		table, _ := got[k[0]].(map[string]any)
		list, ok := table[k[1]].([]any)
		if !ok || len(list) != len(values) {
			t.Fatalf("%s.%s = %#v, want %q", k[0], k[1], table[k[1]], values)
		}
		for i, v := range list {
			if v != values[i] {
				t.Fatalf("%s.%s = %#v, want %q", k[0], k[1], list, values)
			}
		}
		var orig map[string]any
		if toml.Unmarshal(data, &orig) == nil {
			delete(table, k[1])
			if len(table) == 0 {
				if _, had := orig[k[0]]; !had {
					delete(got, k[0])
				}
			}
			if ot, ok := orig[k[0]].(map[string]any); ok {
				delete(ot, k[1])
			}
			if !reflect.DeepEqual(orig, got) {
				t.Fatalf("the edit changed other keys:\n%q\nbecame\n%q", data, out)
			}
		}
		again, err := setList(out, k[0], k[1], values)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("the same edit again: %v, changed\n%q\nto\n%q", err, out, again)
		}
	})
}
