package market

import (
	"time"

	"github.com/gpumesh/gpumesh/internal/human"
)

// Small helpers that put numbers into the text a person reads (events,
// failures), shared by both roles.

// bound says an RTT bound, or that there is none.
func bound(d time.Duration) string {
	if d <= 0 {
		return "no RTT bound"
	}
	return "RTT bound " + human.Millis(d)
}

// msf is d in milliseconds.
func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// prefixed is s after prefix, or "" when s is.
func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}
