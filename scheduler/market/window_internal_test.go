package market

import (
	"testing"
	"time"
)

// bidWindow widens a short window when bids must cross a relay, and only
// then, and says why.
func TestBidWindow(t *testing.T) {
	for _, tc := range []struct {
		name          string
		window, relay time.Duration
		r             reach
		want          time.Duration
		why           string
	}{
		{"direct", 2 * time.Second, 5 * time.Second, reach{}, 2 * time.Second, ""},
		{"behind NAT", 2 * time.Second, 5 * time.Second, reach{selfRelayed: true}, 5 * time.Second,
			"window widened from 2s to 5s: this node is reachable only through a relay"},
		{"relayed peers", 2 * time.Second, 5 * time.Second, reach{relayedPeers: 3}, 5 * time.Second,
			"window widened from 2s to 5s: 3 peers reachable only through a relay"},
		{"longer already", 8 * time.Second, 5 * time.Second, reach{selfRelayed: true}, 8 * time.Second, ""},
		{"widening off", 2 * time.Second, 0, reach{selfRelayed: true, relayedPeers: 1}, 2 * time.Second, ""},
	} {
		got, why := bidWindow(tc.window, tc.relay, tc.r)
		if got != tc.want || why != tc.why {
			t.Errorf("%s: bidWindow = %s, %q; want %s, %q", tc.name, got, why, tc.want, tc.why)
		}
	}
}

// reachOf reads a relay address among this node's own as being behind NAT.
func TestReachOfAddrs(t *testing.T) {
	for _, tc := range []struct {
		addrs []string
		want  bool
	}{
		{nil, false},
		{[]string{"/ip4/7.0.0.2/tcp/4101"}, false},
		{[]string{"/ip4/192.168.1.2/tcp/4101", "/ip4/7.0.0.1/tcp/4101/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK/p2p-circuit"}, true},
		{[]string{"not an address /p2p-circuit"}, false},
	} {
		if got := reachOf(nil, tc.addrs).selfRelayed; got != tc.want {
			t.Errorf("reachOf(%q).selfRelayed = %v, want %v", tc.addrs, got, tc.want)
		}
	}
}
