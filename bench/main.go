// Command bench measures gpumesh against the targets in BENCHMARKS.md and
// prints one Markdown table; the same figures go to bench/results.json.
// Run it with `make bench`. It never prints a figure it did not measure: a
// benchmark that cannot run here says why instead.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Result is one benchmark row, as written to results.json.
type Result struct {
	// ID is the benchmark's id in BENCHMARKS.md, such as "B1".
	ID string `json:"id"`
	// Name says what was measured.
	Name string `json:"name"`
	// Params are the run's parameters.
	Params map[string]any `json:"params"`
	// Figures are the measured values, in Unit unless their name says otherwise.
	Figures map[string]float64 `json:"figures"`
	// Unit is the unit of the figures.
	Unit string `json:"unit"`
	// Baseline holds the same figures for the baseline measured in the same run, if any.
	Baseline map[string]float64 `json:"baseline,omitempty"`
	// Target is the goal from BENCHMARKS.md.
	Target string `json:"target"`
	// Verdict says whether the target was met.
	Verdict string `json:"verdict"`
	// Skipped, if set, says why the benchmark did not run.
	Skipped string `json:"skipped,omitempty"`
}

func main() {
	sizes := flag.String("b1-sizes", "25,50,100", "B1: fleet sizes, comma-separated")
	msgs := flag.Int("b1-messages", 200, "B1: messages per topic and round")
	rounds := flag.Int("b1-rounds", 5, "B1: rounds on the same fleets; figures are medians over rounds")
	b7dur := flag.Duration("b7-duration", 60*time.Second, "B7: how long to watch the idle node")
	b7peers := flag.Int("b7-peers", 50, "B7: peers connected to the idle node")
	binary := flag.String("binary", "bin/gpumesh", "B7: the gpumesh binary to measure")
	out := flag.String("out", "bench/results.json", "where to write the JSON results")
	only := flag.String("only", "", "run only these benchmark ids, comma-separated (B1,B2,B3,B4,B5,B6,B7,B8,B9,B10,B11,B12)")
	b5nodes := flag.Int("b5-nodes", 200, "B5: nodes placed in countries")
	b2providers := flag.Int("b2-providers", 100, "B2: providers advertising in the DHT")
	b2searches := flag.Int("b2-searches", 40, "B2: searches per mode")
	b9sizes := flag.String("b9-sizes", "256,512,1024,2048", "B9: matrix sizes, comma-separated")
	b4providers := flag.Int("b4-providers", 100, "B4: providers in each market judged against the exact optimum on the true RTTs (Exhaustive: keep it small)")
	b4requests := flag.Int("b4-requests", 20, "B4: requests per k and RTT bound")
	b4seed := flag.Uint64("b4-seed", 0, "B4: seed of the markets, prices and requests (0: the default draw; other seeds check that figures are not one draw's)")
	flag.BoolVar(&b4MarketSizes, "b4-market", false, "B4: measure as many candidates as the market does (placement.RoundSize, 32 per probe) instead of B4's 32 (48 at k = 16)")
	b3providers := flag.Int("b3-providers", 100, "B3: providers on the simulated country network (200 stalls the synctest bubble, see docs/benchmarks.md)")
	b3jobs := flag.Int("b3-jobs", 5, "B3: jobs per k for each method (the measured round, and today's method as the baseline), taking turns")
	b8runs := flag.Int("b8-runs", 20, "B8: runs per executor")
	b10runs := flag.Int("b10-runs", 10, "B10: timed jobs per size")
	b10jobs := flag.Int("b10-jobs", 40, "B10: jobs before the provider's RSS is read again")
	b6receipts := flag.Int("b6-receipts", 20000, "B6: signed receipts appended to the ledger")
	b6writers := flag.Int("b6-writers", 64, "B6: concurrent appenders (group commit batches them)")
	b6tree := flag.Int("b6-tree", 1000000, "B6: leaves in the in-memory Merkle tree")
	b11mib := flag.Int("b11-mib", 64, "B11: MiB per bulk transfer")
	b11pings := flag.Int("b11-pings", 2000, "B11: timed round trips per round")
	b11rounds := flag.Int("b11-rounds", 5, "B11: rounds, each path in turn; figures are medians over rounds")
	b12rpc := flag.String("b12-rpc", b12RPC(), "B12: the EVM dev chain's JSON-RPC URL (anvil; default GPUMESH_EVM_RPC or 127.0.0.1:8545)")
	flag.Parse()

	want := func(id string) bool { return *only == "" || strings.Contains(","+*only+",", ","+id+",") }
	var results []Result
	if want("B1") {
		for _, s := range strings.Split(*sizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: bad -b1-sizes %q\n", *sizes)
				os.Exit(2)
			}
			fmt.Fprintf(os.Stderr, "B1: gossip propagation with %d nodes...\n", n)
			results = append(results, benchGossip(n, *msgs, *rounds))
		}
	}
	if want("B2") {
		fmt.Fprintf(os.Stderr, "B2: discovery among %d providers...\n", *b2providers)
		results = append(results, benchDiscovery(*b2providers, *b2searches))
	}
	if want("B4") {
		fmt.Fprintf(os.Stderr, "B4: placement among %d providers...\n", *b4providers)
		results = append(results, benchPlacement(*b4providers, *b4requests, *b4seed)...)
	}
	if want("B5") {
		fmt.Fprintf(os.Stderr, "B5: coordinates for %d nodes...\n", *b5nodes)
		results = append(results, benchCoordinates(*b5nodes, 60))
	}
	if want("B6") {
		fmt.Fprintf(os.Stderr, "B6: %d durable signed receipts, a %d-leaf Merkle tree...\n", *b6receipts, *b6tree)
		results = append(results, benchLedger(*b6receipts, *b6writers, *b6tree))
	}
	if want("B3") {
		fmt.Fprintf(os.Stderr, "B3: time to cluster with %d providers on the simulated country network...\n", *b3providers)
		results = append(results, benchCluster(*b3providers, *b3jobs))
	}
	if want("B8") {
		fmt.Fprintf(os.Stderr, "B8: executor start-up, %d runs each...\n", *b8runs)
		results = append(results, benchExecutors(*b8runs))
	}
	if want("B10") {
		fmt.Fprintf(os.Stderr, "B10: jobs end to end through the CLI...\n")
		results = append(results, benchEndToEnd(*binary, *b10runs, *b10jobs))
	}
	if want("B9") {
		var sizes []int
		for _, s := range strings.Split(*b9sizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: bad -b9-sizes %q\n", *b9sizes)
				os.Exit(2)
			}
			sizes = append(sizes, n)
		}
		fmt.Fprintf(os.Stderr, "B9: proof-of-compute at n = %v...\n", sizes)
		results = append(results, benchProof(sizes)...)
	}
	if want("B11") {
		fmt.Fprintf(os.Stderr, "B11: job network, %d rounds of %d MiB and %d pings per path...\n", *b11rounds, *b11mib, *b11pings)
		results = append(results, benchOverlay(*b11mib, *b11pings, *b11rounds))
	}
	if want("B12") {
		fmt.Fprintf(os.Stderr, "B12: settlement gas on the chain at %s...\n", *b12rpc)
		results = append(results, benchGas(*b12rpc))
	}
	if want("B7") {
		fmt.Fprintf(os.Stderr, "B7: idle node with %d peers for %s...\n", *b7peers, *b7dur)
		results = append(results, benchFootprint(*binary, *b7peers, *b7dur))
	}
	printTable(results)
	if *only != "" {
		results = mergeResults(*out, results, want)
	}
	data, _ := json.MarshalIndent(results, "", "  ")
	if err := os.WriteFile(*out, append(data, '\n'), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "bench: write %s: %v\n", *out, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s\n", *out)
}

// mergeResults keeps the rows of the results file at path that this run did
// not measure, so `-only B3` updates B3's rows and leaves the others.
func mergeResults(path string, fresh []Result, measured func(id string) bool) []Result {
	var old []Result
	if data, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(data, &old)
	}
	var out []Result
	for _, r := range old {
		if !measured(r.ID) {
			out = append(out, r)
		}
	}
	out = append(out, fresh...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func printTable(rs []Result) {
	fmt.Println("| id | benchmark | parameters | measured | baseline (same run) | target | verdict |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range rs {
		if r.Skipped != "" {
			fmt.Printf("| %s | %s | %s | not run: %s | | %s | - |\n", r.ID, r.Name, fmtMap(r.Params), r.Skipped, r.Target)
			continue
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s |\n", r.ID, r.Name, fmtMap(r.Params), fmtFigures(r.Figures, r.Unit), fmtFigures(r.Baseline, r.Unit), r.Target, r.Verdict)
	}
}

func fmtMap(m map[string]any) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func fmtFigures(m map[string]float64, unit string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %.4g", k, m[k]))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, ", ") + " (" + unit + ")"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// benchTB lets the test harness run outside `go test`.
type benchTB struct {
	cleanups []func()
	dirs     []string
}

func (b *benchTB) Helper() {}
func (b *benchTB) TempDir() string {
	d, err := os.MkdirTemp("", "gpumesh-bench-")
	if err != nil {
		b.Fatalf("temp dir: %v", err)
	}
	b.dirs = append(b.dirs, d)
	return d
}
func (b *benchTB) Cleanup(f func())  { b.cleanups = append(b.cleanups, f) }
func (b *benchTB) Skip(args ...any)  { b.Fatalf("cannot run: %s", fmt.Sprint(args...)) }
func (b *benchTB) Fatal(args ...any) { b.Fatalf("%s", fmt.Sprint(args...)) }
func (b *benchTB) Fatalf(format string, args ...any) {
	b.close()
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}
func (b *benchTB) close() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
	b.cleanups = nil
	for _, d := range b.dirs {
		_ = os.RemoveAll(d)
	}
	b.dirs = nil
}
