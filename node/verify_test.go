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
// the CPU it really has, through a real proof helper process (the CPU one,
// cmd/gpumesh-prover), which is what a provider lying about its class looks
// like from outside. A requester that verifies every class challenges it
// (version 2) before awarding a job for that class: it fails, is not
// awarded, the job fails saying so, and its reputation falls below what the
// market accepts. Its offer says verified (it answers challenges); node 4's
// mock A100 has no helper: its offer says unverified and it is not awarded
// either, without a penalty. A CPU job then runs on providers that each
// passed their own challenge, and not on the liar.
func TestProviderLyingAboutItsClassIsNotAwarded(t *testing.T) {
	module := executortest.WasmModule(t, "hello")
	helperBin := buildProofHelper(t)
	f := nodetest.Start(t, 5, nodetest.Options{
		Configure: func(i int, c *config.Config) {
			c.Offer.Enabled = i > 0
			c.Market.VerifyClass = market.VerifyAll
			if i == 1 {
				c.Proof.Helper = helperBin
			}
			// An honest CPU needs a twentieth of its class's figure, so that
			// two loaded cores do not fail it; the liar still needs 9
			// TFLOP/s for the A100 it claims.
			c.GPU.ProofTolerance = 0.05
			if raceTolerance > 0 {
				c.GPU.ProofTolerance = raceTolerance
			}
		},
		DetectNode: func(i int) nodetest.DetectFunc {
			if i == 1 || i == 4 {
				return nodetest.MockGPUs(gpus.A100_PCIE_40GB, 1)
			}
			return nil
		},
	})
	f.WaitHeard(t, 60*time.Second)
	req, liar, unverified := f.Nodes[0], f.Nodes[1], f.Nodes[4]
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
	checkVerifiedOffers(ctx, t, req, class, map[string]bool{liar.PeerID().String(): true, unverified.PeerID().String(): false})

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
		if e.Kind == "award" && (e.Peer == liar.PeerID().String() || e.Peer == unverified.PeerID().String()) {
			t.Errorf("the liar or the unverified provider was awarded: %s", e.Text)
		}
	}
	if v.State != market.StateFailed || !failedChallenge || !strings.Contains(v.Error, "proof-of-compute") {
		t.Fatalf("GPU job from the liar: state %s (%s), challenge failed %v; want failed for its proof-of-compute", v.State, v.Error, failedChallenge)
	}
	if sc := req.Reputation().Score(liar.PeerID()); sc >= reputation.DefaultMinReputation {
		t.Errorf("liar's reputation %.3f, want below %.2f", sc, reputation.DefaultMinReputation)
	}
	if sc := req.Reputation().Score(unverified.PeerID()); sc < reputation.DefaultMinReputation {
		t.Errorf("the unverified provider's reputation %.3f fell below %.2f: it was not checked, not caught", sc, reputation.DefaultMinReputation)
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
