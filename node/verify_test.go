//go:build linux && cgo

package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"

	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/node/nodetest"
	"github.com/gpumesh/gpumesh/scheduler/executor/executortest"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/reputation"
)

// TestProviderLyingAboutItsClassIsNotAwarded: node 1 advertises an A100
// (go-nvml's mock, through the real NVML path) but answers challenges with
// the CPU it really has, which is what a provider lying about its class
// looks like from outside. A requester that verifies every class
// challenges it before awarding a job for that class: it fails, is not
// awarded, the job fails saying so, and its reputation falls below what the
// market accepts. A CPU job then runs on the honest providers, each of which
// passed its own challenge, and not on the liar.
func TestProviderLyingAboutItsClassIsNotAwarded(t *testing.T) {
	module := executortest.WasmModule(t, "hello")
	f := nodetest.Start(t, 4, nodetest.Options{
		Configure: func(i int, c *config.Config) {
			c.Offer.Enabled = i > 0
			c.Market.VerifyClass = market.VerifyAll
			// An honest CPU needs a twentieth of its class's figure, so that
			// two loaded cores do not fail it; the liar still needs 9
			// TFLOP/s for the A100 it claims.
			c.GPU.ProofTolerance = 0.05
			if raceTolerance > 0 {
				c.GPU.ProofTolerance = raceTolerance
			}
		},
		DetectNode: func(i int) nodetest.DetectFunc {
			if i == 1 {
				return nodetest.MockGPUs(gpus.A100_PCIE_40GB, 1)
			}
			return nil
		},
	})
	f.WaitHeard(t, 60*time.Second)
	req, liar := f.Nodes[0], f.Nodes[1]
	class := ""
	for _, d := range liar.Hardware().Devices {
		if d.Pool == "gpu" {
			class = d.Class
		}
	}
	if class == "" {
		t.Fatalf("the mock A100 was not detected: %+v", liar.Hardware().Devices)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	v, err := req.Market().Submit(ctx, market.Spec{Workers: 1, Module: module, Pool: "gpu", Class: class})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = req.Market().Wait(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	failedChallenge := false
	for _, e := range v.Events {
		if e.Kind == "challenge_failed" && e.Peer == liar.PeerID().String() {
			failedChallenge = true
			t.Logf("%s", e.Text)
		}
		if e.Kind == "award" && e.Peer == liar.PeerID().String() {
			t.Errorf("the liar was awarded: %s", e.Text)
		}
	}
	if v.State != market.StateFailed || !failedChallenge || !strings.Contains(v.Error, "proof-of-compute") {
		t.Fatalf("GPU job from the liar: state %s (%s), challenge failed %v; want failed for its proof-of-compute", v.State, v.Error, failedChallenge)
	}
	if sc := req.Reputation().Score(liar.PeerID()); sc >= reputation.DefaultMinReputation {
		t.Errorf("liar's reputation %.3f, want below %.2f", sc, reputation.DefaultMinReputation)
	}

	v, err = req.Market().Submit(ctx, market.Spec{Workers: 2, Module: module})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = req.Market().Wait(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if v.State != market.StateSucceeded {
		t.Fatalf("CPU job: %s (%s)", v.State, v.Error)
	}
	verified := map[string]bool{}
	for _, e := range v.Events {
		if e.Kind == "verified" {
			verified[e.Peer] = true
		}
	}
	for _, u := range v.Usage {
		if u.Peer == liar.PeerID().String() {
			t.Errorf("the liar served the CPU job")
		}
		if !verified[u.Peer] {
			t.Errorf("provider %s served without a passed challenge", u.Peer)
		}
	}
}
