package gossip

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// The measured round's wire messages (docs/protocol/rtt-round-1.md): before
// it places a cluster, a requester sends each of a few candidate providers
// an RTTProbe on /gpumesh/rtt-round/1 naming the other candidates; each
// pings the others and answers with its signed RTTRow. Coordinates prune
// the candidates; the rows decide.

// Domains of the measured round's messages.
const (
	RTTProbeDomain = "gpumesh-rtt-probe"
	RTTRowDomain   = "gpumesh-rtt-row"
)

// Limits of the measured round's messages.
const (
	// MaxRTTCandidates is the most candidates one round may name.
	MaxRTTCandidates = 32
	// MaxBidRTTs is the most recent RTTs one bid may carry.
	MaxBidRTTs = 32
	// MaxRTTRoundLife bounds the time a probe gives its candidates.
	MaxRTTRoundLife = 30 * time.Second
	// maxCandidateAddrs bounds the addresses given for one candidate.
	maxCandidateAddrs = 8
	// maxRTT is the largest RTT a row may report.
	maxRTT = time.Minute
)

// nonceRE is a round nonce: 32 lowercase hex digits (16 random bytes).
var nonceRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// RTTCandidate is one candidate of a measured round: a provider that bid
// on the job, with where to reach it.
type RTTCandidate struct {
	// Peer is the candidate's peer ID.
	Peer string `json:"peer"`
	// Addrs are its addresses, from its bid.
	Addrs []string `json:"addrs,omitempty"`
}

// RTTProbe asks a candidate to ping the round's other candidates.
type RTTProbe struct {
	// Job is the request's ID.
	Job string `json:"job"`
	// Nonce names the round; the row answering it repeats it.
	Nonce string `json:"nonce"`
	// Seq increases with every message the requester signs.
	Seq uint64 `json:"seq"`
	// Sent is when it was made; Deadline is when the requester stops
	// waiting for the row.
	Sent     time.Time `json:"sent"`
	Deadline time.Time `json:"deadline"`
	// Candidates are every candidate of the round, the probed one included.
	Candidates []RTTCandidate `json:"candidates"`
}

// RTTRow is a candidate's answer to an RTTProbe: what it measured to the
// round's other candidates.
type RTTRow struct {
	// Job and Nonce repeat the probe's.
	Job   string `json:"job"`
	Nonce string `json:"nonce"`
	// Sent is when the row was signed.
	Sent time.Time `json:"sent"`
	// RTTs are its round trips to the other candidates, one per peer at
	// most; a failed ping has Err set.
	RTTs []PeerRTT `json:"rtts,omitempty"`
}

// Types of the measured round's messages.
var (
	RTTProbeType = Type{Name: "rtt-probe", New: func() Message { return new(RTTProbe) }}
	RTTRowType   = Type{Name: "rtt-row", New: func() Message { return new(RTTRow) }}
)

// Domain implements record.Record.
func (*RTTProbe) Domain() string { return RTTProbeDomain }

// Codec implements record.Record.
func (*RTTProbe) Codec() []byte { return []byte("/gpumesh/rtt-probe/1") }

// MarshalRecord implements record.Record.
func (m *RTTProbe) MarshalRecord() ([]byte, error) { return json.Marshal(m) }

// UnmarshalRecord implements record.Record.
func (m *RTTProbe) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, m) }

// Domain implements record.Record.
func (*RTTRow) Domain() string { return RTTRowDomain }

// Codec implements record.Record.
func (*RTTRow) Codec() []byte { return []byte("/gpumesh/rtt-row/1") }

// MarshalRecord implements record.Record.
func (m *RTTRow) MarshalRecord() ([]byte, error) { return json.Marshal(m) }

// UnmarshalRecord implements record.Record.
func (m *RTTRow) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, m) }

// Validate implements Message.
func (m *RTTProbe) Validate(now time.Time, maxSkew time.Duration) error {
	var errs []error
	errs = append(errs, validJobID(m.Job))
	if !nonceRE.MatchString(m.Nonce) {
		errs = append(errs, fmt.Errorf("nonce %.40q is not 32 hex digits", m.Nonce))
	}
	if m.Seq == 0 {
		errs = append(errs, errors.New("seq must be positive"))
	}
	if life := m.Deadline.Sub(m.Sent); life <= 0 || life > MaxRTTRoundLife {
		errs = append(errs, fmt.Errorf("round of %s, not in (0, %s]", life, MaxRTTRoundLife))
	}
	if n := len(m.Candidates); n < 2 || n > MaxRTTCandidates {
		errs = append(errs, fmt.Errorf("%d candidates, not in [2, %d]", n, MaxRTTCandidates))
	}
	seen := map[string]bool{}
	for _, c := range m.Candidates {
		if err := validCandidate(c); err != nil {
			errs = append(errs, err)
			break
		}
		if seen[c.Peer] {
			errs = append(errs, fmt.Errorf("candidate %.16q named twice", c.Peer))
			break
		}
		seen[c.Peer] = true
	}
	return timely(errors.Join(errs...), m.Sent, m.Deadline, now, maxSkew)
}

// validCandidate checks one candidate's peer ID and addresses.
func validCandidate(c RTTCandidate) error {
	if _, err := peer.Decode(c.Peer); err != nil {
		return fmt.Errorf("candidate %.16q is not a peer ID", c.Peer)
	}
	if len(c.Addrs) > maxCandidateAddrs {
		return fmt.Errorf("candidate %.16q has %d addresses, at most %d", c.Peer, len(c.Addrs), maxCandidateAddrs)
	}
	for _, a := range c.Addrs {
		if len(a) > 256 {
			return fmt.Errorf("candidate %.16q has an address of %d bytes, at most 256", c.Peer, len(a))
		}
	}
	return nil
}

// Validate implements Message.
func (m *RTTRow) Validate(now time.Time, maxSkew time.Duration) error {
	var errs []error
	errs = append(errs, validJobID(m.Job))
	if !nonceRE.MatchString(m.Nonce) {
		errs = append(errs, fmt.Errorf("nonce %.40q is not 32 hex digits", m.Nonce))
	}
	errs = append(errs, validRTTs(m.RTTs, MaxRTTCandidates))
	return timely(errors.Join(errs...), m.Sent, m.Sent.Add(MaxRTTRoundLife), now, maxSkew)
}

// validRTTs checks a list of RTTs to peers: at most most entries, each
// to a peer ID named once, within bounds.
func validRTTs(rtts []PeerRTT, most int) error {
	if len(rtts) > most {
		return fmt.Errorf("%d RTTs, at most %d", len(rtts), most)
	}
	seen := make(map[string]bool, len(rtts))
	for _, r := range rtts {
		if err := validRowEntry(r); err != nil {
			return err
		}
		if seen[r.Peer] {
			return fmt.Errorf("RTT to %.16q given twice", r.Peer)
		}
		seen[r.Peer] = true
	}
	return nil
}

// validRowEntry checks one entry of a row.
func validRowEntry(r PeerRTT) error {
	if _, err := peer.Decode(r.Peer); err != nil {
		return fmt.Errorf("RTT to %.16q: not a peer ID", r.Peer)
	}
	if len(r.Err) > 256 {
		return fmt.Errorf("RTT to %.16q: error of %d bytes, at most 256", r.Peer, len(r.Err))
	}
	if r.RTT < 0 || r.RTT > maxRTT {
		return fmt.Errorf("RTT to %.16q: %s not in [0, %s]", r.Peer, r.RTT, maxRTT)
	}
	return nil
}
