package anchor

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// DefaultKeyEnv is the environment variable the anchoring key is read from
// when the config names no other and holds no key itself.
const DefaultKeyEnv = "GPUMESH_ANCHOR_KEY"

// Config is the node's [anchor] table. With neither RPCURL nor Simulated set,
// anchoring is off and the node says so in its status.
type Config struct {
	// RPCURL is the JSON-RPC endpoint (http, https, ws or wss) of an EVM
	// node. Empty (the default) turns anchoring off unless Simulated is set.
	RPCURL string `toml:"rpc_url" comment:"JSON-RPC URL of an EVM node (http://, https://, ws://, wss://); empty = anchoring off"`
	// KeyEnv names the environment variable holding the hex private key of
	// the account that pays for anchors. Default GPUMESH_ANCHOR_KEY.
	KeyEnv string `toml:"key_env" comment:"environment variable holding the hex private key that pays for anchor transactions"`
	// Key is the hex private key itself, used when KeyEnv's variable is
	// unset. Prefer KeyEnv: a key in a file is a key on disk. Never logged.
	Key Secret `toml:"key" comment:"hex private key, used only when key_env's variable is unset (prefer key_env); never logged"`
	// ChainID is the EVM chain ID transactions are signed for; 0 (the
	// default) asks the node, any other value must match what it reports.
	ChainID uint64 `toml:"chain_id" comment:"EVM chain ID to sign for; 0 = ask the node (a non-zero value must match it)"`
	// Interval is the longest an appended entry waits before the epoch that
	// holds it is anchored. Default 1h.
	Interval Duration `toml:"interval" comment:"close and anchor an epoch at least this often when the log grew"`
	// Every closes an epoch as soon as this many entries were appended
	// since the last anchor, whichever of Interval and Every comes first.
	// Default 10000.
	Every int64 `toml:"every" comment:"close and anchor an epoch after this many new entries, if sooner than interval"`
	// Confirmations is how many blocks (the including one counts) an anchor
	// needs before it counts as confirmed and is announced. Default 1,
	// right for dev chains that mine a block per transaction; use more on
	// a public chain (for example 12).
	Confirmations uint64 `toml:"confirmations" comment:"blocks (including the anchor's) before an anchor is confirmed and announced"`
	// Timeout bounds every JSON-RPC call, and how long one anchor waits to
	// be mined before it is left pending for the next check. Default 30s.
	Timeout Duration `toml:"timeout" comment:"deadline of each JSON-RPC call and of waiting for an anchor to be mined"`
	// Simulated anchors on an in-process simulated chain (for the demo):
	// nothing leaves the process and nothing survives a restart.
	Simulated bool `toml:"simulated" comment:"anchor on an in-process simulated chain (demo only; forgotten on restart)"`
}

// DefaultConfig returns the defaults: anchoring off until a chain is set.
func DefaultConfig() Config {
	return Config{
		KeyEnv:        DefaultKeyEnv,
		Interval:      Duration(time.Hour),
		Every:         10000,
		Confirmations: 1,
		Timeout:       Duration(30 * time.Second),
	}
}

// Enabled reports whether c names a chain to anchor on.
func (c Config) Enabled() bool { return c.RPCURL != "" || c.Simulated }

// OffReason says why anchoring is off, or "" when c names a chain.
func (c Config) OffReason() string {
	if c.Enabled() {
		return ""
	}
	return "anchoring off: no chain configured ([anchor] rpc_url)"
}

// WithDefaults returns c with each zero field set to its default.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	if c.KeyEnv == "" {
		c.KeyEnv = d.KeyEnv
	}
	if c.Interval == 0 {
		c.Interval = d.Interval
	}
	if c.Every == 0 {
		c.Every = d.Every
	}
	if c.Confirmations == 0 {
		c.Confirmations = d.Confirmations
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	return c
}

var (
	envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	hexKey  = regexp.MustCompile(`^(0x|0X)?[0-9a-fA-F]{64}$`)
)

// Validate returns every problem with c, each naming its key under prefix
// (for example "anchor"). Zero values are fine: they take the defaults. It
// never quotes the key.
func (c Config) Validate(prefix string) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, args...)))
	}
	if c.RPCURL != "" {
		u, err := url.Parse(c.RPCURL)
		switch {
		case err != nil:
			bad("rpc_url", "not a URL")
		case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ws" && u.Scheme != "wss":
			bad("rpc_url", "scheme %q, want http, https, ws or wss", u.Scheme)
		case u.Host == "":
			bad("rpc_url", "no host")
		}
	}
	if c.RPCURL != "" && c.Simulated {
		bad("simulated", "set together with rpc_url: choose one chain")
	}
	if c.KeyEnv != "" && !envName.MatchString(c.KeyEnv) {
		bad("key_env", "%q is not an environment variable name", c.KeyEnv)
	}
	if c.Key != "" && !hexKey.MatchString(string(c.Key)) {
		bad("key", "not 64 hex digits (value not shown)")
	}
	if c.Interval < 0 || (c.Interval != 0 && c.Interval < Duration(time.Second)) {
		bad("interval", "must be at least 1s, got %s", time.Duration(c.Interval))
	}
	if c.Every < 0 {
		bad("every", "must not be negative, got %d", c.Every)
	}
	if c.Confirmations > maxConfirmations {
		bad("confirmations", "at most %d, got %d", maxConfirmations, c.Confirmations)
	}
	if c.Timeout < 0 || (c.Timeout != 0 && c.Timeout < Duration(100*time.Millisecond)) {
		bad("timeout", "must be at least 100ms, got %s", time.Duration(c.Timeout))
	}
	return errors.Join(errs...)
}

// maxConfirmations bounds Confirmations: deeper than finalDepth would never
// be waited for, because anchors are no longer re-checked past it.
const maxConfirmations = finalDepth

// ResolveKey returns the hex private key: the value of the KeyEnv variable
// (through getenv, os.Getenv in a node) when set, else Key. It returns
// ErrNoKey when neither holds one. The result must never be logged.
func (c Config) ResolveKey(getenv func(string) string) (Secret, error) {
	env := c.KeyEnv
	if env == "" {
		env = DefaultKeyEnv
	}
	if getenv != nil {
		if v := strings.TrimSpace(getenv(env)); v != "" {
			if !hexKey.MatchString(v) {
				return "", fmt.Errorf("%w: $%s is not 64 hex digits (value not shown)", ErrNoKey, env)
			}
			return Secret(v), nil
		}
	}
	if c.Key != "" {
		if !hexKey.MatchString(string(c.Key)) {
			return "", fmt.Errorf("%w: [anchor] key is not 64 hex digits (value not shown)", ErrNoKey)
		}
		return c.Key, nil
	}
	return "", fmt.Errorf("%w: set $%s or [anchor] key", ErrNoKey, env)
}

// ErrNoKey means no usable private key was configured for anchoring.
var ErrNoKey = errors.New("no anchoring key")

// Secret is a string that never shows itself: it prints, logs and encodes as
// JSON as "[redacted]". Only the config file (TOML text) holds its value.
type Secret string

const redacted = "[redacted]"

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer, so %#v hides it too.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// Format implements fmt.Formatter: every verb prints the redacted form.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// MarshalJSON implements json.Marshaler: status and API output never hold
// the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// Reveal returns the value, for the one place that parses the key.
func (s Secret) Reveal() string { return string(s) }

// Duration is a time.Duration written in config files as Go duration text
// ("1h", "30s").
type Duration time.Duration

// MarshalText writes the duration as Go duration text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText parses Go duration text such as "500ms" or "1h".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// RedactURL returns u with only its scheme and host: RPC URLs often carry an
// API key in their path or query, so messages show this form.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return "(unparsable url)"
	}
	return p.Scheme + "://" + p.Host
}
