package p2p

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBootReason(t *testing.T) {
	long := errors.New(strings.Repeat("dial backoff é ", 100))
	tests := []struct {
		name  string
		round *bootRound
		want  string
	}{
		{"first round", nil, reasonFirstRound},
		{"none configured", &bootRound{reason: reasonNoBootstrap}, reasonNoBootstrap},
		{"only itself", &bootRound{reason: reasonOnlyBootstrap}, reasonOnlyBootstrap},
		{"lost since", &bootRound{peers: 2, reached: 1}, reasonLost},
		{"dial failed", &bootRound{peers: 2, err: errors.Join(errors.New("connect to A: refused"), errors.New("connect to B: timeout"))},
			"no bootstrap peer reachable, retrying with backoff: connect to A: refused; connect to B: timeout"},
		{"no error kept", &bootRound{peers: 1}, "no bootstrap peer reachable, retrying with backoff"},
	}
	for _, tc := range tests {
		if got := bootReason(tc.round); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	got := bootReason(&bootRound{peers: 1, err: long})
	if len(got) > maxReason+len("…") || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
		t.Errorf("long reason: %d bytes, valid UTF-8 %v, %q", len(got), utf8.ValidString(got), got[len(got)-10:])
	}
}

func TestNetworkKind(t *testing.T) {
	for name, want := range map[string]string{"main": KindMain, "local": KindLocal, "blue": KindCustom} {
		if got := networkKind(name); got != want {
			t.Errorf("networkKind(%q) = %q, want %q", name, got, want)
		}
	}
}
