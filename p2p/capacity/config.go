package capacity

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gpumesh/gpumesh/p2p"
)

// Config is what this node offers and how it advertises it: the [offer]
// table of the config file.
type Config struct {
	// Enabled advertises this node's devices; off, the node only searches.
	Enabled bool `toml:"enabled" comment:"advertise this node's devices to the network"`
	// Prices are the asks per device-hour in USD, as CLASS=PRICE or
	// POOL=PRICE (pools: gpu, apple, cpu); a class's own entry wins over its
	// pool's.
	Prices []string `toml:"prices" comment:"asks per device-hour in USD: CLASS=PRICE or POOL=PRICE (gpu, apple, cpu); a class entry wins over its pool's"`
	// Country is the ISO 3166 alpha-2 code of the node's country.
	Country string `toml:"country" comment:"ISO 3166 alpha-2 country code requesters can filter on (e.g. DE)"`
	// Region is a coarse market region (EU, NA, SA, AS, AF, OC).
	Region string `toml:"region" comment:"market region requesters can filter on (EU, NA, SA, AS, AF, OC)"`
	// Executors are the executors offered.
	Executors []string `toml:"executors" comment:"executors offered: wasm, docker, process"`
	// Hours are the daily local-time windows in which jobs are taken.
	Hours []string `toml:"hours" comment:"local-time windows in which jobs are taken, e.g. [\"18:00-08:00\"]; empty = always"`
	// Attributes are KEY=VALUE labels requesters can filter on (attr.<key>).
	Attributes []string `toml:"attributes" comment:"KEY=VALUE labels requesters can filter on as attr.<key>, e.g. [\"green=true\", \"tier=soc2\"]"`
	// SelfTest measures the device with a proof-of-compute at start and
	// puts the result in the record.
	SelfTest bool `toml:"self_test" comment:"measure the device with a proof-of-compute at start and advertise the result"`
	// TTL is how long a published record is valid.
	TTL p2p.Duration `toml:"ttl" comment:"how long a published capacity record is valid"`
	// Republish is how often an unchanged record is put again.
	Republish p2p.Duration `toml:"republish_interval" comment:"how often the record is republished when nothing changed (at most ttl/2)"`
	// Reprovide is how often capability keys are announced again.
	Reprovide p2p.Duration `toml:"reprovide_interval" comment:"how often capability keys are announced again"`
	// SearchTimeout bounds a search of the network's offers.
	SearchTimeout p2p.Duration `toml:"search_timeout" comment:"how long an offers search may take"`
	// SearchQuorum is how many DHT answers a record fetch waits for.
	SearchQuorum int `toml:"search_quorum" comment:"DHT answers a record fetch waits for, keeping the newest"`
}

// DefaultConfig offers the node's devices through wasm, always, at prices
// by pool; no country or region until the provider declares them.
func DefaultConfig() Config {
	return Config{
		Enabled:       true,
		Prices:        []string{"gpu=1.00", "apple=0.30", "cpu=0.04"},
		Executors:     []string{"wasm"},
		SelfTest:      true,
		TTL:           p2p.Duration(time.Hour),
		Republish:     p2p.Duration(20 * time.Minute),
		Reprovide:     p2p.Duration(time.Hour),
		SearchTimeout: p2p.Duration(10 * time.Second),
		SearchQuorum:  2,
	}
}

// Price is the ask for a device of class in pool.
func (c Config) Price(class, pool string) (float64, bool) {
	prices, _ := c.PriceTable()
	if p, ok := prices[class]; ok {
		return p, true
	}
	p, ok := prices[pool]
	return p, ok
}

// PriceTable parses Prices into a map from class or pool to price.
func (c Config) PriceTable() (map[string]float64, error) {
	out := map[string]float64{}
	var errs []error
	for _, e := range c.Prices {
		k, v, ok := strings.Cut(e, "=")
		k = strings.TrimSpace(k)
		p, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || err != nil || !namePattern.MatchString(k) || !(p > 0 && p <= MaxPrice) {
			errs = append(errs, fmt.Errorf("%q: want CLASS=PRICE or POOL=PRICE with a price in (0, %v]", e, MaxPrice))
			continue
		}
		out[k] = p
	}
	return out, errors.Join(errs...)
}

// AttributeMap parses Attributes into a map.
func (c Config) AttributeMap() (map[string]string, error) {
	out := map[string]string{}
	var errs []error
	for _, e := range c.Attributes {
		k, v, ok := strings.Cut(e, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || !labelPattern.MatchString(k) || len(v) > 64 {
			errs = append(errs, fmt.Errorf("%q: want KEY=VALUE, the key a lower-case word, the value at most 64 bytes", e))
			continue
		}
		out[k] = v
	}
	return out, errors.Join(errs...)
}

// Timing is the publisher's timing from the config.
func (c Config) Timing() Timing {
	return Timing{
		TTL: time.Duration(c.TTL), Republish: time.Duration(c.Republish), Reprovide: time.Duration(c.Reprovide),
		MinInterval: min(5*time.Second, time.Duration(c.Republish)),
	}
}

// Windows converts Hours, read in loc, to UTC windows at the date of now
// (so that daylight saving time is followed at each publication).
func (c Config) Windows(now time.Time, loc *time.Location) ([]Window, error) {
	var out []Window
	_, offset := now.In(loc).Zone()
	for _, h := range c.Hours {
		f, t, err := ParseHours(h)
		if err != nil {
			return nil, fmt.Errorf("hours: %w", err)
		}
		if f == t%(24*60) {
			continue // all day
		}
		shift := func(m int) uint16 { return uint16(((m-offset/60)%(24*60) + 24*60) % (24 * 60)) }
		w := Window{From: shift(f), To: shift(t)}
		if w.To == 0 {
			w.To = 24 * 60
		}
		out = append(out, w)
	}
	if len(out) < len(c.Hours) { // one window covered the whole day
		return nil, nil
	}
	return out, nil
}

// ErrBadHours is wrapped by every error for a window that is not
// HH:MM-HH:MM.
var ErrBadHours = errors.New("not a window HH:MM-HH:MM")

// clockRE is a whole local time: one or two digits of hours, two of minutes.
var clockRE = regexp.MustCompile(`^([0-9]{1,2}):([0-9]{2})$`)

// ParseHours reads a daily window "HH:MM-HH:MM" (spaces around either time
// allowed) as minutes after midnight, from 0 to 24*60. The whole input
// must be the window: anything before or after it is an error wrapping
// ErrBadHours.
func ParseHours(s string) (from, to int, err error) {
	f, t, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q: %w", s, ErrBadHours)
	}
	from, err1 := parseClock(f)
	to, err2 := parseClock(t)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("%q: %w: %w", s, ErrBadHours, err)
	}
	return from, to, nil
}

// FormatHours writes the window that ParseHours reads as from, to.
func FormatHours(from, to int) string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", from/60, from%60, to/60, to%60)
}

// parseClock reads a whole time "HH:MM" from 00:00 to 24:00 as minutes.
func parseClock(s string) (int, error) {
	m := clockRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a time HH:MM", s)
	}
	h, _ := strconv.Atoi(m[1])
	mm, _ := strconv.Atoi(m[2])
	if h > 24 || mm > 59 || (h == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time from 00:00 to 24:00", s)
	}
	return h*60 + mm, nil
}

// Validate returns every problem with c, each naming its key under prefix.
func (c Config) Validate(prefix string) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, args...)))
	}
	if _, err := c.PriceTable(); err != nil {
		bad("prices", "%v", err)
	}
	if c.Country != "" && !countryRE.MatchString(c.Country) {
		bad("country", "%q is not an ISO 3166 alpha-2 code (two capital letters)", c.Country)
	}
	if c.Region != "" && !namePattern.MatchString(c.Region) {
		bad("region", "%q: letters, digits, '.', '_', '+', '-' only", c.Region)
	}
	if len(c.Executors) == 0 || len(c.Executors) > 8 {
		bad("executors", "want 1 to 8, got %d", len(c.Executors))
	}
	for _, e := range c.Executors {
		if !labelPattern.MatchString(e) {
			bad("executors", "%q is not an executor name", e)
		}
	}
	if len(c.Hours) > 8 {
		bad("hours", "at most 8 windows, got %d", len(c.Hours))
	}
	if _, err := c.Windows(time.Now(), time.UTC); err != nil {
		bad("hours", "%v", err)
	}
	if len(c.Attributes) > MaxAttributes {
		bad("attributes", "at most %d, got %d", MaxAttributes, len(c.Attributes))
	}
	if _, err := c.AttributeMap(); err != nil {
		bad("attributes", "%v", err)
	}
	if c.TTL < p2p.Duration(time.Second) || c.TTL > p2p.Duration(MaxTTL) {
		bad("ttl", "must be 1s to %s, got %s", MaxTTL, time.Duration(c.TTL))
	}
	if c.Republish <= 0 || c.Republish > c.TTL/2 {
		bad("republish_interval", "must be positive and at most ttl/2, got %s", time.Duration(c.Republish))
	}
	if c.Reprovide < p2p.Duration(time.Second) {
		bad("reprovide_interval", "must be at least 1s, got %s", time.Duration(c.Reprovide))
	}
	if c.SearchTimeout < p2p.Duration(100*time.Millisecond) {
		bad("search_timeout", "must be at least 100ms, got %s", time.Duration(c.SearchTimeout))
	}
	if c.SearchQuorum < 1 || c.SearchQuorum > 20 {
		bad("search_quorum", "must be 1 to 20, got %d", c.SearchQuorum)
	}
	return errors.Join(errs...)
}
