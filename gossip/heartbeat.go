package gossip

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gpumesh/gpumesh/p2p/coord"
)

// HeartbeatDomain is the signature domain of heartbeats: a signature made for
// any other record type never verifies as a heartbeat.
const HeartbeatDomain = "gpumesh-heartbeat"

// heartbeatCodec is the envelope payload type of heartbeats, versioned.
var heartbeatCodec = []byte("/gpumesh/heartbeat/1")

// maxHeartbeatLifetime bounds how long a heartbeat may claim to stay valid.
const maxHeartbeatLifetime = 10 * time.Minute

// Heartbeat is a node's periodic "I am here" on the capacity topic. Later
// versions carry free capacity; version 1 carries liveness and the agent.
type Heartbeat struct {
	// Seq increases with every heartbeat a node sends; receivers drop one
	// that is not newer than the last seen from the same peer.
	Seq uint64 `json:"seq"`
	// Sent is when the heartbeat was made.
	Sent time.Time `json:"sent"`
	// Expires is when receivers must stop counting the sender as alive.
	Expires time.Time `json:"expires"`
	// Agent is the sender's software and version.
	Agent string `json:"agent"`
	// Coord is the sender's network coordinate, once it has one: peers
	// need it to turn their pings to the sender into coordinate updates.
	Coord *coord.Coordinate `json:"coord,omitempty"`
}

// HeartbeatType is the Type of heartbeats, allowed on TopicCapacity.
var HeartbeatType = Type{Name: "heartbeat", New: func() Message { return new(Heartbeat) }}

// Domain implements record.Record.
func (*Heartbeat) Domain() string { return HeartbeatDomain }

// Codec implements record.Record.
func (*Heartbeat) Codec() []byte { return heartbeatCodec }

// MarshalRecord implements record.Record.
func (h *Heartbeat) MarshalRecord() ([]byte, error) { return json.Marshal(h) }

// UnmarshalRecord implements record.Record.
func (h *Heartbeat) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, h) }

// Validate implements Message.
func (h *Heartbeat) Validate(now time.Time, maxSkew time.Duration) error {
	var errs []error
	if h.Seq == 0 {
		errs = append(errs, errors.New("seq must be positive"))
	}
	if len(h.Agent) > 128 {
		errs = append(errs, fmt.Errorf("agent is %d bytes, at most 128", len(h.Agent)))
	}
	if h.Coord != nil {
		if err := h.Coord.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if !h.Expires.After(h.Sent) || h.Expires.Sub(h.Sent) > maxHeartbeatLifetime {
		errs = append(errs, fmt.Errorf("lifetime %s not in (0, %s]", h.Expires.Sub(h.Sent), maxHeartbeatLifetime))
	}
	return timely(errors.Join(errs...), h.Sent, h.Expires, now, maxSkew)
}

// Sequence implements Sequenced: a replayed heartbeat is ignored.
func (h *Heartbeat) Sequence() uint64 { return h.Seq }
