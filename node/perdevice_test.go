//go:build linux && cgo

package node_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"

	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestPerDeviceProcesses: a per_device process job of two workers of two
// GPUs each (go-nvml's mock GPUs on two providers) runs four processes:
// each sees exactly one of its provider's GPUs, LOCAL_RANK 0 and 1 of 2 on
// each worker, NODE_RANK its worker's rank, and RANK 0 to 3 of 4 once each.
func TestPerDeviceProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: three nodes")
	}
	script := filepath.Join(t.TempDir(), "env.sh")
	body := `#!/bin/sh
echo "rank=$RANK/$WORLD_SIZE local=$LOCAL_RANK/$LOCAL_WORLD_SIZE node=$NODE_RANK cuda=$CUDA_VISIBLE_DEVICES"
`
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	f := nodetest.Start(t, 3, nodetest.Options{
		Configure: func(i int, c *config.Config) {
			c.Offer.Enabled = i > 0
			c.Market.VerifyClass = market.VerifyOff // not what this is about
			if i > 0 {
				c.Offer.Executors = []string{"process"}
				c.Offer.Prices = []string{"gpu=1.00", "cpu=0.05"}
				c.Executor.Commands = []string{"env=" + script}
			}
		},
		DetectNode: func(i int) nodetest.DetectFunc {
			if i > 0 {
				return nodetest.MockGPUs(gpus.A100_PCIE_40GB, 2)
			}
			return nil
		},
	})
	f.WaitHeard(t, 30*time.Second)
	for _, p := range f.Nodes[1:] {
		nodetest.WaitFor(t, 30*time.Second, p.Offering, func() string { return "a provider did not publish its record" })
	}
	uuidsOf := map[string][]string{} // provider peer -> its GPUs
	for _, p := range f.Nodes[1:] {
		for _, d := range p.Hardware().Devices {
			uuidsOf[p.PeerID().String()] = append(uuidsOf[p.PeerID().String()], d.UUID)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	two := 2
	m := f.Nodes[0].Market()
	v, err := m.Submit(ctx, market.Spec{Workers: 2, GPUs: &two, Pool: "gpu", Command: "env", PerDevice: true})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = m.Wait(ctx, v.ID); err != nil || v.State != market.StateSucceeded {
		t.Fatalf("job: %v %s %s", err, v.State, v.Error)
	}
	page, _, err := m.Logs(v.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ranks []string
	for _, l := range page.Lines {
		var local, rank, world, lw, node int
		var cuda string
		if _, err := fmt.Sscanf(l.Text, "[local_rank %d] rank=%d/%d local=%d/%d node=%d cuda=%s", &local, &rank, &world, &lw, &lw, &node, &cuda); err != nil {
			t.Errorf("line %q: %v", l.Text, err)
			continue
		}
		ranks = append(ranks, fmt.Sprint(rank))
		if world != 4 || lw != 2 || node != l.Rank || rank != 2*l.Rank+local {
			t.Errorf("worker %d: %q, want RANK %d of 4, LOCAL_WORLD_SIZE 2, NODE_RANK %d", l.Rank, l.Text, 2*l.Rank+local, l.Rank)
		}
		if !slices.Contains(uuidsOf[l.Peer], cuda) {
			t.Errorf("worker %d on %s: CUDA_VISIBLE_DEVICES %q, want one of its provider's GPUs %v", l.Rank, l.Peer, cuda, uuidsOf[l.Peer])
		}
	}
	slices.Sort(ranks)
	if got := strings.Join(ranks, ","); got != "0,1,2,3" {
		t.Errorf("ranks %s, want 0,1,2,3 once each", got)
	}
}
