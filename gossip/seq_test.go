package gossip

import (
	"testing"
	"time"
)

// TestClockSeqFitsADouble: the sequence numbers nodes seed from the clock
// stay exact in a JSON reader with IEEE doubles until 2255, and grow.
func TestClockSeqFitsADouble(t *testing.T) {
	for _, at := range []time.Time{time.Now(), time.Date(2255, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if s := ClockSeq(at); s > MaxSafeSeq || s == 0 {
			t.Errorf("ClockSeq(%s) = %d, want in (0, %d]", at, s, uint64(MaxSafeSeq))
		}
	}
	now := time.Now()
	if ClockSeq(now.Add(time.Microsecond)) <= ClockSeq(now) {
		t.Error("ClockSeq does not grow with the clock")
	}
	p := new(Presence)
	if hb := p.next(now, time.Minute); hb.Seq > MaxSafeSeq {
		t.Errorf("heartbeat seq %d over %d", hb.Seq, uint64(MaxSafeSeq))
	}
}
