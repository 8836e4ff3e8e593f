package human

import (
	"testing"
	"time"
)

func TestPlural(t *testing.T) {
	for _, c := range []struct {
		n    int
		noun string
		want string
	}{
		{1, "worker", "1 worker"},
		{0, "worker", "0 workers"},
		{2, "bid", "2 bids"},
		{1000, "bid", "1000 bids"}, // no thousands separator
		{-1, "round", "-1 rounds"},
		{2, "lost provider", "2 lost providers"},
		{3, "failover request", "3 failover requests"},
		{4, "later line", "4 later lines"},
		{1, "entry", "1 entry"},
		{2, "entry", "2 entries"},
		{1, "hash", "1 hash"},
		{5, "hash", "5 hashes"},
	} {
		if got := Plural(c.n, c.noun); got != c.want {
			t.Errorf("Plural(%d, %q) = %q, want %q", c.n, c.noun, got, c.want)
		}
	}
	if got, want := Plural(int64(1)<<40, "entry"), "1099511627776 entries"; got != want {
		t.Errorf("Plural(1<<40, entry) = %q, want %q", got, want)
	}
}

func TestMillis(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                   "0.0 ms",
		1500 * time.Microsecond:             "1.5 ms",
		12340 * time.Microsecond:            "12.3 ms",
		150 * time.Millisecond:              "150.0 ms",
		-2 * time.Millisecond:               "-2.0 ms",
		49 * time.Microsecond:               "0.0 ms",
		2*time.Second + 60*time.Microsecond: "2000.1 ms",
	} {
		if got := Millis(d); got != want {
			t.Errorf("Millis(%v) = %q, want %q", d, got, want)
		}
	}
}
