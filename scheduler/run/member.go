package run

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p/frame"
	"github.com/gpumesh/gpumesh/p2p/overlay"
)

// A job's network changes members when a failover replaces a provider:
// the requester tells every provider still serving the job, over
// MemberProtocol, which peer now holds the lost ranks. The update is
// signed by the requester (MemberDomain) and a provider applies it only to
// a network that a run of that same requester joined here; a provider's
// own say is never taken.

// MemberProtocol is the stream protocol of membership updates.
const MemberProtocol = protocol.ID("/gpumesh/net-member/1")

// Domain and payload type of a signed MemberUpdate.
const (
	MemberDomain = "gpumesh-net-member"
	MemberCodec  = "/gpumesh/net-member/1"
)

// MaxMemberBytes is the largest signed MemberUpdate.
const MaxMemberBytes = 16 << 10

// memberTimeout bounds a membership update's exchange.
const memberTimeout = 10 * time.Second

// ErrNoNetwork refuses an update for a network no run of its signer
// joined here.
var ErrNoNetwork = errors.New("no such job network here")

// MemberUpdate gives ranks of a job's network to Peer, which replaces the
// provider that held them. It travels signed by the job's requester.
type MemberUpdate struct {
	// Network is the job network's ID: the job's own ID, which every
	// run of the job names (RunRequest.NetworkID).
	Network string `json:"network"`
	// Seq increases with every message the requester signs; a provider
	// applies a network's updates in increasing Seq only.
	Seq uint64 `json:"seq"`
	// Sent is when it was signed; it is valid for RequestLife.
	Sent time.Time `json:"sent"`
	// Ranks are the ranks that change hands; Peer their new provider.
	Ranks []int  `json:"ranks"`
	Peer  string `json:"peer"`
	// Restart asks the provider to start its own ranks of the job again,
	// from their inputs, once Peer holds Ranks: the job's failover mode
	// is restart (a torch.distributed group is not elastic).
	Restart bool `json:"restart,omitempty"`
}

// MemberType is MemberUpdate's gossip type, for gossip.Decode.
var MemberType = gossip.Type{Name: "net-member", New: func() gossip.Message { return new(MemberUpdate) }}

// Domain implements record.Record.
func (*MemberUpdate) Domain() string { return MemberDomain }

// Codec implements record.Record.
func (*MemberUpdate) Codec() []byte { return []byte(MemberCodec) }

// MarshalRecord implements record.Record.
func (m *MemberUpdate) MarshalRecord() ([]byte, error) { return json.Marshal(m) }

// UnmarshalRecord implements record.Record.
func (m *MemberUpdate) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, m) }

// Validate implements gossip.Message: every problem with the update, and
// an error wrapping gossip.ErrExpired when it is dated ahead of now by
// more than maxSkew or older than RequestLife.
func (m *MemberUpdate) Validate(now time.Time, maxSkew time.Duration) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !gossip.ValidJobID(m.Network) {
		bad("network id %.40q is not 32 hex digits", m.Network)
	}
	if m.Seq == 0 {
		bad("seq must be positive")
	}
	if len(m.Ranks) == 0 || len(m.Ranks) > overlay.MaxRanks {
		bad("%d ranks, want 1 to %d", len(m.Ranks), overlay.MaxRanks)
	} else {
		seen := make(map[int]bool, len(m.Ranks))
		for _, r := range m.Ranks {
			if r < 0 || r >= overlay.MaxRanks || seen[r] {
				bad("rank %d out of range or twice", r)
				break
			}
			seen[r] = true
		}
	}
	if len(m.Peer) > 128 {
		bad("peer ID too long")
	} else if _, err := peer.Decode(m.Peer); err != nil {
		bad("peer %.60q is not a peer ID", m.Peer)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if m.Sent.After(now.Add(maxSkew)) {
		return fmt.Errorf("%w: sent %s ahead of our clock", gossip.ErrExpired, m.Sent.Sub(now))
	}
	if until := m.Sent.Add(RequestLife); !now.Before(until) {
		return fmt.Errorf("%w: expired %s ago", gossip.ErrExpired, now.Sub(until))
	}
	return nil
}

// DecodeMember decodes and checks a signed MemberUpdate; it returns the
// update and its signer.
func DecodeMember(data []byte, now time.Time) (*MemberUpdate, peer.ID, error) {
	msg, signer, err := gossip.Decode(data, []gossip.Type{MemberType}, now, MaxMemberBytes, time.Minute)
	if err != nil {
		return nil, "", err
	}
	return msg.(*MemberUpdate), signer, nil
}

// SendMember signs u with key and delivers it to provider p, waiting for
// its answer: nil when p applied it.
func SendMember(ctx context.Context, h host.Host, key crypto.PrivKey, p peer.ID, u *MemberUpdate) error {
	if err := u.Validate(time.Now(), time.Minute); err != nil {
		return fmt.Errorf("member update: %w", err)
	}
	data, err := gossip.Encode(u, key)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, memberTimeout)
	defer cancel()
	st, err := h.NewStream(ctx, p, MemberProtocol)
	if err != nil {
		return fmt.Errorf("open member stream to %s: %w", p, err)
	}
	defer st.Close()
	d, _ := ctx.Deadline()
	_ = st.SetDeadline(d)
	if err := frame.Write(st, data); err != nil {
		_ = st.Reset()
		return fmt.Errorf("send member update to %s: %w", p, err)
	}
	_ = st.CloseWrite()
	b, err := frame.Read(bufio.NewReader(st), maxReasonBytes+256)
	if err != nil {
		_ = st.Reset()
		return fmt.Errorf("read member answer of %s: %w", p, err)
	}
	var a Ack
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("member answer of %s: %w", p, err)
	}
	if !a.OK {
		return fmt.Errorf("%s refused the member update: %s", p, a.Reason)
	}
	return nil
}

// netRun is a job network that a run joined here: who asked for it, the
// last update applied, and how to restart the run's ranks.
type netRun struct {
	net       *overlay.Net
	requester peer.ID
	seq       uint64
	restarts  int    // restarts applied
	restart   func() // nil until the ranks run
}

// netRuns are the job networks of the runs here, by network ID.
type netRuns struct {
	mu   sync.Mutex
	runs map[string]*netRun
}

func (b *netRuns) add(id string, r *netRun) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.runs == nil {
		b.runs = map[string]*netRun{}
	}
	b.runs[id] = r
}

func (b *netRuns) remove(id string, n *overlay.Net) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.runs[id]; r != nil && r.net == n {
		delete(b.runs, id)
	}
}

// restarts is how many restarts network id's run applied.
func (b *netRuns) restarts(id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.runs[id]; r != nil {
		return r.restarts
	}
	return 0
}

// setRestart keeps how to restart the ranks of network id's run.
func (b *netRuns) setRestart(id string, f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.runs[id]; r != nil {
		r.restart = f
	}
}

// apply checks u, signed by signer, against the run that joined its
// network and gives its ranks to its peer; it returns the ranks' restart
// when u asks for one.
func (b *netRuns) apply(u *MemberUpdate, signer peer.ID) (restart func(), err error) {
	p, _ := peer.Decode(u.Peer) // Validate checked it
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.runs[u.Network]
	switch {
	case r == nil || r.requester != signer: // the same answer: leak nothing of others' jobs
		return nil, fmt.Errorf("network %s: %w", u.Network, ErrNoNetwork)
	case u.Seq <= r.seq:
		return nil, fmt.Errorf("network %s: seq %d not after %d", u.Network, u.Seq, r.seq)
	}
	for _, rk := range u.Ranks {
		if rk >= len(r.net.Members()) {
			return nil, fmt.Errorf("network %s: rank %d in a world of %d", u.Network, rk, len(r.net.Members()))
		}
	}
	for _, rk := range u.Ranks {
		if err := r.net.SetMember(rk, p); err != nil {
			return nil, err
		}
	}
	r.seq = u.Seq
	if u.Restart {
		r.restarts++
		return r.restart, nil
	}
	return nil, nil
}

// handleMember serves one membership update: one signed frame in, one Ack
// out, under memberTimeout and MaxMemberBytes of the stream's scope.
func (s *Server) handleMember(st network.Stream) {
	remote := st.Conn().RemotePeer()
	if err := st.Scope().ReserveMemory(MaxMemberBytes, network.ReservationPriorityLow); err != nil {
		_ = st.Reset()
		return
	}
	defer st.Scope().ReleaseMemory(MaxMemberBytes)
	_ = st.SetDeadline(time.Now().Add(memberTimeout))
	answer := func(a Ack) {
		b, _ := json.Marshal(a)
		if frame.Write(st, b) != nil {
			_ = st.Reset()
			return
		}
		_ = st.Close()
	}
	data, err := frame.Read(bufio.NewReader(st), MaxMemberBytes)
	if err != nil {
		_ = st.Reset()
		return
	}
	u, signer, err := DecodeMember(data, time.Now())
	if err == nil && signer != remote {
		err = fmt.Errorf("signed by %s, sent by %s", signer, remote)
	}
	var restart func()
	if err == nil {
		restart, err = s.netRuns.apply(u, signer)
	}
	if err != nil {
		s.log.Info("member update refused", "peer", remote, "err", err)
		answer(Ack{Reason: truncate(err.Error())})
		return
	}
	s.log.Info("job network member replaced", "job", u.Network, "ranks", u.Ranks, "peer", u.Peer, "restart", u.Restart)
	if restart != nil {
		restart()
	}
	answer(Ack{OK: true})
}

// startMembers registers the membership update handler.
func (s *Server) startMembers(ctx context.Context) {
	s.h.SetStreamHandler(MemberProtocol, func(st network.Stream) {
		if !s.life.Do(ctx, func(context.Context) { s.handleMember(st) }) {
			_ = st.Reset()
		}
	})
}
