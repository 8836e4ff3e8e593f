//go:build linux && cgo

package node_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"

	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/p2p"
	"github.com/gpumesh/gpumesh/scheduler/executor"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestConcurrentGPUJobsGetDisjointDevices: two process jobs of four GPUs
// each, from two requesters, run at once on a provider with eight (go-nvml's mock, the real
// NVML path); each job's process sees exactly four of the provider's GPU
// UUIDs in CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES, the two sets
// are disjoint, and once both ended no device is held.
func TestConcurrentGPUJobsGetDisjointDevices(t *testing.T) {
	meet := t.TempDir() // each job leaves a file here and waits for the other's
	script := filepath.Join(t.TempDir(), "gpus.sh")
	body := fmt.Sprintf(`#!/bin/sh
echo "cuda=$CUDA_VISIBLE_DEVICES nvidia=$NVIDIA_VISIBLE_DEVICES"
: > %[1]s/"$GPUMESH_JOB_ID"
i=0
while [ "$(ls %[1]s | wc -l)" -lt 2 ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
echo "together=$(ls %[1]s | wc -l)"
`, meet)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	f := nodetest.Start(t, 3, nodetest.Options{
		Configure: func(i int, c *config.Config) {
			c.Offer.Enabled = i == 1
			c.Market.VerifyClass = market.VerifyOff // not what this is about
			if i == 1 {
				c.Offer.Executors = []string{"wasm", "process"}
				c.Offer.Prices = []string{"gpu=1.00", "cpu=0.05"}
				c.Executor.Commands = []string{"gpus=" + script}
			}
		},
		DetectNode: func(i int) nodetest.DetectFunc {
			if i == 1 {
				return nodetest.MockGPUs(gpus.A100_PCIE_40GB, 8)
			}
			return nil
		},
	})
	f.WaitHeard(t, 30*time.Second)
	reqs, prov := []*node.Node{f.Nodes[0], f.Nodes[2]}, f.Nodes[1]
	nodetest.WaitFor(t, 30*time.Second, prov.Offering, func() string { return "the provider did not publish its record" })
	var uuids []string
	for _, d := range prov.Hardware().Devices {
		uuids = append(uuids, d.UUID)
	}
	if len(uuids) != 8 {
		t.Fatalf("provider has %d GPUs, want 8", len(uuids))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	four := 4
	var wg sync.WaitGroup
	ids := make([]string, 2)
	errs := make([]error, 2)
	for i := range ids {
		wg.Go(func() {
			m := reqs[i].Market()
			v, err := m.Submit(ctx, market.Spec{Workers: 1, GPUs: &four, Pool: "gpu", Command: "gpus"})
			if err == nil {
				ids[i] = v.ID
				if v, err = m.Wait(ctx, v.ID); err == nil && v.State != market.StateSucceeded {
					err = fmt.Errorf("job %s: %s", v.State, v.Error)
				}
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	held := map[string]string{}
	for i, id := range ids {
		page, _, err := reqs[i].Market().Logs(id, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var cuda, nvidia, together string
		for _, l := range page.Lines {
			if s, ok := strings.CutPrefix(l.Text, "cuda="); ok {
				cuda, nvidia, _ = strings.Cut(s, " nvidia=")
			}
			if s, ok := strings.CutPrefix(l.Text, "together="); ok {
				together = strings.TrimSpace(s)
			}
		}
		if together != "2" {
			t.Errorf("job %s: together=%q, want 2: the jobs did not run at once", id, together)
		}
		got := strings.Split(cuda, ",")
		if len(got) != 4 || nvidia != cuda {
			t.Fatalf("job %s: CUDA_VISIBLE_DEVICES %q, NVIDIA_VISIBLE_DEVICES %q; want the same four UUIDs", id, cuda, nvidia)
		}
		for _, u := range got {
			if !slices.Contains(uuids, u) {
				t.Errorf("job %s sees %q, not one of the provider's GPUs", id, u)
			}
			if other, dup := held[u]; dup {
				t.Errorf("GPU %s given to job %s and job %s", u, other, id)
			}
			held[u] = id
		}
	}
	nodetest.WaitFor(t, 10*time.Second, func() bool { return len(prov.Market().Reserved()) == 0 },
		func() string { return fmt.Sprintf("devices still held after both jobs: %v", prov.Market().Reserved()) })
}

// TestNoBidOverMaxWallOrForGPUsItLacks: a CPU-only provider whose
// executor.max_wall is an hour does not bid on a two-hour job, nor on a
// job for a GPU, and the requester's job view says why in numbers.
func TestNoBidOverMaxWallOrForGPUsItLacks(t *testing.T) {
	f := nodetest.Start(t, 2, nodetest.Options{
		Configure: func(i int, c *config.Config) {
			c.Offer.Enabled = i == 1
			c.Market.VerifyClass = market.VerifyOff
			if i == 1 {
				c.Offer.Executors = []string{"wasm", "process"}
				c.Executor.Commands = []string{"echo=/bin/echo"}
				c.Executor.MaxWall = p2p.Duration(time.Hour)
			}
		},
	})
	f.WaitHeard(t, 30*time.Second)
	req, prov := f.Nodes[0], f.Nodes[1]
	nodetest.WaitFor(t, 30*time.Second, prov.Offering, func() string { return "the provider did not publish its record" })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	one := 1
	for _, c := range []struct {
		name string
		spec market.Spec
		want []string
	}{
		{"two hours", market.Spec{Workers: 1, Command: "echo", Duration: p2p.Duration(2 * time.Hour)},
			[]string{"1 would not bid: 1 duration (the job asks for 2h0m0s, longer than this provider's executor.max_wall of 1h0m0s)"}},
		{"a GPU", market.Spec{Workers: 1, Command: "echo", GPUs: &one, Pool: "gpu"},
			[]string{"no provider bid", "pool gpu"}},
	} {
		v, err := req.Market().Submit(ctx, c.spec)
		if err != nil {
			t.Fatal(err)
		}
		if v, err = req.Market().Wait(ctx, v.ID); err != nil || v.State != market.StateFailed {
			t.Fatalf("%s: job %s %v, want failed", c.name, v.State, err)
		}
		t.Logf("%s: %s", c.name, v.Error)
		for _, w := range c.want {
			if !strings.Contains(v.Error, w) {
				t.Errorf("%s: job's error %q does not say %q", c.name, v.Error, w)
			}
		}
	}
	if n := len(prov.Market().Reservations()); n != 0 {
		t.Errorf("provider holds %d reservations, want none", n)
	}
}

// TestNoBidForGPUsTheEngineCannotHand: a provider with eight GPUs (the
// go-nvml mock) whose Docker engine has no NVIDIA runtime nor CDI specs
// does not bid on a container job for a GPU, and says why, instead of
// failing at run time; it still takes the job of a process.
func TestNoBidForGPUsTheEngineCannotHand(t *testing.T) {
	d, err := executor.NewDocker(executor.DockerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(context.Background(), 5*time.Second)
	err = d.Ping(pctx)
	var access executor.GPUAccess
	if err == nil {
		access, err = d.DetectGPUs(pctx)
	}
	pcancel()
	d.Close()
	if err != nil {
		msg := fmt.Sprintf("no Docker engine answers (%v): install docker.io and run dockerd, as scripts/test.sh does", err)
		if os.Getenv("GPUMESH_REQUIRE_DOCKER") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if !access.None() {
		t.Skipf("this engine can hand GPUs to containers (%+v): the refusal cannot be seen here", access)
	}
	f := nodetest.Start(t, 2, nodetest.Options{
		Configure: func(i int, c *config.Config) {
			c.Offer.Enabled = i == 1
			c.Market.VerifyClass = market.VerifyOff
			if i == 1 {
				c.Offer.Executors = []string{"wasm", "docker", "process"}
				c.Offer.Prices = []string{"gpu=1.00", "cpu=0.05"}
				c.Executor.Docker = true
				c.Executor.Commands = []string{"echo=/bin/echo"}
			}
		},
		DetectNode: func(i int) nodetest.DetectFunc {
			if i == 1 {
				return nodetest.MockGPUs(gpus.A100_PCIE_40GB, 8)
			}
			return nil
		},
	})
	f.WaitHeard(t, 30*time.Second)
	req, prov := f.Nodes[0], f.Nodes[1]
	nodetest.WaitFor(t, 30*time.Second, prov.Offering, func() string { return "the provider did not publish its record" })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	one := 1
	v, err := req.Market().Submit(ctx, market.Spec{Workers: 1, GPUs: &one, Pool: "gpu", Image: "gpumesh-test/never-pulled:1"})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = req.Market().Wait(ctx, v.ID); err != nil || v.State != market.StateFailed {
		t.Fatalf("job %s %v, want failed", v.State, err)
	}
	want := "1 would not bid: 1 gpus (the docker executor cannot hand this provider's GPUs to a job: " + executor.NoGPUsReason + ")"
	if !strings.Contains(v.Error, want) {
		t.Errorf("job's error %q does not say %q", v.Error, want)
	}
	v, err = req.Market().Submit(ctx, market.Spec{Workers: 1, GPUs: &one, Pool: "gpu", Command: "echo", Args: []string{"hi"}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = req.Market().Wait(ctx, v.ID); err != nil || v.State != market.StateSucceeded {
		t.Fatalf("process job %s %s %v, want succeeded", v.State, v.Error, err)
	}
}
