package anchor

import (
	"fmt"
	"time"
)

// Status is what the node's API shows about anchoring.
type Status struct {
	// Enabled is false when anchoring is off; Reason then says why.
	Enabled bool `json:"enabled"`
	// Reason says why anchoring is off, "" when on.
	Reason string `json:"reason,omitempty"`
	// ChainID is the chain anchored on, once known.
	ChainID uint64 `json:"chain_id,omitempty"`
	// Interval and Every are the epoch rules in force.
	Interval string `json:"interval,omitempty"`
	// Every is the entry count that closes an epoch early.
	Every int64 `json:"every,omitempty"`
	// Head is the log size at the last check.
	Head int64 `json:"head"`
	// Anchored is the tree size of the last anchored checkpoint (pending or
	// confirmed).
	Anchored int64 `json:"anchored"`
	// Last is the newest confirmed anchor, nil before the first.
	Last *Anchor `json:"last,omitempty"`
	// Pending are the anchors sent or to be sent, not yet confirmed. One
	// whose Error is set did not land and is being retried.
	Pending []Anchor `json:"pending,omitempty"`
	// Retrying says in words that an anchor did not land and when it is
	// tried again; "" when none is.
	Retrying string `json:"retrying,omitempty"`
	// Dropped counts anchors a reorg (or the pool) dropped and that were
	// re-sent.
	Dropped int `json:"dropped,omitempty"`
	// Error is the last round's error, "" when it went well.
	Error string `json:"error,omitempty"`
	// ErrorAt is when Error happened.
	ErrorAt time.Time `json:"error_at,omitzero"`
	// FileError says the anchors file was unusable at start (and was moved
	// aside).
	FileError string `json:"file_error,omitempty"`
}

// Status returns the anchorer's state now.
func (a *Anchorer) Status() Status {
	if a.chain == nil {
		return Status{Reason: a.off}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s := Status{
		Enabled: true, ChainID: a.chainID, Interval: time.Duration(a.cfg.Interval).String(), Every: a.cfg.Every,
		Head: a.head, Error: a.lastErr, ErrorAt: a.lastErrAt, FileError: a.loadErr,
	}
	if la := a.lastAnchored(); la != nil {
		cp, _ := la.Checkpoint()
		s.Anchored = cp.Size
	}
	for _, x := range a.anchors {
		switch x.State {
		case StateConfirmed:
			if s.Last == nil || size(x) >= size(s.Last) {
				c := *x
				s.Last = &c
			}
		case StatePending:
			s.Pending = append(s.Pending, *x)
			if x.Error != "" {
				cp, _ := x.Checkpoint()
				s.Retrying = fmt.Sprintf("anchor of size %d did not land after %d attempts (%s); retrying at %s",
					cp.Size, x.Attempts, x.Error, x.Sent.Add(backoff(x.Attempts)).Format(time.RFC3339))
			}
		case StateDropped:
			s.Dropped++
		}
	}
	return s
}

// size is the anchored tree size of x, 0 if its checkpoint is unreadable.
func size(x *Anchor) int64 {
	if cp, err := x.Checkpoint(); err == nil {
		return cp.Size
	}
	return 0
}
