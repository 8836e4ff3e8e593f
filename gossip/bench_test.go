package gossip

import (
	"testing"
	"time"
)

// BenchmarkDecodeHeartbeat measures what a validator spends on one message.
func BenchmarkDecodeHeartbeat(b *testing.B) {
	key, _ := newKey(b)
	data := seal(b, validHeartbeat(), key)
	types := []Type{HeartbeatType}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Decode(data, types, t0, 64<<10, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEd25519Verify is the floor under BenchmarkDecodeHeartbeat: one
// signature check, which every decoded message needs.
func BenchmarkEd25519Verify(b *testing.B) {
	key, _ := newKey(b)
	msg := make([]byte, 900)
	sig, _ := key.Sign(msg)
	for b.Loop() {
		ok, _ := key.GetPublic().Verify(msg, sig)
		if !ok {
			b.Fatal("bad")
		}
	}
}
