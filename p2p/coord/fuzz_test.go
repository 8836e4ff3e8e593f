package coord

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// FuzzObserve: any bytes as the coordinate a peer announces (in its
// heartbeats and capacity records), sampled at any RTT, by two peers.
// An invalid coordinate or RTT moves nothing; a valid one leaves this
// node's coordinate valid (peers refuse heartbeats that carry an invalid
// one) and every estimate a non-negative duration.
func FuzzObserve(f *testing.F) {
	for _, c := range []Coordinate{
		{Vec: make([]float64, Dimensions), Height: 1e-5},
		{Vec: []float64{0.01, -0.02, 0.003, 0, 0, 0, 0, 0.5}, Error: 1.5, Adjustment: 0.001, Height: 0.002},
		{Vec: []float64{999, 999, 999, 999, 999, 999, 999, 999}, Error: 999, Adjustment: -999, Height: 999},
		{Vec: []float64{-999, 0, 0, 0, 0, 0, 0, 0}, Error: 0, Height: 0},
	} {
		b, _ := json.Marshal(c)
		f.Add(b, uint32(20_000), uint8(3))
	}
	f.Add([]byte(`{"vec":[1e400]}`), uint32(1), uint8(1))
	f.Add([]byte(`{"vec":[0,0,0,0,0,0,0,0],"height":-1}`), uint32(10_000_000), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, rttMicros uint32, rounds uint8) {
		var theirs Coordinate
		if json.Unmarshal(data, &theirs) != nil {
			return
		}
		e, err := NewEstimator()
		if err != nil {
			t.Fatal(err)
		}
		e.SetSource(func(string) (Coordinate, bool) { return theirs, true })
		rtt := time.Duration(rttMicros) * time.Microsecond
		valid := theirs.Validate() == nil && rtt > 0 && rtt <= 10*time.Second
		before := e.Coordinate()
		for i := range int(rounds%8) + 1 {
			for _, p := range []string{"a", "b"} {
				got, err := e.Observe(p, theirs, rtt+time.Duration(i)*time.Microsecond)
				if !valid {
					if err == nil || !slices.Equal(got.Vec, before.Vec) || got.Height != before.Height {
						t.Fatalf("an invalid sample (%v, rtt %s) was taken: %v", theirs, rtt, err)
					}
					continue
				}
				if err != nil {
					continue // Serf refuses some samples; the coordinate stays as it was
				}
				if verr := got.Validate(); verr != nil {
					t.Fatalf("after sampling %+v at %s, this node's coordinate %+v is invalid: %v", theirs, rtt, got, verr)
				}
				if d := EstimateRTT(got, theirs); d < 0 {
					t.Fatalf("estimate %s", d)
				}
			}
		}
		if err := e.Coordinate().Validate(); err != nil {
			t.Fatalf("this node's coordinate is invalid: %v", err)
		}
	})
}
