package nodetest

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/scheduler/market"
	"github.com/gpumesh/gpumesh/scheduler/run"
	"github.com/gpumesh/gpumesh/scheduler/run/runtest"
)

// BadActor is how a node of a fleet misbehaves on purpose as a provider,
// for tests of the network's defences; the zero value behaves.
// Fleet.SetBadActor switches a node's at run time. The attacks are built
// here, on the node's test knobs (node.Knobs): production code carries
// none of them.
type BadActor struct {
	// DeclineAwards, if set, declines every award with this reason.
	DeclineAwards string
	// IgnoreAwards leaves every award unanswered.
	IgnoreAwards bool
	// NeverRun bids and accepts awards, answers the run request and takes
	// its files, then runs nothing and sends nothing, not even a heartbeat.
	NeverRun bool
	// NeverAnswer bids and accepts awards, then holds the run request
	// unanswered until the requester gives up.
	NeverAnswer bool
	// DisconnectAfter, if set, drops every connection to the requester
	// this long after its run started here, and refuses that peer's
	// connections for DisconnectFor (3 s when zero); the node stays up and
	// can be reached again afterwards.
	DisconnectAfter time.Duration
	DisconnectFor   time.Duration
	// WrongOutputs runs the work and returns every output altered (each
	// byte inverted) with an otherwise honest result.
	WrongOutputs bool
	// MalformedOutputs runs the work and lists its outputs under names no
	// requester accepts ("../" before each).
	MalformedOutputs bool
	// MisstatedOutputs runs the work and lists its outputs with digests
	// that are not their bytes' (all zeros).
	MisstatedOutputs bool
	// UnderstateRTTs, if above 0, divides every RTT this node reports in
	// a measured round (market.RTTRoundProtocol) by this factor: a liar
	// making itself look close to everyone.
	UnderstateRTTs float64
	// IgnoreRTTRounds answers no measured round's probe.
	IgnoreRTTRounds bool
	// LoseSettleAnswers drops every settle answer as if lost on the way
	// (market.Knobs.LoseSettleAnswer): the requester has logged its
	// receipts and vouchers, this provider has nothing of them.
	LoseSettleAnswers bool
}

// SetBadActor makes node i misbehave as b from now on; the zero BadActor
// makes it behave again.
func (f *Fleet) SetBadActor(i int, b BadActor) { f.actors[i].cur.Store(&b) }

// defaultDisconnectFor is how long BadActor.DisconnectAfter refuses the
// requester when BadActor.DisconnectFor is zero.
const defaultDisconnectFor = 3 * time.Second

// neverRunFor is how long a NeverRun run stays silent at most: the run
// stream's own timeout, by which the requester has long given up.
const neverRunFor = 30 * time.Second

// actor is one node's current BadActor, and the knobs that play it.
type actor struct {
	cur  atomic.Pointer[BadActor]
	node atomic.Pointer[node.Node] // set once the node is built
	log  *slog.Logger
}

// newActors returns n behaving actors logging to log.
func newActors(n int, log *slog.Logger) []*actor {
	if log == nil {
		log = defaultLog()
	}
	out := make([]*actor, n)
	for i := range out {
		out[i] = &actor{log: log.With("node", i, "component", "bad_actor")}
	}
	return out
}

// now is the BadActor set now.
func (a *actor) now() BadActor {
	if b := a.cur.Load(); b != nil {
		return *b
	}
	return BadActor{}
}

// knobs are the node's test knobs, each asking the BadActor set at the
// time it is called.
func (a *actor) knobs() *node.Knobs {
	return &node.Knobs{
		Market: market.Knobs{BeforeAward: a.beforeAward, RunBegan: a.runBegan, RTTRow: a.rttRow,
			LoseSettleAnswer: func(string) bool { return a.now().LoseSettleAnswers }},
		Run: run.ServerKnobs{BeforeAnswer: a.beforeAnswer, BeforeRun: a.beforeRun, BeforeList: a.beforeList, BeforeSend: a.beforeSend},
	}
}

// beforeAward declines (DeclineAwards) or ignores (IgnoreAwards) an award.
func (a *actor) beforeAward(s network.Stream, _ *gossip.Award) (string, bool) {
	b := a.now()
	if b.IgnoreAwards {
		_, _ = s.Read(make([]byte, 1)) // until the requester gives up or the deadline
		_ = s.Reset()
		return "", true
	}
	return b.DeclineAwards, false
}

// rttRow understates (UnderstateRTTs) or withholds (IgnoreRTTRounds) a
// measured round's row.
func (a *actor) rttRow(_ string, row []gossip.PeerRTT) ([]gossip.PeerRTT, bool) {
	b := a.now()
	if b.IgnoreRTTRounds {
		return nil, true
	}
	if b.UnderstateRTTs > 0 {
		for i := range row {
			row[i].RTT = time.Duration(float64(row[i].RTT) / b.UnderstateRTTs)
		}
	}
	return row, false
}

// runBegan disconnects from the requester (DisconnectAfter).
func (a *actor) runBegan(ctx context.Context, _ string, requester peer.ID) {
	b := a.now()
	if b.DisconnectAfter <= 0 {
		return
	}
	if nd := a.node.Load(); nd != nil {
		a.disconnect(ctx, nd.Network().Host().Network(), requester, b.DisconnectAfter, b.DisconnectFor)
	}
}

// disconnect waits, then closes every connection to p and, for blackout,
// closes each new one as it opens.
func (a *actor) disconnect(ctx context.Context, net network.Network, p peer.ID, wait, blackout time.Duration) {
	if blackout <= 0 {
		blackout = defaultDisconnectFor
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return
	}
	until := time.Now().Add(blackout)
	refuse := &network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if c.RemotePeer() == p && time.Now().Before(until) {
			go c.Close() // not from the notification itself
		}
	}}
	net.Notify(refuse) // first, so no connection slips in between
	defer net.StopNotify(refuse)
	a.log.Warn("disconnecting from the requester", "requester", p.String(), "for", blackout)
	_ = net.ClosePeer(p)
	t.Reset(blackout)
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// beforeAnswer holds the request unanswered (NeverAnswer) until the
// requester resets the stream, its deadline passes or the server closes.
func (a *actor) beforeAnswer(ctx context.Context, st network.Stream, r io.Reader, _ *run.RunRequest) string {
	if !a.now().NeverAnswer {
		return ""
	}
	a.log.Warn("holding the run request unanswered")
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	_, _ = io.Copy(io.Discard, r)
	return "fault: never answered"
}

// beforeRun stays silent (NeverRun) until the server closes or the run
// stream would have timed out.
func (a *actor) beforeRun(ctx context.Context, _ *run.RunRequest) string {
	if !a.now().NeverRun {
		return ""
	}
	a.log.Warn("running nothing, sending nothing")
	t := time.NewTimer(neverRunFor)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return "fault: never ran"
}

// beforeList inverts every byte of the rank's outputs (WrongOutputs).
func (a *actor) beforeList(_ *run.RunRequest, rank int, dir string) {
	if !a.now().WrongOutputs {
		return
	}
	a.log.Warn("altering the outputs", "rank", rank)
	runtest.InvertFiles(dir)
}

// beforeSend misnames (MalformedOutputs) or misstates (MisstatedOutputs)
// the rank's outputs as listed.
func (a *actor) beforeSend(_ *run.RunRequest, rank int, outs []run.File) {
	b := a.now()
	if b.MalformedOutputs {
		a.log.Warn("listing the outputs under malformed names", "rank", rank)
		for i := range outs {
			outs[i].Name = "../" + outs[i].Name
		}
	}
	if b.MisstatedOutputs {
		a.log.Warn("misstating the outputs' digests", "rank", rank)
		for i := range outs {
			outs[i].Digest = "sha256:" + strings.Repeat("0", 64)
		}
	}
}
