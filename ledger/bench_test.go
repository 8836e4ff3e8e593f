package ledger

import (
	"context"
	"fmt"
	"testing"
)

func BenchmarkSignAndCountersign(b *testing.B) {
	p, q := newParty(b), newParty(b)
	r := receipt(p, q, "job-b", 0, 1, 60)
	for b.Loop() {
		signBoth(b, p, q, r)
	}
}

func BenchmarkVerify(b *testing.B) {
	p, q := newParty(b), newParty(b)
	s := signBoth(b, p, q, receipt(p, q, "job-b", 0, 1, 60))
	for b.Loop() {
		if _, err := Verify(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendVerifiedParallel times durable group-committed appends
// of pre-verified receipts from many goroutines.
func BenchmarkAppendVerifiedParallel(b *testing.B) {
	p, q := newParty(b), newParty(b)
	l := openLog(b, b.TempDir(), p)
	defer l.Close()
	signed := make([]Verified, b.N)
	for i := range signed {
		v, err := Prepare(signBoth(b, p, q, receipt(p, q, fmt.Sprintf("job-%d", i), 0, 1, 60)))
		if err != nil {
			b.Fatal(err)
		}
		signed[i] = v
	}
	var next int64
	var mu = make(chan struct{}, 1)
	b.ResetTimer()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu <- struct{}{}
			i := next
			next++
			<-mu
			if _, err := l.AppendVerified(context.Background(), signed[i]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
