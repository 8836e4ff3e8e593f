package gossip

import (
	"strings"
	"testing"
)

func TestValidJobID(t *testing.T) {
	for id, want := range map[string]bool{
		"0123456789abcdef0123456789abcdef":   true,
		"0123456789ABCDEF0123456789ABCDEF":   false, // upper case is another form of the same ID
		"0123456789abcdef0123456789abcde":    false,
		"0123456789abcdef0123456789abcdef0":  false,
		"0123456789abcdef0123456789abcdeg":   false,
		"0123456789abcdef0123456789abcdef\n": false,
		"":                                   false,
	} {
		if got := ValidJobID(id); got != want {
			t.Errorf("ValidJobID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestNewJobID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewJobID()
		if !ValidJobID(id) {
			t.Fatalf("NewJobID() = %q, not a valid job ID", id)
		}
		if seen[id] {
			t.Fatalf("NewJobID() repeated %q", id)
		}
		seen[id] = true
	}
	if err := validJobID(strings.ToUpper(NewJobID())); err == nil {
		t.Error("validJobID accepted an upper-case ID")
	}
}
