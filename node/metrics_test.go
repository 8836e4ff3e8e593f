//go:build linux && cgo

package node_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"

	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// scrape reads a node's /metrics and returns each sample's value by its
// line's name and labels, as Prometheus's text format writes them.
func scrape(t *testing.T, apiURL string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(apiURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	body, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, l := range strings.Split(string(body), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q", l)
		}
		out[l[:i]] = v
	}
	return out
}

// sum adds the samples whose name and labels contain every part.
func sum(m map[string]float64, parts ...string) (float64, bool) {
	total, found := 0.0, false
next:
	for k, v := range m {
		for _, p := range parts {
			if !strings.Contains(k, p) {
				continue next
			}
		}
		total, found = total+v, true
	}
	return total, found
}

// TestMetricsAfterAJob: a requester with two mocked A100s buys a wasm job
// from a CPU provider; afterwards both nodes' /metrics show the job, bids,
// executor run, receipts, gossip, DHT, GPU telemetry and libp2p's own series
// with real values.
func TestMetricsAfterAJob(t *testing.T) {
	module := executortest.WasmModule(t, "copy")
	f := nodetest.Start(t, 2, nodetest.Options{
		Configure: func(i int, c *config.Config) { c.Offer.Enabled = i == 1 },
		DetectNode: func(i int) nodetest.DetectFunc {
			if i == 0 {
				return nodetest.MockGPUs(gpus.A100_PCIE_40GB, 2)
			}
			return nil
		},
	})
	f.WaitHeard(t, 30*time.Second)
	req, prov := f.Nodes[0], f.Nodes[1]
	nodetest.WaitFor(t, 30*time.Second, prov.Offering, func() string { return "the provider did not publish its record" })
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("metrics\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v, err := req.Market().Submit(ctx, market.Spec{Workers: 1, Module: module, Inputs: []string{in}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = req.Market().Wait(ctx, v.ID); err != nil || v.State != market.StateSucceeded {
		t.Fatalf("job: %s %s %v", v.State, v.Error, err)
	}
	nodetest.WaitFor(t, 10*time.Second, func() bool { return req.Ledger().Size() > 0 && prov.Ledger().Size() > 0 },
		func() string { return "no receipt in both ledgers" })

	rm, pm := scrape(t, req.APIURL()), scrape(t, prov.APIURL())
	want := []struct {
		who   string
		m     map[string]float64
		parts []string
		min   float64
	}{
		{"requester", rm, []string{`gpumesh_info{`, `profile="test"`}, 1},
		{"requester", rm, []string{`gpumesh_peers`}, 1},
		{"requester", rm, []string{`gpumesh_jobs{role="requester",state="succeeded"}`}, 1},
		{"requester", rm, []string{`gpumesh_market_bids_received`}, 1},
		{"requester", rm, []string{`gpumesh_gossip_messages_published_total`}, 1},
		{"requester", rm, []string{`gpumesh_gossip_messages_received_total{result="accepted"}`}, 1},
		{"requester", rm, []string{`gpumesh_dht_requests_total{op="find_providers"}`}, 1},
		{"requester", rm, []string{`gpumesh_ledger_entries`}, 1},
		{"requester", rm, []string{`gpumesh_receipts{pool=`}, 1},
		{"requester", rm, []string{`gpumesh_ledger_amount_usd{kind="spent",pool=`}, 1e-9},
		{"requester", rm, []string{`gpumesh_anchors{state="pending"}`}, 0},
		{"requester", rm, []string{`gpumesh_anchoring_enabled`}, 0},
		{"requester", rm, []string{`gpumesh_gpu_temperature_celsius{class="A100-40GB",device="GPU-`}, 90}, // two devices at 45
		{"requester", rm, []string{`gpumesh_gpu_power_watts{`}, 180},
		{"requester", rm, []string{`gpumesh_gpu_memory_total_bytes{`}, 80e9},
		{"requester", rm, []string{`go_goroutines`}, 1},
		{"provider", pm, []string{`gpumesh_market_bids_sent_total`}, 1},
		{"provider", pm, []string{`gpumesh_market_awards_accepted_total`}, 1},
		{"provider", pm, []string{`gpumesh_jobs{role="provider",state="ended"}`}, 1},
		{"provider", pm, []string{`gpumesh_executor_runs_total{executor="wasm",status="succeeded"}`}, 1},
		{"provider", pm, []string{`gpumesh_executor_runs_started_total{executor="wasm"}`}, 1},
		{"provider", pm, []string{`gpumesh_dht_requests_total{op="put_value"}`}, 1},
		{"provider", pm, []string{`gpumesh_dht_requests_total{op="provide"}`}, 1},
		{"provider", pm, []string{`gpumesh_ledger_amount_usd{kind="earned",pool=`}, 1e-9},
		{"provider", pm, []string{`gpumesh_offer_price_usd_per_hour{class="CPU-`}, 0.04},
		{"provider", pm, []string{`gpumesh_offer_published`}, 1},
	}
	for _, w := range want {
		got, ok := sum(w.m, w.parts...)
		if !ok || got < w.min {
			t.Errorf("%s /metrics: %v = %v (found %v), want at least %v", w.who, w.parts, got, ok, w.min)
		}
	}
	// libp2p's own series, in each node's registry (their values are
	// process-wide: the fleet shares libp2p's collectors).
	for who, m := range map[string]map[string]float64{"requester": rm, "provider": pm} {
		for _, prefix := range []string{"libp2p_swarm_", "libp2p_identify_", "libp2p_rcmgr_", "libp2p_eventbus_"} {
			n := 0
			for k := range m {
				if strings.HasPrefix(k, prefix) {
					n++
				}
			}
			if n == 0 {
				t.Errorf("%s /metrics: no %s series", who, prefix)
			}
		}
	}
	if v, _ := sum(pm, `gpumesh_executor_runs_running{executor="wasm"}`); v != 0 {
		t.Errorf("provider: %v runs still counted running after the job", v)
	}
}
