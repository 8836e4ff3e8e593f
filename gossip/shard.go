package gossip

import (
	"slices"
	"strings"
)

// Job-request shards (version 3 of the jobs topic): a request travels only
// on the topics of the providers that can serve it, one topic per device
// pool and coarse region:
//
//	gpumesh/jobs/3/<pool>/<region>
//
// pool is gpu, apple or cpu; region is eu, na, sa, as, af, oc, or none for
// a provider that declares neither a known region nor a country. The names
// are a pure function of the request's and the offer's fields
// (RequestJobTopics, OfferJobTopics), so any implementation derives them;
// docs/protocol/gossip-3.md is their specification.

// JobShardPrefix is the start of every version 3 jobs topic.
const JobShardPrefix = "gpumesh/jobs/3/"

// ShardPools are the pools a jobs topic is sharded by.
var ShardPools = []string{"gpu", "apple", "cpu"}

// ShardRegions are the regions a jobs topic is sharded by: the six market
// regions of offer.region, then none for a provider with no known one.
var ShardRegions = []string{"eu", "na", "sa", "as", "af", "oc", RegionNone}

// RegionNone is the shard region of a provider whose region and country
// name no known region.
const RegionNone = "none"

// JobShardTopic is the jobs topic of pool and region shard.
func JobShardTopic(pool, region string) string {
	return JobShardPrefix + pool + "/" + region
}

// JobShardTopics lists every jobs topic of version 3: len(ShardPools) x
// len(ShardRegions) of them.
func JobShardTopics() []string {
	out := make([]string, 0, len(ShardPools)*len(ShardRegions))
	for _, p := range ShardPools {
		for _, g := range ShardRegions {
			out = append(out, JobShardTopic(p, g))
		}
	}
	return out
}

// IsJobShard reports whether topic is a version 3 jobs topic.
func IsJobShard(topic string) bool {
	return slices.Contains(JobShardTopics(), topic)
}

// ShardRegion is the shard region that a region or country name falls in
// (case-insensitive: "EU", "de" and "DE" are all eu), and false for a name
// that is neither one of the six regions nor a known ISO 3166 country.
func ShardRegion(name string) (string, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	if slices.Contains(ShardRegions[:6], n) {
		return n, true
	}
	if len(n) != 2 {
		return "", false
	}
	g, ok := countryRegion[strings.ToUpper(n)]
	return g, ok
}

// requestPools are the pools whose providers may serve req: cpu for a
// CPU-only worker, the asked pool, or every pool when a job with devices
// names none (a CPU-only node's CPU counts as one device).
func requestPools(req *JobRequest) []string {
	w := req.PerWorker
	switch {
	case w.GPUs == 0:
		return []string{"cpu"}
	case w.Pool != "":
		return []string{w.Pool}
	default:
		return ShardPools
	}
}

// requestRegions are the shard regions whose providers may serve req: the
// regions its Regions name, or every region (none included) when it names
// none or names one that is not a known region or country (a custom region
// such as eu-west could be any provider's).
func requestRegions(req *JobRequest) []string {
	if len(req.Regions) == 0 {
		return ShardRegions
	}
	var out []string
	for _, name := range req.Regions {
		g, ok := ShardRegion(name)
		if !ok {
			return ShardRegions
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	slices.Sort(out)
	return out
}

// RequestJobTopics are the version 3 jobs topics req is published on:
// every (pool, region) shard of a provider that could serve it. A request
// with a pool and known regions goes to one topic per region; one with
// neither to every shard (21 topics).
func RequestJobTopics(req *JobRequest) []string {
	var out []string
	for _, p := range requestPools(req) {
		for _, g := range requestRegions(req) {
			out = append(out, JobShardTopic(p, g))
		}
	}
	return out
}

// OfferJobTopics are the version 3 jobs topics a provider subscribes to:
// one per pool among pools (its devices' pools) and per region its
// configured region and country fall in (both, when they disagree), or the
// none region when neither is known. Unknown pools are skipped.
func OfferJobTopics(pools []string, region, country string) []string {
	var regions []string
	for _, name := range []string{region, country} {
		if g, ok := ShardRegion(name); ok && !slices.Contains(regions, g) {
			regions = append(regions, g)
		}
	}
	if len(regions) == 0 {
		regions = []string{RegionNone}
	}
	var out []string
	for _, p := range ShardPools {
		if !slices.Contains(pools, p) {
			continue
		}
		for _, g := range regions {
			out = append(out, JobShardTopic(p, g))
		}
	}
	return out
}

// countryRegion maps ISO 3166 alpha-2 codes to shard regions.
var countryRegion = buildCountryRegions(map[string]string{
	"eu": "AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK",
	"na": "AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY LC MF MQ MS MX NI PA PM PR SV SX TC TT US VC VG VI",
	"sa": "AR BO BR CL CO EC FK GF GS GY PE PY SR UY VE",
	"as": "AE AF AM AZ BD BH BN BT CN GE HK ID IL IN IO IQ IR JO JP KG KH KP KR KW KZ LA LB LK MM MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TL TM TR TW UZ VN YE",
	"af": "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW",
	"oc": "AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV UM VU WF WS",
})

func buildCountryRegions(lists map[string]string) map[string]string {
	m := map[string]string{}
	for g, codes := range lists {
		for _, c := range strings.Fields(codes) {
			m[c] = g
		}
	}
	return m
}
