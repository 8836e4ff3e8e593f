package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gpumesh/gpumesh/node/api"
)

// statusServer serves s as GET /api/v1/status for a data dir it returns.
func statusServer(t *testing.T, s api.Status) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/status" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(s)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	if err := api.WriteAddrFile(dir, srv.URL); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestStatusShowsNetwork: `gpumesh status` prints the network, its
// bootstrap peers with the reason none answers (escaped where it carries
// a terminal escape, as dial errors may quote what peers sent), the
// reachability with its source, relay and direct addresses; --json
// carries the same fields.
func TestStatusShowsNetwork(t *testing.T) {
	relay := "/ip4/203.0.113.7/tcp/4101/p2p/12D3KooWRelay/p2p-circuit/p2p/12D3KooWSelf"
	s := api.Status{PeerID: "12D3KooWSelf", Network: api.NetworkStatus{
		Name: "lab", Kind: "custom",
		Bootstrap:    api.BootstrapStatus{Peers: 2, Reason: "no bootstrap peer reachable, retrying with backoff: connect to X: \x1b]0;pwned\x07"},
		Reachability: "private", ReachabilitySource: "autonat",
		RelayAddrs:  []string{relay},
		DirectAddrs: []string{"/ip4/192.168.1.5/tcp/4101/p2p/12D3KooWSelf"},
	}}
	dir := statusServer(t, s)
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"status", "--data-dir", dir}, &out, &errOut); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	got := out.String()
	for _, want := range []string{
		"network       lab (custom)\n",
		"bootstrap     connected 0 of 2: no bootstrap peer reachable, retrying with backoff: connect to X: \\x1b]0;pwned\\x07\n",
		"reachability  private (behind NAT, says AutoNAT)\n",
		"relay         " + relay + "\n",
		"direct        /ip4/192.168.1.5/tcp/4101/p2p/12D3KooWSelf\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("status output lacks %q:\n%s", want, got)
		}
	}
	if strings.ContainsAny(got, "\x1b\x07") {
		t.Errorf("a terminal escape reached the output:\n%q", got)
	}

	out.Reset()
	if code := Run(context.Background(), []string{"status", "--json", "--data-dir", dir}, &out, &errOut); code != ExitOK {
		t.Fatalf("--json: exit %d: %s", code, errOut.String())
	}
	var back api.Status
	if err := json.Unmarshal(out.Bytes(), &back); err != nil {
		t.Fatalf("--json is not JSON: %v\n%s", err, out.String())
	}
	if back.Network.Name != "lab" || back.Network.Bootstrap.Peers != 2 || back.Network.RelayAddrs[0] != relay || back.Network.Bootstrap.Reason != s.Network.Bootstrap.Reason {
		t.Errorf("--json network = %+v, want %+v", back.Network, s.Network)
	}
}

// TestStatusNetworkLines covers the other bootstrap and reachability
// cases: connected, none configured, declared public without relays.
func TestStatusNetworkLines(t *testing.T) {
	tests := []struct {
		n    api.NetworkStatus
		want []string
		not  []string
	}{
		{api.NetworkStatus{Name: "main", Kind: "main", Bootstrap: api.BootstrapStatus{Peers: 3, Connected: 2}, Reachability: "unknown", ReachabilitySource: "autonat"},
			[]string{"network       main\n", "bootstrap     connected 2 of 3\n", "reachability  unknown (AutoNAT has no verdict yet)\n", "relay         none yet"}, nil},
		{api.NetworkStatus{Name: "local", Kind: "local", Bootstrap: api.BootstrapStatus{Reason: "no bootstrap peers: joining through the LAN and explicit peers only"}, Reachability: "public", ReachabilitySource: "p2p.public"},
			[]string{"bootstrap     none: no bootstrap peers: joining through the LAN and explicit peers only\n", "reachability  public (declared: p2p.public)\n"}, []string{"relay"}},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		if err := printStatus(&b, api.Status{Network: tc.n}); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.n.Name, w, b.String())
			}
		}
		for _, w := range tc.not {
			if strings.Contains(b.String(), w) {
				t.Errorf("%s: output has %q:\n%s", tc.n.Name, w, b.String())
			}
		}
	}
}
