package nodetest

import (
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// meshTracer keeps an attacker's GossipSub mesh: the (topic, peer) pairs
// grafted and not since pruned. A GRAFT that the other end refuses comes
// back as a PRUNE, so what remains are the honest nodes that took the
// attacker into their mesh.
type meshTracer struct {
	mu   sync.Mutex
	mesh map[[2]string]bool
}

// MeshSize returns how many (topic, peer) pairs the attacker's GossipSub
// mesh holds now: the mesh slots it takes on the nodes it is grafted to.
func (a *Attacker) MeshSize() int {
	a.trace.mu.Lock()
	defer a.trace.mu.Unlock()
	return len(a.trace.mesh)
}

// Graft records p joining the mesh of topic.
func (m *meshTracer) Graft(p peer.ID, topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mesh == nil {
		m.mesh = map[[2]string]bool{}
	}
	m.mesh[[2]string{topic, string(p)}] = true
}

// Prune records p leaving the mesh of topic.
func (m *meshTracer) Prune(p peer.ID, topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.mesh, [2]string{topic, string(p)})
}

// The rest of pubsub.RawTracer: nothing to keep.

func (*meshTracer) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (*meshTracer) OnClosedOutboundStream(peer.ID)                       {}
func (*meshTracer) Join(string)                                          {}
func (*meshTracer) Leave(string)                                         {}
func (*meshTracer) ValidateMessage(*pubsub.Message)                      {}
func (*meshTracer) DeliverMessage(*pubsub.Message)                       {}
func (*meshTracer) RejectMessage(*pubsub.Message, string)                {}
func (*meshTracer) DuplicateMessage(*pubsub.Message)                     {}
func (*meshTracer) ThrottlePeer(peer.ID)                                 {}
func (*meshTracer) RecvRPC(*pubsub.RPC)                                  {}
func (*meshTracer) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (*meshTracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (*meshTracer) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (*meshTracer) UndeliverableMessage(*pubsub.Message)                 {}
