package gossip

import "time"

// MaxSafeSeq is the largest sequence number a sender puts in a message:
// 2^53 - 1, the largest integer a JSON reader that holds numbers as IEEE
// doubles (JavaScript's) reads exactly.
const MaxSafeSeq = 1<<53 - 1

// ClockSeq is the sequence number a node seeds from its clock: t in
// microseconds since 1970. It grows across restarts without stored state
// (a node sends far fewer than one message per microsecond), and stays
// below MaxSafeSeq until the year 2255, so every client reads it exactly.
// Nodes before payload seq note 1 (docs/protocol/README.md) used
// nanoseconds, about 1.8e18, which JavaScript reads with its low bits lost.
func ClockSeq(t time.Time) uint64 { return uint64(t.UnixMicro()) }
