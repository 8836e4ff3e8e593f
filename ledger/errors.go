package ledger

import (
	"errors"
	"fmt"
)

// Errors callers can test for with errors.Is; each is wrapped with the
// detail of what failed.
var (
	// ErrInvalid marks a receipt field out of bounds or badly formed.
	ErrInvalid = errors.New("invalid receipt")
	// ErrArithmetic marks a receipt whose GPU time or amount does not add up.
	ErrArithmetic = errors.New("receipt arithmetic wrong")
	// ErrFee marks a receipt whose protocol fee is not FeeBP of its amount.
	ErrFee = errors.New("receipt fee wrong")
	// ErrMalformed marks signed receipt bytes that do not decode.
	ErrMalformed = errors.New("malformed signed receipt")
	// ErrTooLarge marks signed receipt bytes over MaxSignedSize.
	ErrTooLarge = errors.New("signed receipt too large")
	// ErrAppendTooLarge marks an Append whose receipts, together, do not
	// fit in one Badger transaction (about 1 MiB); nothing was written.
	ErrAppendTooLarge = errors.New("append too large for one transaction")
	// ErrUnsigned marks a receipt without the provider's signature.
	ErrUnsigned = errors.New("receipt not signed")
	// ErrOneSignature marks a receipt signed by the provider but not countersigned by the requester.
	ErrOneSignature = errors.New("receipt has one signature only")
	// ErrBadSignature marks a signature that does not verify.
	ErrBadSignature = errors.New("bad receipt signature")
	// ErrWrongSigner marks a signature by someone other than the party it stands for.
	ErrWrongSigner = errors.New("receipt signed by the wrong peer")
	// ErrCountersignMismatch marks a countersignature over another receipt or other provider bytes.
	ErrCountersignMismatch = errors.New("countersignature is for another receipt")
	// ErrNotParty marks a receipt in which this node is neither provider nor requester.
	ErrNotParty = errors.New("node is not a party to the receipt")
	// ErrReplay marks a receipt already logged, or not newer than the latest for its work.
	ErrReplay = errors.New("receipt replayed")
	// ErrNotFound marks a log entry or receipt that is not in the log.
	ErrNotFound = errors.New("not found in ledger")
	// ErrClosed marks use of a closed log.
	ErrClosed = errors.New("ledger closed")
	// ErrCorrupt marks a log whose contents fail their checks; see CorruptError.
	ErrCorrupt = errors.New("ledger corrupt")
	// ErrHeadMissing marks a log that holds entries but whose LEDGER_HEAD
	// file is gone: a lost tail could no longer be detected, so Open
	// refuses it (unless Options.RebuildHead). It comes inside a
	// CorruptError.
	ErrHeadMissing = errors.New("ledger head file missing")
)

// CorruptError says where a log first fails its checks. It wraps ErrCorrupt.
type CorruptError struct {
	// Index is the first bad entry, or -1 when the damage is not in one entry.
	Index int64
	// Reason says what check failed.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

// Error implements error.
func (e *CorruptError) Error() string {
	s := "ledger corrupt"
	if e.Index >= 0 {
		s += fmt.Sprintf(" at entry %d", e.Index)
	}
	s += ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrCorrupt and the underlying error.
func (e *CorruptError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrCorrupt, e.Err}
	}
	return []error{ErrCorrupt}
}

func corrupt(index int64, err error, format string, a ...any) *CorruptError {
	return &CorruptError{Index: index, Reason: fmt.Sprintf(format, a...), Err: err}
}

// DamageError comes with the entries a query could read when some of those
// it selected could not be: each damaged entry's CorruptError, by index.
// It wraps ErrCorrupt and each of them.
type DamageError struct {
	// Entries are the damaged entries' errors, oldest first.
	Entries []*CorruptError
}

// Error implements error.
func (e *DamageError) Error() string {
	if len(e.Entries) == 1 {
		return e.Entries[0].Error()
	}
	return fmt.Sprintf("%d damaged entries, the first: %v", len(e.Entries), e.Entries[0])
}

// Unwrap returns ErrCorrupt and each entry's error.
func (e *DamageError) Unwrap() []error {
	out := []error{ErrCorrupt}
	for _, c := range e.Entries {
		out = append(out, c)
	}
	return out
}

// damage collects the CorruptErrors of damaged entries while a query
// reads on: add keeps one and reports whether err was one.
type damage struct{ entries []*CorruptError }

func (d *damage) add(err error) bool {
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Index < 0 {
		return false
	}
	d.entries = append(d.entries, ce)
	return true
}

// err is nil, or the DamageError naming every damaged entry.
func (d *damage) err() error {
	if len(d.entries) == 0 {
		return nil
	}
	return &DamageError{Entries: d.entries}
}
