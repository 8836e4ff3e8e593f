package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestEveryProfileIsValid(t *testing.T) {
	for _, p := range Profiles {
		c, err := ForProfile(p)
		if err != nil {
			t.Fatalf("ForProfile(%s): %v", p, err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("profile %s is invalid: %v", p, err)
		}
		if c.Profile != p {
			t.Errorf("profile %s: Profile = %q", p, c.Profile)
		}
	}
	if _, err := ForProfile("cloud"); err == nil || !strings.Contains(err.Error(), "home, datacenter, test") {
		t.Errorf("unknown profile: err = %v, want the list of profiles", err)
	}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadNamesTheBadKey(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"unknown key", "[p2p]\nmdsn = true\n", []string{"unknown key p2p.mdsn", "line 2"}},
		{"wrong type", "[p2p]\nconn_low = 'many'\n", []string{"p2p.conn_low"}},
		{"bad duration", "[gossip]\nheartbeat_interval = 'soon'\n", []string{"gossip.heartbeat_interval"}},
		{"bad dht mode", "[p2p]\ndht_mode = 'sometimes'\n", []string{"p2p.dht_mode", "sometimes"}},
		{"bad listen", "[p2p]\nlisten = ['tcp:4001']\n", []string{"p2p.listen", "tcp:4001"}},
		{"public api", "[api]\nlisten = '0.0.0.0:7780'\n", []string{"api.listen", "loopback"}},
		{"api port with trailing text", "[api]\nlisten = '127.0.0.1:7780x'\n", []string{"api.listen", "7780x"}},
		{"api port with a sign", "[api]\nlisten = '127.0.0.1:+7780'\n", []string{"api.listen", "+7780"}},
		{"bad profile", "profile = 'cloud'\n", []string{"profile", "cloud"}},
		{"two problems", "[log]\nlevel = 'loud'\nformat = 'xml'\n", []string{"log.level", "log.format"}},
		{"not toml", "this is = = not toml", []string{"line 1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.body)
			_, _, err := Load(path, "")
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range append(tc.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadLayersProfileThenFile(t *testing.T) {
	path := writeConfig(t, "profile = 'datacenter'\n[p2p]\nconn_high = 2000\n")
	c, exists, err := Load(path, "")
	if err != nil || !exists {
		t.Fatalf("Load: exists=%v err=%v", exists, err)
	}
	// From the profile:
	if !c.Headless || !c.P2P.RelayService || c.P2P.DHTMode != "server" {
		t.Errorf("datacenter profile not applied: headless=%v relay=%v dht=%s", c.Headless, c.P2P.RelayService, c.P2P.DHTMode)
	}
	// From the file, over the profile:
	if c.P2P.ConnHigh != 2000 {
		t.Errorf("conn_high = %d, want the file's 2000", c.P2P.ConnHigh)
	}
	// The --profile flag beats the file's profile key.
	c, _, err = Load(path, "test")
	if err != nil {
		t.Fatal(err)
	}
	if c.Profile != "test" || c.API.Listen != "127.0.0.1:0" {
		t.Errorf("profile flag ignored: profile=%s api=%s", c.Profile, c.API.Listen)
	}
}

func TestMissingFileGivesProfileDefaults(t *testing.T) {
	c, exists, err := Load(filepath.Join(t.TempDir(), "none.toml"), "")
	if err != nil || exists {
		t.Fatalf("Load: exists=%v err=%v", exists, err)
	}
	want := Default()
	if c.P2P.DHTMode != want.P2P.DHTMode || c.API.Listen != want.API.Listen || c.Profile != "home" {
		t.Errorf("got %+v, want the home defaults", c)
	}
}

func TestTemplateLoadsAsItsProfile(t *testing.T) {
	for _, p := range Profiles {
		tmpl, err := Template(p)
		if err != nil {
			t.Fatal(err)
		}
		path := writeConfig(t, string(tmpl))
		got, _, err := Load(path, "")
		if err != nil {
			t.Fatalf("profile %s: template does not load: %v\n%s", p, err, tmpl)
		}
		want, _ := ForProfile(p)
		a, _ := got.Marshal()
		b, _ := want.Marshal()
		if string(a) != string(b) {
			t.Errorf("profile %s: template loads as\n%s\nwant\n%s", p, a, b)
		}
		// Every key is shown, commented out, with its documentation.
		for _, key := range []string{"# listen =", "# heartbeat_interval =", "# level ="} {
			if !strings.Contains(string(tmpl), key) {
				t.Errorf("profile %s: template lacks %q", p, key)
			}
		}
	}
	// Uncommenting a key changes it.
	tmpl, _ := Template("home")
	edited := strings.Replace(string(tmpl), "# mdns = true", "mdns = false", 1)
	got, _, err := Load(writeConfig(t, edited), "")
	if err != nil || got.P2P.MDNS {
		t.Errorf("uncommented mdns = false: got mdns=%v err=%v", got.P2P.MDNS, err)
	}
}

func TestDocsDocumentEveryKey(t *testing.T) {
	readme, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := Default().Marshal()
	table := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if m := regexp.MustCompile(`^\[(\w+)\]$`).FindStringSubmatch(line); m != nil {
			table = m[1] + "."
			continue
		}
		if m := regexp.MustCompile(`^(\w+) =`).FindStringSubmatch(line); m != nil {
			key := table + m[1]
			if !strings.Contains(string(readme), "`"+key+"`") {
				t.Errorf("docs/configuration.md does not document config key `%s`", key)
			}
		}
	}
}
