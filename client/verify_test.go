package client_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/client"
	"github.com/gpumesh/gpumesh/node/api"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// TestVerifyRefusesATamperedProof: a job's receipt verifies as handed
// over, and each part of its proof, changed, fails the check that covers
// it, with ErrNotVerified.
func TestVerifyRefusesATamperedProof(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a job on a small network")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bootstrap, stop, err := startProviders(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	c := dialLoopback(t, client.Options{
		Bootstrap: bootstrap,
		Configure: func(c *config.Config) { c.Market.VerifyClass = market.VerifyOff },
	})
	defer c.Close()
	if _, err := c.WaitOffers(ctx, "", 2); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("tamper\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	module, err := wasmModule("copy")
	if err != nil {
		t.Fatal(err)
	}
	job, err := c.SubmitWasm(ctx, market.Spec{Inputs: []string{in}}, module)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := c.Wait(ctx, job.ID); err != nil || v.State != market.StateSucceeded {
		t.Fatalf("job %s: %s %v", v.State, v.Error, err)
	}
	proofs, err := c.Receipts(ctx, job.ID)
	if err != nil || len(proofs) != 1 {
		t.Fatalf("receipts: %d, %v; want one", len(proofs), err)
	}
	good := proofs[0]
	rep, err := c.Verify(ctx, good)
	if err != nil || !rep.OK {
		t.Fatalf("the receipt as handed over: %+v, %v", rep, err)
	}
	for name, tamper := range map[string]func(p *api.ReceiptProof){
		"signatures": func(p *api.ReceiptProof) { p.Signed = flip(p.Signed) },
		"entry":      func(p *api.ReceiptProof) { p.Entry.Encoded = flip(p.Entry.Encoded) },
		"inclusion":  func(p *api.ReceiptProof) { p.Inclusion.Root[0] ^= 1 },
	} {
		p := good
		tamper(&p)
		rep, err := c.Verify(ctx, p)
		if !errors.Is(err, client.ErrNotVerified) || rep.OK || !failed(rep, name) {
			t.Errorf("%s tampered: %+v, %v; want the %s check failed", name, rep, err, name)
		}
	}
}

// flip returns b with its last byte changed.
func flip(b []byte) []byte {
	b = append([]byte(nil), b...)
	if len(b) > 0 {
		b[len(b)-1] ^= 1
	}
	return b
}

// failed reports whether rep's check name failed.
func failed(rep client.Report, name string) bool {
	for _, ch := range rep.Checks {
		if ch.Name == name && ch.Outcome == client.CheckFail {
			return true
		}
	}
	return false
}
