package run

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gpumesh/gpumesh/gossip"
	"github.com/gpumesh/gpumesh/p2p/overlay"
)

func TestMemberUpdateValidate(t *testing.T) {
	now := time.Now()
	p := newNode(t).ID().String()
	good := MemberUpdate{Network: strings.Repeat("ab", 16), Seq: 1, Sent: now, Ranks: []int{1}, Peer: p}
	for _, tc := range []struct {
		name string
		edit func(*MemberUpdate)
		want string // in the error; "" for none
	}{
		{"good", func(*MemberUpdate) {}, ""},
		{"bad network", func(u *MemberUpdate) { u.Network = "x" }, "network id"},
		{"no seq", func(u *MemberUpdate) { u.Seq = 0 }, "seq"},
		{"no ranks", func(u *MemberUpdate) { u.Ranks = nil }, "0 ranks"},
		{"negative rank", func(u *MemberUpdate) { u.Ranks = []int{-1} }, "rank -1"},
		{"rank twice", func(u *MemberUpdate) { u.Ranks = []int{2, 2} }, "rank 2"},
		{"rank too high", func(u *MemberUpdate) { u.Ranks = []int{overlay.MaxRanks} }, "out of range"},
		{"bad peer", func(u *MemberUpdate) { u.Peer = "nobody" }, "not a peer ID"},
		{"expired", func(u *MemberUpdate) { u.Sent = now.Add(-RequestLife) }, "expired"},
		{"ahead", func(u *MemberUpdate) { u.Sent = now.Add(time.Hour) }, "ahead"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := good
			u.Ranks = append([]int(nil), good.Ranks...)
			tc.edit(&u)
			err := u.Validate(now, time.Minute)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestMemberUpdateOverStream: the requester of the run that joined a job
// network gives a rank to a replacement, and the provider's network
// takes it; a stranger's update, a replayed one and one for a network
// not here are refused with the same reason, and a restart update
// restarts the run's ranks.
func TestMemberUpdateOverStream(t *testing.T) {
	prov := newProvider(t, ServerConfig{})
	requester, stranger, lost, repl := newNode(t), newNode(t), newNode(t), newNode(t)
	connect(requester, prov.node)
	connect(stranger, prov.node)
	svc := overlay.New(prov.Host, nil)
	t.Cleanup(func() { svc.Close() })
	job := jobID(t)
	n, err := svc.Join(job, []peer.ID{prov.ID(), lost.ID(), prov.ID()})
	if err != nil {
		t.Fatal(err)
	}
	restarts := make(chan struct{}, 4)
	prov.srv.netRuns.add(job, &netRun{net: n, requester: requester.ID()})
	prov.srv.netRuns.setRestart(job, func() { restarts <- struct{}{} })
	ctx := context.Background()
	upd := func(seq uint64, network string, restart bool) *MemberUpdate {
		return &MemberUpdate{Network: network, Seq: seq, Sent: time.Now(), Ranks: []int{1}, Peer: repl.ID().String(), Restart: restart}
	}

	if err := SendMember(ctx, requester.Host, requester.key, prov.ID(), upd(5, job, false)); err != nil {
		t.Fatalf("requester's update: %v", err)
	}
	if got := n.Members()[1]; got != repl.ID() {
		t.Fatalf("rank 1 is %s, want the replacement %s", got, repl.ID())
	}
	for _, tc := range []struct {
		name string
		from node
		u    *MemberUpdate
		want string
	}{
		{"stranger", stranger, upd(9, job, false), ErrNoNetwork.Error()},
		{"replayed", requester, upd(5, job, false), "seq 5 not after 5"},
		{"other network", requester, upd(10, strings.Repeat("cd", 16), false), ErrNoNetwork.Error()},
	} {
		err := SendMember(ctx, tc.from.Host, tc.from.key, prov.ID(), tc.u)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a refusal with %q", tc.name, err, tc.want)
		}
	}
	if len(restarts) != 0 {
		t.Fatalf("%d restarts before any asked for one", len(restarts))
	}
	if err := SendMember(ctx, requester.Host, requester.key, prov.ID(), upd(11, job, true)); err != nil {
		t.Fatalf("restart update: %v", err)
	}
	if len(restarts) != 1 {
		t.Fatalf("got %d restarts, want 1", len(restarts))
	}
}

// FuzzDecodeMember: any bytes as a membership update. What decodes is
// signed, valid, and its signer is the key that signed it.
func FuzzDecodeMember(f *testing.F) {
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		f.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(key)
	u := &MemberUpdate{Network: strings.Repeat("ab", 16), Seq: 1, Sent: time.Now(), Ranks: []int{0, 3}, Peer: id.String(), Restart: true}
	good, err := gossip.Encode(u, key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{})
	f.Add([]byte(`{"network":"x"}`))
	now := time.Now()
	f.Fuzz(func(t *testing.T, b []byte) {
		m, signer, err := DecodeMember(b, now)
		if err != nil {
			if m != nil {
				t.Fatalf("an update with the error %v", err)
			}
			return
		}
		if verr := m.Validate(now, time.Minute); verr != nil || signer == "" {
			t.Fatalf("decoded %+v from %s, invalid: %v", m, signer, verr)
		}
		if errors.Is(err, gossip.ErrExpired) {
			t.Fatal("expired and decoded")
		}
	})
}

// TestJoinNetworkOnlyAwarded: a run may join another job's network only
// when its award names that network; a request alone cannot take a
// stranger's network ID.
func TestJoinNetworkOnlyAwarded(t *testing.T) {
	nd, requester := newNode(t), newNode(t)
	svc := overlay.New(nd.Host, nil)
	t.Cleanup(func() { svc.Close() })
	s := NewServer(nd.Host, nil, newFakeAuth(), ServerConfig{Overlay: svc}, nil)
	job, network := jobID(t), strings.Repeat("ef", 16)
	req := &RunRequest{Job: job, Network: network, WorldSize: 2, Ranks: []int{1}, Peers: []string{requester.ID().String(), nd.ID().String()}}
	s.grants[job] = Grant{}
	if _, err := s.joinNetwork(req, requester.ID()); !errors.Is(err, ErrNetworkNotAwarded) {
		t.Fatalf("join with no awarded network: got %v, want ErrNetworkNotAwarded", err)
	}
	s.grants[job] = Grant{Network: network}
	n, err := s.joinNetwork(req, requester.ID())
	if err != nil {
		t.Fatalf("join the awarded network: %v", err)
	}
	defer s.leaveNetwork(req, n)
	if n.Job() != network {
		t.Fatalf("joined %s, want the awarded network %s", n.Job(), network)
	}
}
