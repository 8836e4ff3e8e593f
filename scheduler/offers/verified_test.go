package offers

import (
	"testing"
	"time"

	"github.com/gpumesh/gpumesh/p2p/capacity"
)

func TestOffersAreVerifiedOnlyWhereTheProviderAnswersChallenges(t *testing.T) {
	r := &capacity.Record{
		Devices: []capacity.Device{
			{Class: "CPU-x86", Pool: "cpu", Cores: 8},
			{Class: "A100-80GB", Pool: "gpu", Free: true},
			{Class: "RTX-4090", Pool: "gpu", Free: true},
		},
		Prices: map[string]float64{"CPU-x86": 0.04, "A100-80GB": 1, "RTX-4090": 0.5},
		// A self-reported figure is not a check.
		Proofs: []capacity.Proof{{Class: "RTX-4090", GFLOPS: 1e5}},
	}
	for _, tc := range []struct {
		provable []string
		want     map[string]bool
	}{
		{nil, map[string]bool{"CPU-x86": true, "A100-80GB": false, "RTX-4090": false}},
		{[]string{"CPU-x86", "A100-80GB"}, map[string]bool{"CPU-x86": true, "A100-80GB": true, "RTX-4090": false}},
	} {
		r.Provable = tc.provable
		for _, o := range FromRecord("p", r, nil, time.Now()) {
			if o.Verified != tc.want[o.Class] {
				t.Errorf("provable %v: %s verified = %v, want %v", tc.provable, o.Class, o.Verified, tc.want[o.Class])
			}
		}
	}
}
