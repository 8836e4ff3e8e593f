package main

import (
	"slices"
	"time"
)

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// mean is the average of xs; 0 for no samples.
func mean(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(max(len(xs), 1))
}

// quantile is the q-quantile of xs by nearest rank: of the n samples in
// order, the one at index floor(q*n), the last for q = 1; 0 for no samples.
// xs is left as it is. Every percentile bench reports comes from here.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// median is the middle of xs, the mean of the two middles for an even
// count; 0 for no samples. Unlike quantile(xs, 0.5), which takes the upper
// middle, it interpolates.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
