package market

import (
	"fmt"
	"time"
)

// Small helpers that put numbers into the text a person reads (events,
// failures), shared by both roles.

// plural is n and the noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// bound says an RTT bound, or that there is none.
func bound(d time.Duration) string {
	if d <= 0 {
		return "no RTT bound"
	}
	return "RTT bound " + ms(d)
}

// ms is d in milliseconds, one decimal.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", msf(d)) }

// msf is d in milliseconds.
func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// prefixed is s after prefix, or "" when s is.
func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}
