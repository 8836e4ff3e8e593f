package anchor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// devKey is anvil's first dev account key: public knowledge, used in tests
// only to check it never shows.
const devKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

func TestConfigDefaultsAndValidate(t *testing.T) {
	d := DefaultConfig()
	if d.Enabled() || d.OffReason() != "anchoring off: no chain configured ([anchor] rpc_url)" {
		t.Fatalf("default config: enabled %v, reason %q", d.Enabled(), d.OffReason())
	}
	if err := d.Validate("anchor"); err != nil {
		t.Fatal(err)
	}
	if got := (Config{}).WithDefaults(); got != d {
		t.Fatalf("WithDefaults of zero = %+v, want %+v", got, d)
	}
	bad := Config{
		RPCURL: "ftp://x", KeyEnv: "1BAD", Key: "0x12", Interval: Duration(time.Millisecond),
		Every: -1, Confirmations: 1000, Timeout: Duration(time.Millisecond),
	}
	err := bad.Validate("anchor")
	for _, want := range []string{"anchor.rpc_url", "anchor.key_env", "anchor.key: not 64 hex digits (value not shown)",
		"anchor.interval", "anchor.every", "anchor.confirmations", "anchor.timeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to name %q", err, want)
		}
	}
	both := Config{RPCURL: "http://127.0.0.1:8545", Simulated: true}
	if err := both.Validate("anchor"); err == nil || !strings.Contains(err.Error(), "anchor.simulated") {
		t.Errorf("rpc_url and simulated together: %v", err)
	}
}

func TestKeyNeverShows(t *testing.T) {
	bare := strings.TrimPrefix(devKey, "0x")
	c := Config{RPCURL: "http://127.0.0.1:8545", Key: Secret(devKey)}

	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", c, "key", c.Key)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "cfg", c, "key", c.Key)
	js, _ := json.Marshal(c)
	shown := strings.Join([]string{
		fmt.Sprint(c), fmt.Sprintf("%+v %#v %s %q %x", c, c, c.Key, c.Key, c.Key), string(js), logs.String(),
	}, "\n")
	if strings.Contains(strings.ToLower(shown), bare[:16]) {
		t.Fatalf("the key shows:\n%s", shown)
	}
	if !strings.Contains(shown, "[redacted]") {
		t.Fatalf("no [redacted] in:\n%s", shown)
	}

	got, err := c.ResolveKey(func(string) string { return "" })
	if err != nil || got.Reveal() != devKey {
		t.Fatalf("ResolveKey from config: %v", err)
	}
	got, err = c.ResolveKey(func(k string) string {
		if k == DefaultKeyEnv {
			return "  " + bare + "\n"
		}
		return ""
	})
	if err != nil || got.Reveal() != bare {
		t.Fatalf("ResolveKey from env: %v", err)
	}
	// A malformed key is reported without any of it.
	broken := "0xzz" + bare[4:]
	_, err = Config{KeyEnv: "K"}.ResolveKey(func(string) string { return broken })
	if !errors.Is(err, ErrNoKey) || strings.Contains(err.Error(), bare[4:20]) || !strings.Contains(err.Error(), "$K") {
		t.Fatalf("ResolveKey(malformed) = %v", err)
	}
	err = Config{Key: Secret(broken)}.Validate("anchor")
	if err == nil || strings.Contains(err.Error(), bare[4:20]) {
		t.Fatalf("Validate(malformed key) = %v", err)
	}
	if _, err := (Config{}).ResolveKey(nil); !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "GPUMESH_ANCHOR_KEY") {
		t.Fatalf("no key: %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://mainnet.infura.io/v3/SECRETKEY": "https://mainnet.infura.io",
		"http://user:pw@127.0.0.1:8545/?k=v":     "http://127.0.0.1:8545",
		"::":                                     "(unparsable url)",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestConfigTOML: the node's config file holds the key's real value (only
// TOML shows it) and durations as text.
func TestConfigTOML(t *testing.T) {
	c := DefaultConfig()
	c.RPCURL, c.Key = "http://127.0.0.1:8545", Secret(devKey)
	b, err := toml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), devKey) || !strings.Contains(string(b), "interval = '1h0m0s'") {
		t.Fatalf("TOML:\n%s", b)
	}
	var got Config
	if err := toml.Unmarshal(b, &got); err != nil || got != c {
		t.Fatalf("round trip: %v\n%+v\n%+v", err, got, c)
	}
}
