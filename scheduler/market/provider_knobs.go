package market

import (
	"context"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
)

// Knobs are the provider side's interception points for tests (the bad
// actors of node/nodetest); every field is nil in production, where the
// market calls none. Each is named for where it hooks in.
type Knobs struct {
	// BeforeAward, if set, is called with each award heard, on its stream,
	// before the award is checked. A non-empty decline declines it with
	// that reason (counted as refused "knob"); taken says the knob dealt
	// with the stream itself, which the provider then leaves alone.
	BeforeAward func(s network.Stream, a *gossip.Award) (decline string, taken bool)
	// RunBegan, if set, is called in the background once requester began
	// its run of job here (BeginRun), with a context that ends when the
	// market closes.
	RunBegan func(ctx context.Context, job string, requester peer.ID)
	// RTTRow, if set, is called with each row this provider measured in a
	// measured round, before it is signed: it returns the row to send,
	// or silent true to send nothing (the stream is reset).
	RTTRow func(job string, row []gossip.PeerRTT) (out []gossip.PeerRTT, silent bool)
	// LoseSettleAnswer, if set, is asked for each settle answer read:
	// true resets the stream at once, as if the answer had been lost on
	// the way, with nothing of it logged.
	LoseSettleAnswer func(job string) bool
}

// knobLabel is what an award declined by Knobs.BeforeAward is counted
// under in Stats.Refused.
const knobLabel = "knob"
