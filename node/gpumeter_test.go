//go:build linux && cgo

package node_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestJobGPUFiguresReachReceipts: a provider with eight mocked A100s runs a
// rank holding two of them, as its reservation assigned them, whose NVML
// mock reports the job's processes (4 GiB on each) at 90 % utilisation. The figures the provider meters reach the
// requester's job view, the receipt signed on both sides (in both ledgers)
// and the provider's /metrics.
func TestJobGPUFiguresReachReceipts(t *testing.T) {
	module := executortest.WasmModule(t, "copy")
	// Every device runs one process of the job's (4 GiB) at 90 %
	// utilisation: whichever two the provider's reservation gives the rank,
	// they are what its meter reads.
	script := func(i int, d *server.Device) {
		procs := []nvml.ProcessInfo{{Pid: uint32(4000 + i), UsedGpuMemory: 4 << 30}}
		d.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{Gpu: 90}, nvml.SUCCESS }
		d.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) { return procs, nvml.SUCCESS }
	}
	f := nodetest.Start(t, 2, nodetest.Options{
		Configure: func(i int, c *config.Config) { c.Offer.Enabled = i == 1 },
		DetectNode: func(i int) nodetest.DetectFunc {
			if i == 1 {
				return nodetest.MockGPUsScripted(gpus.A100_SXM4_40GB, 8, script)
			}
			return nil
		},
	})
	f.WaitHeard(t, 30*time.Second)
	req, prov := f.Nodes[0], f.Nodes[1]
	nodetest.WaitFor(t, 30*time.Second, prov.Offering, func() string { return "the provider did not publish its record" })
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("gpu figures\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	two := 2
	v, err := req.Market().Submit(ctx, market.Spec{Workers: 1, GPUs: &two, Module: module, Inputs: []string{in}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = req.Market().Wait(ctx, v.ID); err != nil || v.State != market.StateSucceeded {
		t.Fatalf("job: %s %s %v", v.State, v.Error, err)
	}

	// The job view.
	if len(v.Usage) != 1 || len(v.Usage[0].GPU) != 1 {
		t.Fatalf("job view usage %+v, want one provider with one rank's GPU figures", v.Usage)
	}
	got := v.Usage[0].GPU[0]
	if got.Rank != 0 || got.Devices != 2 || got.PeakMemoryBytes != 8<<30 || got.MeanUtilPercent != 90 || got.Samples < 1 {
		t.Errorf("job view GPU %+v, want rank 0 on 2 devices, 8 GiB peak, 90 %% mean", got)
	}

	// The receipt, signed by both, in both ledgers.
	for who, nd := range map[string]*node.Node{"requester": req, "provider": prov} {
		var rc ledger.Receipt
		nodetest.WaitFor(t, 20*time.Second, func() bool {
			es, err := nd.Ledger().ByJob(v.ID)
			if err != nil || len(es) == 0 {
				return false
			}
			s, err := ledger.UnmarshalSigned(es[len(es)-1].Data)
			if err != nil {
				return false
			}
			rc, err = ledger.Verify(s)
			return err == nil
		}, func() string { return who + ": no countersigned receipt of the job" })
		if rc.GPU == nil || *rc.GPU != got.GPUUsage {
			t.Errorf("%s's receipt: GPU %+v, want %+v", who, rc.GPU, got.GPUUsage)
		}
	}

	// The provider's metrics.
	pm := scrape(t, prov.APIURL())
	for _, w := range []struct {
		name string
		min  float64
	}{
		{"gpumesh_job_gpu_memory_peak_bytes_sum", 8 << 30},
		{"gpumesh_job_gpu_memory_peak_bytes_count", 1},
		{"gpumesh_job_gpu_utilization_percent_sum", 90},
		{"gpumesh_job_gpu_held_seconds_total", 1e-6},
	} {
		if got, ok := pm[w.name]; !ok || got < w.min {
			t.Errorf("provider /metrics: %s = %v (found %t), want at least %v", w.name, got, ok, w.min)
		}
	}
}
