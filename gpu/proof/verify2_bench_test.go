package proof

import (
	"testing"
	"time"
)

// BenchmarkCheckProduct2 times the verifier's check of one opened product
// at n = 4096 with r = DefaultCheckRows2 rows: a real GPU challenge opens
// DefaultSamples2 of them.
func BenchmarkCheckProduct2(b *testing.B) {
	ch, err := NewChallenge2(seeded(1), Params2{N: 4096, Type: FP16FP32, Pool: 2, Products: 4, Samples: 4, Deadline: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	op := Opening2{Index: 1, Digests: make([]float32, ch.N)}
	for b.Loop() {
		_ = checkProduct(ch, op, []int{1, 2})
	}
}
