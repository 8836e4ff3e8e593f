package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

var figures = ledger.GPUUsage{Devices: 2, Samples: 31, BusyMillis: 54_000, PeakMemoryBytes: 8 << 30, MeanUtilPercent: 90}

func TestPrintReceiptShowsGPUFigures(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	r := ledger.Receipt{Job: "job", Devices: 2, Start: now, End: now.Add(30 * time.Second), GPUMillis: 60_000, GPU: &figures}
	var b bytes.Buffer
	printReceipt(&b, api.ReceiptProof{Receipt: r})
	want := "54s busy, 8.0 GiB peak memory, 90.0 % mean utilisation on 2 devices (31 samples)"
	if !strings.Contains(b.String(), "GPUs did") || !strings.Contains(b.String(), want) {
		t.Errorf("receipt output lacks the GPU figures %q:\n%s", want, b.String())
	}
	if got := gpuTimeCell(r); got != "1m0s (busy 54s)" {
		t.Errorf("table cell %q, want 1m0s (busy 54s)", got)
	}
	r.GPU = nil
	b.Reset()
	printReceipt(&b, api.ReceiptProof{Receipt: r})
	if strings.Contains(b.String(), "GPUs did") {
		t.Errorf("a receipt without GPU figures prints some:\n%s", b.String())
	}
	if got := gpuTimeCell(r); got != "1m0s" {
		t.Errorf("table cell %q, want 1m0s", got)
	}
}

func TestPrintUsageShowsGPUFiguresPerRank(t *testing.T) {
	v := market.JobView{Charged: &market.Cost{}, Usage: []market.Usage{
		{Peer: "12D3KooWAbcdefghijkl", Ranks: []int{0, 1}, GPU: []market.RankGPU{{Rank: 1, GPUUsage: figures}}},
	}}
	var b bytes.Buffer
	printUsage(&b, v)
	out := b.String()
	for _, want := range []string{"PEAK MEMORY", "54s", "8.0 GiB", "90.0 %", "measured by its provider through NVML"} {
		if !strings.Contains(out, want) {
			t.Errorf("job output lacks %q:\n%s", want, out)
		}
	}
	v.Usage[0].GPU = nil
	b.Reset()
	printUsage(&b, v)
	if strings.Contains(b.String(), "NVML") {
		t.Errorf("a job without GPU figures prints some:\n%s", b.String())
	}
}
