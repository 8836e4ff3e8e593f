package gossip

import (
	"net"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// invalidWeight is what the square of a peer's invalid messages costs it
// (P4, and the rate-limit overflow of the app score); both decay to 1% in
// invalidDecay.
const (
	invalidWeight = -100
	invalidDecay  = time.Hour
)

// scoreParams returns gpumesh's GossipSub peer-scoring parameters.
//
// Peer scoring is on by default because gpumesh's topics are open to anyone:
// without it a peer that floods garbage or invalid job requests keeps its mesh
// slots forever. The one strong signal we use is P4, invalid message
// deliveries: each message our validators reject costs its sender 100 points
// (squared), so a handful of bad messages drops a peer below the gossip,
// publish and graylist thresholds in turn. P2 (first deliveries) rewards peers
// that bring us new messages; P3 (mesh delivery rates) is off because traffic
// on our topics is bursty and a quiet mesh peer is not a bad one. Many peers
// behind one IP are normal in data centers, so the IP colocation penalty
// starts only above 10 peers per IP, and loopback is exempt for local fleets.
//
// A message over its signer's rate limit is not invalid everywhere: another
// node may have had a token for it, and forwards it. Rejecting it would
// cost that honest forwarder P4 points (GossipSub also penalises a peer
// that delivers a duplicate of a message rejected earlier), so the router
// ignores it and counts the signer's own overflow in app, the
// application-specific score, at P4's weight and decay.
func scoreParams(topics []string, app func(peer.ID) float64) (*pubsub.PeerScoreParams, *pubsub.PeerScoreThresholds) {
	tp := make(map[string]*pubsub.TopicScoreParams, len(topics))
	for _, t := range topics {
		tp[t] = &pubsub.TopicScoreParams{
			TopicWeight:                    1,
			TimeInMeshWeight:               0.01,
			TimeInMeshQuantum:              time.Second,
			TimeInMeshCap:                  300,
			FirstMessageDeliveriesWeight:   1,
			FirstMessageDeliveriesDecay:    pubsub.ScoreParameterDecay(10 * time.Minute),
			FirstMessageDeliveriesCap:      50,
			InvalidMessageDeliveriesWeight: invalidWeight,
			InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(invalidDecay),
		}
	}
	_, loop4, _ := net.ParseCIDR("127.0.0.0/8")
	_, loop6, _ := net.ParseCIDR("::1/128")
	params := &pubsub.PeerScoreParams{
		Topics:                      tp,
		TopicScoreCap:               100,
		AppSpecificScore:            app,
		AppSpecificWeight:           1,
		IPColocationFactorWeight:    -10,
		IPColocationFactorThreshold: 10,
		IPColocationFactorWhitelist: []*net.IPNet{loop4, loop6},
		BehaviourPenaltyWeight:      -10,
		BehaviourPenaltyThreshold:   6,
		BehaviourPenaltyDecay:       pubsub.ScoreParameterDecay(10 * time.Minute),
		DecayInterval:               time.Second,
		DecayToZero:                 0.01,
		RetainScore:                 time.Hour,
	}
	thresholds := &pubsub.PeerScoreThresholds{
		GossipThreshold:             -500,
		PublishThreshold:            -1000,
		GraylistThreshold:           -2500,
		AcceptPXThreshold:           10,
		OpportunisticGraftThreshold: 5,
	}
	return params, thresholds
}
