package gossip

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// AnchorDomain is the signature domain of anchor announcements.
const AnchorDomain = "gpumesh-anchor-announcement"

var anchorCodec = []byte("/gpumesh/anchor-announcement/1")

// Bounds of an anchor announcement.
const (
	// MaxAnchorBytes bounds the anchor record an announcement carries.
	MaxAnchorBytes = 8 << 10
	// maxAnchorLifetime bounds how long an announcement stays valid.
	maxAnchorLifetime = time.Hour
)

// AnchorAnnouncement tells the network that its sender anchored a
// checkpoint of its ledger on a chain, on TopicAnchors. Anchor is the
// anchor record as ledger/anchor marshals it (the checkpoint it carries is
// signed by the ledger's own key, which must be the announcement's
// signer; receivers check that, this package only bounds the bytes).
type AnchorAnnouncement struct {
	// Seq increases with every announcement a node sends.
	Seq uint64 `json:"seq"`
	// Sent and Expires bound the announcement's validity.
	Sent    time.Time `json:"sent"`
	Expires time.Time `json:"expires"`
	// Anchor is the marshalled anchor record.
	Anchor []byte `json:"anchor"`
}

// AnchorType is the Type of anchor announcements, allowed on TopicAnchors.
var AnchorType = Type{Name: "anchor", New: func() Message { return new(AnchorAnnouncement) }}

// Domain implements record.Record.
func (*AnchorAnnouncement) Domain() string { return AnchorDomain }

// Codec implements record.Record.
func (*AnchorAnnouncement) Codec() []byte { return anchorCodec }

// MarshalRecord implements record.Record.
func (a *AnchorAnnouncement) MarshalRecord() ([]byte, error) { return json.Marshal(a) }

// UnmarshalRecord implements record.Record.
func (a *AnchorAnnouncement) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, a) }

// Validate implements Message.
func (a *AnchorAnnouncement) Validate(now time.Time, maxSkew time.Duration) error {
	var errs []error
	if a.Seq == 0 {
		errs = append(errs, errors.New("seq must be positive"))
	}
	if len(a.Anchor) == 0 || len(a.Anchor) > MaxAnchorBytes {
		errs = append(errs, fmt.Errorf("anchor of %d bytes not in (0, %d]", len(a.Anchor), MaxAnchorBytes))
	}
	if !a.Expires.After(a.Sent) || a.Expires.Sub(a.Sent) > maxAnchorLifetime {
		errs = append(errs, fmt.Errorf("lifetime %s not in (0, %s]", a.Expires.Sub(a.Sent), maxAnchorLifetime))
	}
	return timely(errors.Join(errs...), a.Sent, a.Expires, now, maxSkew)
}

// Sequence implements Sequenced: a replayed announcement is ignored.
func (a *AnchorAnnouncement) Sequence() uint64 { return a.Seq }
