package cli

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// termSafe makes text that came from the network safe to print on a
// terminal: every control character but tab and newline (C0, DEL, C1,
// carriage return included) and every bidirectional override or isolate
// is written visibly as an escape (\x1b, \r, \u202e), and each byte that
// is not UTF-8 as \xNN, so a job's logs cannot clear the screen, set the
// window title, rewrite lines or reorder what is shown. Other text,
// backslashes included, is kept as it is.
func termSafe(s string) string {
	if safeAlready(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80 && unsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// safeAlready reports whether s prints as it is: valid UTF-8 without a
// rune termSafe escapes.
func safeAlready(s string) bool {
	for _, r := range s { // invalid bytes range as utf8.RuneError
		if r == utf8.RuneError || unsafeRune(r) {
			return false
		}
	}
	return true
}

// unsafeRune reports whether r may change a terminal's state or the order
// of what it shows: a control character other than tab and newline, or a
// bidirectional formatting character.
func unsafeRune(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r < 0x20 || r == 0x7f: // C0, DEL
		return true
	case r >= 0x80 && r <= 0x9f: // C1: CSI, OSC, ...
		return true
	case r == 0x061c || r == 0x200e || r == 0x200f: // ALM, LRM, RLM
		return true
	case r >= 0x202a && r <= 0x202e: // LRE, RLE, PDF, LRO, RLO
		return true
	case r >= 0x2066 && r <= 0x2069: // LRI, RLI, FSI, PDI
		return true
	}
	return false
}

// maxTermLine is how much a termWriter holds waiting for a newline.
const maxTermLine = 64 << 10

// termWriter passes what is written through termSafe, a line at a time
// (so no UTF-8 sequence is cut), to w. Flush writes what is left.
type termWriter struct {
	w   io.Writer
	buf []byte
}

// newTermWriter returns a termWriter to w.
func newTermWriter(w io.Writer) *termWriter { return &termWriter{w: w} }

// Write sanitizes and writes each complete line of p; a part line waits.
func (t *termWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	for {
		i := bytes.IndexByte(t.buf, '\n')
		if i < 0 {
			break
		}
		if _, err := io.WriteString(t.w, termSafe(string(t.buf[:i+1]))); err != nil {
			return 0, err
		}
		t.buf = t.buf[i+1:]
	}
	if len(t.buf) > maxTermLine {
		return len(p), t.Flush()
	}
	return len(p), nil
}

// Flush writes the part line held, sanitized.
func (t *termWriter) Flush() error {
	if len(t.buf) == 0 {
		return nil
	}
	_, err := io.WriteString(t.w, termSafe(string(t.buf)))
	t.buf = t.buf[:0]
	return err
}

// terminal makes g's human output safe for a terminal (see termSafe) and
// returns the function that flushes it; JSON output is left raw (encoding
// escapes the control characters).
func (g *globals) terminal() (flush func()) {
	if g.json {
		return func() {}
	}
	t := newTermWriter(g.stdout)
	g.stdout = t
	return func() { _ = t.Flush() }
}
