package main

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// hundred is 1..100 in a shuffled order.
func hundred() []float64 {
	xs := make([]float64, 100)
	for i := range xs {
		xs[i] = float64(i + 1)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
	return xs
}

func TestQuantile(t *testing.T) {
	for _, c := range []struct {
		name string
		xs   []float64
		q    float64
		want float64
	}{
		{"none", nil, 0.5, 0},
		{"one", []float64{7}, 0.99, 7},
		{"odd p50", []float64{5, 1, 4, 2, 3}, 0.5, 3},
		{"odd p90", []float64{5, 1, 4, 2, 3}, 0.9, 5},
		{"min", []float64{5, 1, 4, 2, 3}, 0, 1},
		{"max", []float64{5, 1, 4, 2, 3}, 1, 5},
		{"even p50 is the upper middle", []float64{4, 1, 3, 2}, 0.5, 3},
		{"100 p10", hundred(), 0.1, 11},
		{"100 p50", hundred(), 0.5, 51},
		{"100 p90", hundred(), 0.9, 91},
		{"100 p99", hundred(), 0.99, 100},
		{"100 max", hundred(), 1, 100},
	} {
		before := slices.Clone(c.xs)
		if got := quantile(c.xs, c.q); got != c.want {
			t.Errorf("%s: quantile(%v, %v) = %v, want %v", c.name, c.xs, c.q, got, c.want)
		}
		if !slices.Equal(c.xs, before) {
			t.Errorf("%s: quantile changed its input", c.name)
		}
	}
}

func TestMedianAndMean(t *testing.T) {
	for _, c := range []struct {
		xs       []float64
		med, avg float64
	}{
		{nil, 0, 0},
		{[]float64{3, 1, 2}, 2, 2},
		{[]float64{4, 1, 3, 2}, 2.5, 2.5},
		{[]float64{10, 1, 1, 1}, 1, 3.25},
	} {
		if got := median(c.xs); got != c.med {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.med)
		}
		if got := mean(c.xs); got != c.avg {
			t.Errorf("mean(%v) = %v, want %v", c.xs, got, c.avg)
		}
	}
}

// TestMedians: over rounds, delivered_pct takes the lowest, max the
// highest, and every other figure the upper middle.
func TestMedians(t *testing.T) {
	rounds := []map[string]float64{
		{"delivered_pct": 100, "max": 9, "p50": 4},
		{"delivered_pct": 98, "max": 30, "p50": 1},
		{"delivered_pct": 100, "max": 12, "p50": 3},
		{"delivered_pct": 99, "max": 7, "p50": 2},
	}
	want := map[string]float64{"delivered_pct": 98, "max": 30, "p50": 3}
	if got := medians(rounds); !maps.Equal(got, want) {
		t.Errorf("medians = %v, want %v", got, want)
	}
}

// TestSummarize: latencies become ms to the whole microsecond before their
// quantiles are taken.
func TestSummarize(t *testing.T) {
	l := &latencies{}
	for i := range 100 {
		l.samples = append(l.samples, time.Duration(100-i)*time.Millisecond+999*time.Nanosecond)
	}
	got := summarize(l, 200)
	want := map[string]float64{"delivered_pct": 50, "p50": 51, "p99": 100, "max": 100}
	if !maps.Equal(got, want) {
		t.Errorf("summarize = %v, want %v", got, want)
	}
	if got := summarize(&latencies{}, 10); got["p50"] != 0 || got["delivered_pct"] != 0 {
		t.Errorf("summarize of none = %v, want zeros", got)
	}
}
