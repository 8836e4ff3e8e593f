package p2p

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// FuzzParseBootstrap: any lines as the bootstrap list of a config file or
// the command line. What parses names every address given, each under
// the peer its /p2p/ part names, and nothing else; an error names the
// entry at fault or the list.
func FuzzParseBootstrap(f *testing.F) {
	const id = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
	const id2 = "QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN"
	for _, s := range []string{
		"/ip4/1.2.3.4/tcp/4101/p2p/" + id,
		"/ip4/1.2.3.4/tcp/4101/p2p/" + id + "\n/ip4/1.2.3.4/udp/4101/quic-v1/p2p/" + id,
		"/dns4/boot.example/tcp/4101/p2p/" + id + "\n/ip6/::1/tcp/1/p2p/" + id2,
		"/p2p/" + id,
		"/p2p/" + id + "\n/ip4/1.2.3.4/tcp/4101/p2p/" + id,
		"/ip4/1.2.3.4/tcp/4101",
		"/ip4/1.2.3.4/tcp/4101/p2p/" + id + "/p2p-circuit",
		"not an address",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		addrs := strings.Split(list, "\n")
		if len(addrs) > 8 {
			return
		}
		infos, err := ParseBootstrap(addrs)
		if err != nil {
			if infos != nil || !strings.Contains(err.Error(), "bootstrap address") {
				t.Fatalf("ParseBootstrap: %d infos, %v", len(infos), err)
			}
			return
		}
		var want, got []string
		for _, s := range addrs {
			m, err := ma.NewMultiaddr(s)
			if err != nil {
				t.Fatalf("%q was accepted but is not a multiaddr: %v", s, err)
			}
			want = append(want, m.String())
		}
		seen := map[peer.ID]bool{}
		for _, info := range infos {
			if err := info.ID.Validate(); err != nil || seen[info.ID] {
				t.Fatalf("peer %q: %v (twice: %t)", info.ID, err, seen[info.ID])
			}
			seen[info.ID] = true
			full, err := peer.AddrInfoToP2pAddrs(&info)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range full {
				got = append(got, m.String())
			}
		}
		slices.Sort(want)
		want = slices.Compact(want)
		slices.Sort(got)
		// A bare /p2p/<id> next to a full address of the same peer adds nothing.
		want = slices.DeleteFunc(want, func(w string) bool {
			return strings.HasPrefix(w, "/p2p/") && slices.ContainsFunc(got, func(g string) bool { return g != w && strings.HasSuffix(g, w) })
		})
		if !slices.Equal(got, want) {
			t.Fatalf("addresses %q parsed as %q", want, got)
		}
	})
}

// FuzzDurationText: a config duration reads only what time.ParseDuration
// reads, and writes back as text that reads to the same duration.
func FuzzDurationText(f *testing.F) {
	for _, s := range []string{"30s", "1h2m3.5s", "-1ns", "0", "2562047h47m16.854775807s", "1d", "", "1e3s", "+5m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var d Duration
		err := d.UnmarshalText([]byte(s))
		want, werr := time.ParseDuration(s)
		if (err == nil) != (werr == nil) || (err == nil && time.Duration(d) != want) {
			t.Fatalf("%q: %v, %v; time.ParseDuration: %v, %v", s, time.Duration(d), err, want, werr)
		}
		if err != nil {
			return
		}
		text, _ := d.MarshalText()
		var back Duration
		if err := back.UnmarshalText(text); err != nil || back != d {
			t.Fatalf("%q wrote %q, read back as %v, %v", s, text, time.Duration(back), err)
		}
	})
}
