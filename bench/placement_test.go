package main

import (
	"testing"
)

// TestB4Quick runs B4 in small (a few requests per cell, small fleets):
// every row runs, no verified group breaks its bound on the true RTTs (a
// row would be skipped), and no method beats the exact optimum.
func TestB4Quick(t *testing.T) {
	if testing.Short() {
		t.Skip("B4 in small takes a few seconds")
	}
	cfg := b4Config{fleet: 300, routeFleet: 200, market: 60, requests: 2, sizes: []int{100, 200}, workRequests: 1}
	out := runB4(cfg)
	if want := 2*len(b4Ks) + 1; len(out) != want {
		t.Fatalf("%d rows, want %d", len(out), want)
	}
	for _, r := range out {
		if r.Skipped != "" {
			t.Fatalf("%s: skipped: %s", r.Name, r.Skipped)
		}
		t.Logf("%s: %v; baseline %v", r.Name, r.Figures, r.Baseline)
		for _, f := range []map[string]float64{r.Figures, r.Baseline} {
			if p50, ok := f["ratio_p50"]; ok && p50 < 1-1e-9 {
				t.Errorf("%s: ratio p50 %v below the optimum", r.Name, p50)
			}
		}
	}
}
