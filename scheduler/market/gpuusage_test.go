package market

import (
	"strings"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/run"
)

// TestCheckReceiptGPUFigures: a receipt's GPU figures must be exactly those
// the rank's result stated during the run; other figures, figures added to
// a rank reported without, or figures left out are refused.
func TestCheckReceiptGPUFigures(t *testing.T) {
	reqID, provID := testPeer(t), testPeer(t)
	m := &requester{core: &core{self: reqID}}
	start := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	served := 40 * time.Second
	j := &job{req: &gossip.JobRequest{ID: "job1", Workers: 2, PerWorker: gossip.Resources{GPUs: 2}}}
	mb := &member{peer: provID, ranks: []int{1}, req: "job1", price: 0.5}
	u := Usage{Start: start, End: start.Add(served)}
	res := executor.Result{Status: executor.StatusSucceeded}
	reported := ledger.GPUUsage{Devices: 2, Samples: 40, BusyMillis: 61_000, PeakMemoryBytes: 12 << 30, MeanUtilPercent: 76.3}
	o := run.Outcome{Results: map[int]executor.Result{1: res}, Outputs: map[int][]run.File{1: nil}, GPU: map[int]ledger.GPUUsage{1: reported}}
	honest := ledger.Receipt{Job: "job1", Requester: reqID.String(), Provider: provID.String(), Rank: 1, Devices: 2,
		Start: start, End: start.Add(served), UnitPrice: 500000, Seq: 1, Issued: time.Now(),
		ResultDigest: receiptDigest(run.ResultDigest(res, nil)), Status: ledger.StatusSucceeded}
	g := reported
	honest.GPU = &g
	honest.Finalize()
	if why := m.checkReceipt(j, mb, u, o, honest, map[int]bool{}); why != "" {
		t.Fatalf("the honest receipt was refused: %s", why)
	}
	for name, edit := range map[string]func(*ledger.Receipt){
		"busier":         func(r *ledger.Receipt) { r.GPU.BusyMillis *= 2 },
		"more memory":    func(r *ledger.Receipt) { r.GPU.PeakMemoryBytes++ },
		"higher util":    func(r *ledger.Receipt) { r.GPU.MeanUtilPercent = 99 },
		"more devices":   func(r *ledger.Receipt) { r.GPU.Devices = 1 },
		"more samples":   func(r *ledger.Receipt) { r.GPU.Samples++ },
		"figures gone":   func(r *ledger.Receipt) { r.GPU = nil },
		"another rank's": func(r *ledger.Receipt) { r.GPU = &ledger.GPUUsage{Devices: 2} },
	} {
		r := honest
		if r.GPU != nil {
			c := *r.GPU
			r.GPU = &c
		}
		edit(&r)
		r.Finalize()
		if why := m.checkReceipt(j, mb, u, o, r, map[int]bool{}); !strings.Contains(why, "GPU figures") {
			t.Errorf("%s: refusal %q, want it about the GPU figures", name, why)
		}
	}
	// Figures of more devices than the rank holds, even as reported.
	more := reported
	more.Devices = 3
	over := o
	over.GPU = map[int]ledger.GPUUsage{1: more}
	r := honest
	r.GPU = &more
	r.Finalize()
	if why := m.checkReceipt(j, mb, u, over, r, map[int]bool{}); !strings.Contains(why, "the rank holds 2") {
		t.Errorf("3 devices metered of 2: refusal %q", why)
	}
	// A rank reported without figures: a receipt that adds some is refused.
	none := o
	none.GPU = nil
	if why := m.checkReceipt(j, mb, u, none, honest, map[int]bool{}); !strings.Contains(why, "GPU figures") {
		t.Errorf("figures added: refusal %q, want it about the GPU figures", why)
	}
}

func TestRankGPUInRankOrder(t *testing.T) {
	o := run.Outcome{GPU: map[int]ledger.GPUUsage{3: {Devices: 1}, 1: {Devices: 2}}}
	got := rankGPU(o, []int{1, 2, 3})
	if len(got) != 2 || got[0].Rank != 1 || got[0].Devices != 2 || got[1].Rank != 3 || got[1].Devices != 1 {
		t.Errorf("got %+v, want ranks 1 and 3 with their figures", got)
	}
	if got := rankGPU(run.Outcome{}, []int{0}); got != nil {
		t.Errorf("no figures: got %+v", got)
	}
}
