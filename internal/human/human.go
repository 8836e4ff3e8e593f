package human

import (
	"fmt"
	"time"

	"github.com/dustin/go-humanize/english"
)

// Plural writes n nouns: "1 worker", "0 workers", "2 entries", "3 hashes".
// The plural is English's regular one (go-humanize's english.PluralWord);
// n is written in plain digits, without thousands separators.
func Plural[N ~int | ~int64](n N, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %s", n, english.PluralWord(2, noun, ""))
}

// Millis writes d in milliseconds to one decimal: "12.3 ms".
func Millis(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}
