//go:build linux && cgo

package node_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"

	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/p2p/capacity"
)

// provider is what the test gives node i to offer: the oracle the search
// results are checked against.
type provider struct {
	model     *gpus.Config // nil: a CPU-only node
	count     int
	country   string
	region    string
	price     float64
	executors []string
	green     bool
}

var fleetModels = []*gpus.Config{&gpus.A100_SXM4_80GB, &gpus.H100_SXM5_80GB, &gpus.A30_PCIE_24GB, &gpus.H200_SXM5_141GB, nil}

func providerSpec(i int) provider {
	places := [][2]string{{"DE", "EU"}, {"FR", "EU"}, {"US", "NA"}, {"JP", "AS"}, {"BR", "SA"}, {"NL", "EU"}, {"CA", "NA"}}
	p := provider{
		model:     fleetModels[i%len(fleetModels)],
		count:     1 + i%4,
		country:   places[i%len(places)][0],
		region:    places[i%len(places)][1],
		price:     0.5 + float64(i%7)*0.25,
		executors: []string{"wasm"},
		green:     i%4 == 0,
	}
	if i%3 == 0 {
		// A node advertises only executors that run: process runs with an
		// allowlist, on any machine (docker would need an engine).
		p.executors = append(p.executors, "process")
	}
	return p
}

// TestOffersInFiftyNodeNetwork: 47 providers of five device classes and
// three non-providers; a requester finds exactly the providers each filter
// matches; an update propagates through the DHT; a provider that leaves
// disappears once its record expires; forged, replayed, expired, oversized
// and impossible records are refused by every DHT server and never listed.
func TestOffersInFiftyNodeNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("50-node network: skipped with -short")
	}
	const n = 50
	const leaver = 48 // closes mid-test; its records live 4 s
	nonProvider := func(i int) bool { return i == 0 || i == n-1 || i == 25 }
	f := nodetest.Start(t, n, nodetest.Options{
		Configure: func(i int, c *config.Config) {
			c.Gossip.HeartbeatInterval = p2p.Duration(2 * time.Second)
			c.P2P.ProbeInterval = p2p.Duration(time.Second) // coordinates within seconds
			if nonProvider(i) {
				c.Offer.Enabled = false
				return
			}
			s := providerSpec(i)
			c.Offer.Country, c.Offer.Region = s.country, s.region
			c.Offer.Prices = []string{fmt.Sprintf("gpu=%.2f", s.price), fmt.Sprintf("cpu=%.2f", s.price)}
			c.Offer.Executors = s.executors
			if slices.Contains(s.executors, "process") {
				c.Executor.Commands = []string{"train=/bin/true"}
			}
			if s.green {
				c.Offer.Attributes = []string{"green=true"}
			}
			if i == leaver {
				c.Offer.TTL, c.Offer.Republish = p2p.Duration(4*time.Second), p2p.Duration(time.Second)
			}
		},
		DetectNode: func(i int) nodetest.DetectFunc {
			if s := providerSpec(i); !nonProvider(i) && s.model != nil {
				return nodetest.MockGPUs(*s.model, s.count)
			}
			return nil
		},
	})
	f.WaitRoutingTables(t, 8, time.Minute)
	nodetest.WaitFor(t, 2*time.Minute, func() bool {
		for i, nd := range f.Nodes {
			if !nonProvider(i) && !nd.Offering() {
				return false
			}
		}
		return true
	}, func() string { return "not every provider published its capacity record and keys" })

	requester := f.Nodes[0]
	class := func(i int) string { return f.Nodes[i].Hardware().Devices[0].Class }
	search := func(filter string) map[peer.ID]float64 {
		t.Helper()
		res, err := requester.Offers(context.Background(), filter, "", 0)
		if err != nil {
			t.Fatalf("offers %q: %v", filter, err)
		}
		got := map[peer.ID]float64{}
		for _, o := range res.Offers {
			got[o.Peer] = o.Price
		}
		t.Logf("offers %q: %d offers from keys %v: %+v", filter, len(res.Offers), res.Keys, res.Stats)
		return got
	}
	expect := func(pred func(i int, s provider) bool) []peer.ID {
		var ids []peer.ID
		for i := range f.Nodes {
			if !nonProvider(i) && pred(i, providerSpec(i)) {
				ids = append(ids, f.Nodes[i].PeerID())
			}
		}
		return ids
	}
	check := func(filter string, pred func(i int, s provider) bool) {
		t.Helper()
		want := expect(pred)
		got := search(filter)
		var gotIDs []peer.ID
		for id := range got {
			gotIDs = append(gotIDs, id)
		}
		sort.Slice(want, func(a, b int) bool { return want[a] < want[b] })
		sort.Slice(gotIDs, func(a, b int) bool { return gotIDs[a] < gotIDs[b] })
		if len(want) == 0 {
			t.Fatalf("filter %q: the fleet has no provider it should match; fix the test", filter)
		}
		if !slices.Equal(want, gotIDs) {
			t.Errorf("filter %q: found %d providers, want %d\n got  %v\n want %v", filter, len(gotIDs), len(want), gotIDs, want)
		}
	}

	h100 := class(1 + 5*1) // node 6: fleetModels[1]
	check("gpu_class="+h100, func(i int, s provider) bool { return s.model == &gpus.H100_SXM5_80GB })
	check("num_gpus>=3 price<=1.5 region in [EU,US]", func(i int, s provider) bool {
		return s.model != nil && s.count >= 3 && s.price <= 1.5 && (s.region == "EU" || s.country == "US")
	})
	check("vram_gb>=80 executor=process", func(i int, s provider) bool {
		return s.model != nil && s.model != &gpus.A30_PCIE_24GB && slices.Contains(s.executors, "process")
	})
	check("pool=cpu attr.green=true", func(i int, s provider) bool { return s.model == nil && s.green })
	check("", func(i int, s provider) bool { return true })

	// Coordinates: pings to peers whose heartbeats carry coordinates moved
	// the requester's; providers publish theirs; offers carry an RTT estimate.
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		res, err := requester.Offers(context.Background(), "rtt_ms>=0", "", 0)
		return err == nil && len(res.Offers) >= 10 && requester.Network().Latency().Samples() > 0
	}, func() string {
		return fmt.Sprintf("requester has %d RTT samples and few offers with an RTT estimate", requester.Network().Latency().Samples())
	})

	// A rogue peer with its own DHT client that stores anything it is given.
	rogueKey, _, _ := crypto.GenerateEd25519Key(nil)
	rogueHost, err := libp2p.New(libp2p.Identity(rogueKey), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer rogueHost.Close()
	rogue, err := dht.New(rogueHost, dht.ProtocolPrefix(p2p.ProtocolPrefix), dht.Mode(dht.ModeClient),
		dht.Validator(acceptAll{}), dht.BootstrapPeers(peer.AddrInfo{ID: requester.PeerID(), Addrs: requester.Network().ListenAddrs()}))
	if err != nil {
		t.Fatal(err)
	}
	defer rogue.Close()
	nodetest.WaitFor(t, 30*time.Second, func() bool { return rogue.RoutingTable().Size() >= 8 },
		func() string { return "the rogue DHT client found no servers" })

	// Replay material: the raw signed record of node 7, read as anyone can.
	victim := f.Nodes[7]
	oldSigned := rawRecord(t, rogueHost, victim)

	// An update propagates through the DHT (not only by asking the provider).
	updated := victim.Config().Offer
	updated.Prices = []string{"gpu=9.99", "cpu=9.99"}
	if err := victim.SetOffer(updated); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		r := dhtRecord(requester, victim.PeerID())
		return r != nil && r.Prices[class(7)] == 9.99
	}, func() string { return "the price update never reached the DHT" })
	if got := search("gpu_class=" + class(7)); got[victim.PeerID()] != 9.99 {
		t.Errorf("offers show node 7 at %v, want the updated 9.99", got[victim.PeerID()])
	}

	// Replayed: the old record, put again by the rogue, is refused as older.
	// Forged: a record for node 7 signed by the rogue is refused.
	forged := capacity.Record{Seq: ^uint64(0), Issued: time.Now(), Expires: time.Now().Add(time.Hour), Executors: []string{"wasm"},
		Devices: []capacity.Device{{Class: class(7), Pool: "gpu", MemoryMB: 81920, Free: true}}, Prices: map[string]float64{class(7): 0.01}}
	forgedBytes := seal(t, &forged, rogueKey)
	for _, bad := range [][]byte{oldSigned, forgedBytes} {
		_ = rogue.PutValue(context.Background(), capacity.Key(victim.PeerID()), bad)
	}
	// Records under the rogue's own key that no validator may accept.
	now := time.Now()
	expired := forged
	expired.Seq, expired.Issued, expired.Expires = 1, now.Add(-2*time.Hour), now.Add(-time.Hour)
	tooMany := forged
	tooMany.Seq = 2
	tooMany.Devices = slices.Repeat(tooMany.Devices, capacity.MaxDevices+1)
	impossible := []byte(`{"seq":3,"issued":"` + now.Format(time.RFC3339) + `","expires":"` + now.Add(time.Hour).Format(time.RFC3339) +
		`","devices":[{"class":"A100-80GB","pool":"gpu","memory_mb":-1,"free":true}],"prices":{"A100-80GB":0.01},"executors":["wasm"]}`)
	huge := forged
	huge.Seq = 4
	huge.Attributes = map[string]string{}
	for k := range 400 {
		huge.Attributes[fmt.Sprintf("a%d", k)] = strings.Repeat("x", 60)
	}
	for name, bad := range map[string][]byte{
		"expired":   seal(t, &expired, rogueKey),
		"10k gpus":  seal(t, &tooMany, rogueKey),
		"negative":  seal(t, (*rawJSON)(&impossible), rogueKey),
		"oversized": seal(t, &huge, rogueKey),
	} {
		_ = rogue.PutValue(context.Background(), capacity.Key(rogueHost.ID()), bad)
		if r := dhtRecord(requester, rogueHost.ID()); r != nil {
			t.Errorf("%s record of the rogue was stored and returned: %+v", name, r)
		}
	}
	// The rogue announces itself under a class key too: the search must find
	// it as a candidate and still not list it.
	_ = rogue.Provide(context.Background(), capacity.CapKey{Dim: capacity.DimClass, Value: class(7)}.Shard(capacity.ShardOf(rogueHost.ID(), capacity.DimClass)), true)
	got := search("gpu_class=" + class(7))
	if _, ok := got[rogueHost.ID()]; ok {
		t.Error("the rogue's invalid record is listed")
	}
	if got[victim.PeerID()] != 9.99 {
		t.Errorf("after forged and replayed puts, offers show node 7 at %v, want its own 9.99", got[victim.PeerID()])
	}
	if r := dhtRecord(requester, victim.PeerID()); r == nil || r.Prices[class(7)] != 9.99 {
		t.Errorf("after forged and replayed puts, the DHT holds %+v for node 7, want its own record at 9.99", r)
	}

	// A provider that leaves disappears once its record expires.
	gone := f.Nodes[leaver].PeerID()
	if _, ok := search("")[gone]; !ok {
		t.Fatal("node 48 is not listed before it leaves")
	}
	if err := f.Nodes[leaver].Close(); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 30*time.Second, func() bool {
		_, listed := search("")[gone]
		return !listed
	}, func() string { return "node 48 is still listed after its record expired" })
}

// dhtRecord is the record the DHT gives nd for p, asking many servers and
// keeping the newest valid one; nil if none.
func dhtRecord(nd *node.Node, p peer.ID) *capacity.Record {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	data, err := nd.Network().DHT().GetValue(ctx, capacity.Key(p), dht.Quorum(10))
	if err != nil {
		return nil
	}
	r, _, err := capacity.Verify(capacity.Key(p), data, time.Now())
	if err != nil {
		return nil
	}
	return r
}

// rawRecord reads nd's signed capacity record over the capacity protocol,
// bytes as they travel.
func rawRecord(t *testing.T, h host.Host, nd *node.Node) []byte {
	t.Helper()
	if err := h.Connect(context.Background(), peer.AddrInfo{ID: nd.PeerID(), Addrs: nd.Network().ListenAddrs()}); err != nil {
		t.Fatal(err)
	}
	s, err := h.NewStream(context.Background(), nd.PeerID(), capacity.ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data, err := io.ReadAll(s)
	if err != nil || len(data) == 0 {
		t.Fatalf("read the signed record: %d bytes, %v", len(data), err)
	}
	return data
}

type acceptAll struct{}

func (acceptAll) Validate(string, []byte) error        { return nil }
func (acceptAll) Select(string, [][]byte) (int, error) { return 0, nil }

// rawJSON is a payload sealed as a capacity record without going through
// capacity.Record, to carry values its Go types cannot hold.
type rawJSON []byte

func (rawJSON) Domain() string                    { return capacity.Domain }
func (rawJSON) Codec() []byte                     { return []byte("/gpumesh/capacity-record/1") }
func (r *rawJSON) MarshalRecord() ([]byte, error) { return *r, nil }
func (r *rawJSON) UnmarshalRecord(b []byte) error { *r = b; return nil }

func seal(t *testing.T, r record.Record, key crypto.PrivKey) []byte {
	t.Helper()
	env, err := record.Seal(r, key)
	if err != nil {
		t.Fatal(err)
	}
	data, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}
