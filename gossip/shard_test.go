package gossip

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"testing"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
)

func TestShardRegion(t *testing.T) {
	cases := map[string]string{"EU": "eu", "eu": "eu", "DE": "eu", "de": "eu", "US": "na", "BR": "sa", "JP": "as", "ZA": "af", "AU": "oc", "OC": "oc"}
	for in, want := range cases {
		if got, ok := ShardRegion(in); !ok || got != want {
			t.Errorf("ShardRegion(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "eu-west", "QQ", "none", "europe"} {
		if got, ok := ShardRegion(in); ok {
			t.Errorf("ShardRegion(%q) = %q, want not known", in, got)
		}
	}
}

func TestRequestJobTopics(t *testing.T) {
	gpu := Resources{GPUs: 1, Pool: "gpu"}
	cases := []struct {
		name    string
		per     Resources
		regions []string
		want    []string
	}{
		{"pool and region", gpu, []string{"DE"}, []string{"gpumesh/jobs/3/gpu/eu"}},
		{"two regions, one shard each, sorted", gpu, []string{"US", "EU", "FR"}, []string{"gpumesh/jobs/3/gpu/eu", "gpumesh/jobs/3/gpu/na"}},
		{"cpu-only", Resources{CPUCores: 2}, []string{"JP"}, []string{"gpumesh/jobs/3/cpu/as"}},
		{"no pool: every pool", Resources{GPUs: 1}, []string{"AU"}, []string{"gpumesh/jobs/3/gpu/oc", "gpumesh/jobs/3/apple/oc", "gpumesh/jobs/3/cpu/oc"}},
	}
	for _, c := range cases {
		got := RequestJobTopics(&JobRequest{PerWorker: c.per, Regions: c.regions})
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	all := RequestJobTopics(&JobRequest{PerWorker: gpu})
	if len(all) != len(ShardRegions) || !slices.Contains(all, "gpumesh/jobs/3/gpu/none") {
		t.Errorf("no region: %v, want every gpu shard", all)
	}
	custom := RequestJobTopics(&JobRequest{PerWorker: gpu, Regions: []string{"DE", "eu-west"}})
	if len(custom) != len(ShardRegions) {
		t.Errorf("a custom region must reach every shard: %v", custom)
	}
	if n := len(RequestJobTopics(&JobRequest{PerWorker: Resources{GPUs: 1}})); n != 21 {
		t.Errorf("widest request: %d topics, want 21", n)
	}
}

func TestOfferJobTopics(t *testing.T) {
	cases := []struct {
		pools           []string
		region, country string
		want            []string
	}{
		{[]string{"gpu"}, "EU", "DE", []string{"gpumesh/jobs/3/gpu/eu"}},
		{[]string{"gpu"}, "", "US", []string{"gpumesh/jobs/3/gpu/na"}},
		{[]string{"cpu"}, "eu-west", "", []string{"gpumesh/jobs/3/cpu/none"}},
		{[]string{"gpu", "cpu", "tpu"}, "", "", []string{"gpumesh/jobs/3/gpu/none", "gpumesh/jobs/3/cpu/none"}},
		{[]string{"apple"}, "EU", "US", []string{"gpumesh/jobs/3/apple/eu", "gpumesh/jobs/3/apple/na"}},
	}
	for _, c := range cases {
		if got := OfferJobTopics(c.pools, c.region, c.country); !slices.Equal(got, c.want) {
			t.Errorf("OfferJobTopics(%v, %q, %q) = %v, want %v", c.pools, c.region, c.country, got, c.want)
		}
	}
}

// TestShardsMeet: every provider a request could be served by (same pool,
// region or country asked) shares a topic with it.
func TestShardsMeet(t *testing.T) {
	providers := []struct{ pool, region, country string }{
		{"gpu", "EU", "DE"}, {"gpu", "", "FR"}, {"gpu", "eu-west", ""}, {"cpu", "NA", ""}, {"apple", "", "JP"}, {"gpu", "EU", "US"},
	}
	requests := []JobRequest{
		{PerWorker: Resources{GPUs: 1}, Regions: []string{"DE"}},
		{PerWorker: Resources{GPUs: 1, Pool: "gpu"}, Regions: []string{"eu-west"}},
		{PerWorker: Resources{GPUs: 1}, Regions: []string{"US"}},
		{PerWorker: Resources{CPUCores: 1}, Regions: []string{"NA"}},
		{PerWorker: Resources{GPUs: 1, Pool: "apple"}},
		{PerWorker: Resources{GPUs: 1}, Regions: []string{"JP", "EU"}},
	}
	for _, p := range providers {
		offer := OfferJobTopics([]string{p.pool}, p.region, p.country)
		for _, req := range requests {
			pools := requestPools(&req)
			regionOK := len(req.Regions) == 0 || slices.ContainsFunc(req.Regions, func(g string) bool {
				return equalFold(g, p.region) || equalFold(g, p.country)
			})
			if !slices.Contains(pools, p.pool) || !regionOK {
				continue
			}
			if !slices.ContainsFunc(RequestJobTopics(&req), func(t string) bool { return slices.Contains(offer, t) }) {
				t.Errorf("provider %+v (topics %v) never hears request %+v", p, offer, req)
			}
		}
	}
}

func equalFold(a, b string) bool { return a != "" && strings.EqualFold(a, b) }

func TestJobShardTopicsSmall(t *testing.T) {
	all := JobShardTopics()
	if len(all) != 21 {
		t.Fatalf("%d shards, want 21", len(all))
	}
	for _, topic := range all {
		if !IsJobShard(topic) {
			t.Errorf("%s not a shard", topic)
		}
	}
	if IsJobShard(TopicJobs) {
		t.Error("the version 2 topic is not a shard")
	}
}

// TestContentIDOnShards: a shard's message ID hashes its wire topic first,
// so the same envelope on two shards is two messages; other topics keep
// the data's hash (interop/js/wire.test.mjs checks the same vector).
func TestContentIDOnShards(t *testing.T) {
	data := []byte("x")
	id := func(topic string) string {
		return fmt.Sprintf("%x", contentID(&pb.Message{Topic: &topic, Data: data}))
	}
	if got := id("gpumesh/jobs/3/cpu/eu"); got != "cbeb6de85d70fd98a850ec83843bba3f99640d36" {
		t.Errorf("shard ID %s", got)
	}
	if id("gpumesh/jobs/3/cpu/eu") == id("gpumesh-test/jobs/3/cpu/eu") {
		t.Error("the wire name, prefix included, is hashed")
	}
	sum := sha256.Sum256(data)
	if got := id(TopicJobs); got != fmt.Sprintf("%x", sum[:20]) {
		t.Errorf("version 2 ID %s, want the data's hash", got)
	}
}

// FuzzRequestJobTopics: whatever a request's pool, device count and
// regions (a peer's request is validated first, but the derivation must
// not depend on it), its topics are 1 to 21 distinct shards.
func FuzzRequestJobTopics(f *testing.F) {
	f.Add(1, "gpu", "DE", "")
	f.Add(0, "", "eu-west", "US")
	f.Add(2, "apple", "", "")
	f.Add(1, "tpu", "\x00", "de")
	f.Fuzz(func(t *testing.T, gpus int, pool, r1, r2 string) {
		var regions []string
		for _, r := range []string{r1, r2} {
			if r != "" {
				regions = append(regions, r)
			}
		}
		got := RequestJobTopics(&JobRequest{PerWorker: Resources{GPUs: gpus, Pool: pool}, Regions: regions})
		if len(got) == 0 || len(got) > 21 {
			t.Fatalf("%d topics", len(got))
		}
		seen := map[string]bool{}
		for _, topic := range got {
			if seen[topic] {
				t.Fatalf("%s twice", topic)
			}
			seen[topic] = true
			if !strings.HasPrefix(topic, JobShardPrefix) {
				t.Fatalf("%s is not a shard", topic)
			}
		}
	})
}
