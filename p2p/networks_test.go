package p2p

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// TestBuiltinNetworks: the embedded definitions parse, main keeps the
// protocol IDs and topics gpumesh always had, and local has its own.
func TestBuiltinNetworks(t *testing.T) {
	main, err := LookupNetwork("")
	if err != nil {
		t.Fatalf("LookupNetwork(\"\"): %v", err)
	}
	if main.Name != MainNetwork || main.ProtocolPrefix != "/gpumesh" || main.TopicPrefix != "gpumesh" || main.DHTPrefix != ProtocolPrefix {
		t.Errorf("main = %+v, want /gpumesh, gpumesh, %s", main, ProtocolPrefix)
	}
	if got := main.MDNSService(); got != MDNSServiceName {
		t.Errorf("main's mDNS service %q, want %q", got, MDNSServiceName)
	}
	if got := main.Topic("gpumesh/jobs/1"); got != "gpumesh/jobs/1" {
		t.Errorf("main's jobs topic %q, want gpumesh/jobs/1", got)
	}
	local, err := LookupNetwork(LocalNetwork)
	if err != nil {
		t.Fatalf("LookupNetwork(local): %v", err)
	}
	if len(local.Bootstrap) != 0 || local.ProtocolPrefix == main.ProtocolPrefix || local.MDNSService() == MDNSServiceName {
		t.Errorf("local = %+v shares main's prefixes or has bootstrap peers", local)
	}
	if got := local.Topic("gpumesh/jobs/1"); got != "gpumesh-local/jobs/1" {
		t.Errorf("local's jobs topic %q, want gpumesh-local/jobs/1", got)
	}
	if len(Networks()) < 2 {
		t.Errorf("%d built-in networks, want main and local at least", len(Networks()))
	}
	_, err = LookupNetwork("mainnet")
	if !errors.Is(err, ErrUnknownNetwork) || !strings.Contains(err.Error(), "main, local") {
		t.Errorf("unknown network: err = %v, want ErrUnknownNetwork naming main, local", err)
	}
}

// TestParseNetworksRefusesBadDefinitions: each malformed or colliding
// definition is ErrBadNetwork with a message naming what is wrong.
func TestParseNetworksRefusesBadDefinitions(t *testing.T) {
	const good = "[[network]]\nname = \"a\"\nprotocol_prefix = \"/gpumesh-a\"\ntopic_prefix = \"gpumesh-a\"\ndht_prefix = \"/gpumesh-a\"\n"
	for _, tc := range []struct{ name, toml, want string }{
		{"not toml", "[[network]\nname=", "bad network definition"},
		{"unknown key", good + "colour = \"red\"\n", "colour"},
		{"none", "", "0 definitions"},
		{"bad name", strings.Replace(good, `"a"`, `"A b"`, 1), "name must be"},
		{"bad protocol prefix", strings.Replace(good, `"/gpumesh-a"`, `"gpumesh a"`, 1), "protocol_prefix"},
		{"bad topic prefix", strings.Replace(good, `"gpumesh-a"`, `"/x/y"`, 1), "topic_prefix"},
		{"bad bootstrap", good + "bootstrap = [\"/ip4/10.0.0.1/tcp/1\"]\n", "missing /p2p/<peer id>"},
		{"not a multiaddr", good + "bootstrap = [\"boot.example.org:4101\"]\n", "bootstrap address"},
		{"same name", good + good, `share name "a"`},
		{"same topic prefix", good + strings.NewReplacer(`"a"`, `"b"`, `"/gpumesh-a"`, `"/gpumesh-b"`).Replace(good), `share topic_prefix "gpumesh-a"`},
		{"too large", strings.Repeat("#", MaxNetworksBytes+1), "at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defs, err := ParseNetworks([]byte(tc.toml))
			if !errors.Is(err, ErrBadNetwork) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %d definitions, err %v; want ErrBadNetwork containing %q", len(defs), err, tc.want)
			}
		})
	}
	defs, err := ParseNetworks([]byte(good + "bootstrap = [\"/dnsaddr/boot.gpumesh.test\"]\n"))
	if err != nil || len(defs) != 1 {
		t.Fatalf("a good definition: %d, %v", len(defs), err)
	}
}

// TestNewRefusesImpostorNetworks: a network passed in that shares a prefix
// with a built-in one, or takes a built-in name with other prefixes, is
// refused before anything starts.
func TestNewRefusesImpostorNetworks(t *testing.T) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, def := range []NetworkDef{
		{Name: "blue", ProtocolPrefix: "/gpumesh", TopicPrefix: "gpumesh-blue", DHTPrefix: "/gpumesh-blue"},
		{Name: "main", ProtocolPrefix: "/gpumesh-main", TopicPrefix: "gpumesh-main", DHTPrefix: "/gpumesh-main"},
		{Name: "Blue!", ProtocolPrefix: "/gpumesh-blue", TopicPrefix: "gpumesh-blue", DHTPrefix: "/gpumesh-blue"},
	} {
		if _, err := New(DefaultConfig(), key, "test", nil, WithNetwork(def)); !errors.Is(err, ErrBadNetwork) {
			t.Errorf("%+v: err = %v, want ErrBadNetwork", def, err)
		}
	}
}

// TestWireProtocol: stream protocols move under a network's prefix; main's
// and other software's IDs stay as they are.
func TestWireProtocol(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		in     protocol.ID
		want   protocol.ID
	}{
		{"/gpumesh", "/gpumesh/bid/1", "/gpumesh/bid/1"},
		{"/gpumesh-blue", "/gpumesh/bid/1", "/gpumesh-blue/bid/1"},
		{"/gpumesh-blue", "/meshsub/1.1.0", "/meshsub/1.1.0"},
		{"/gpumesh-blue", "/gpumeshx/bid/1", "/gpumeshx/bid/1"},
	} {
		if got := WireProtocol(tc.prefix, tc.in); got != tc.want {
			t.Errorf("WireProtocol(%s, %s) = %s, want %s", tc.prefix, tc.in, got, tc.want)
		}
	}
}

// FuzzParseNetworks: any bytes as a network definitions file. Parsing never
// panics; what it accepts is a set of valid definitions with no two sharing
// a name or a prefix, and what it refuses is ErrBadNetwork.
func FuzzParseNetworks(f *testing.F) {
	f.Add(builtinNetworks)
	f.Add([]byte("[[network]]\nname = \"a\"\nprotocol_prefix = \"/a\"\ntopic_prefix = \"a\"\ndht_prefix = \"/a\"\nbootstrap = [\"/dnsaddr/x.test\"]\n"))
	f.Add([]byte("[[network]]\nname = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		defs, err := ParseNetworks(data)
		if err != nil {
			if defs != nil || !errors.Is(err, ErrBadNetwork) {
				t.Fatalf("ParseNetworks: %d definitions, %v", len(defs), err)
			}
			return
		}
		for _, d := range defs {
			if err := d.Validate(); err != nil {
				t.Fatalf("accepted an invalid definition: %v", err)
			}
		}
		if err := collisions(defs); err != nil {
			t.Fatalf("accepted colliding definitions: %v", err)
		}
	})
}
