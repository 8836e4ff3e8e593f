package evm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum"

	"github.com/gpumesh/gpumesh/ledger/anchor"
)

// caller runs JSON-RPC calls with a deadline each and turns their errors into
// ones fit to show: a deadline becomes anchor.ErrTimeout with the time it
// waited, "not found" becomes anchor.ErrNotFound, and the endpoint's URL
// (which may carry an API key) is cut down to its scheme and host.
type caller struct {
	timeout time.Duration
	url     string // the full URL, scrubbed out of error texts
}

// call runs f with the deadline; op names the call in errors.
func (c caller) call(ctx context.Context, op string, f func(ctx context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	err := f(cctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ethereum.NotFound):
		return fmt.Errorf("%s: %w", op, anchor.ErrNotFound)
	case ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%s: %w after %s", op, anchor.ErrTimeout, c.timeout)
	}
	return fmt.Errorf("%s: %w", op, c.scrub(err))
}

// scrubbed is an error whose text had the URL taken out; it still unwraps to
// the original for errors.Is.
type scrubbed struct {
	msg string
	err error
}

func (s scrubbed) Error() string { return s.msg }
func (s scrubbed) Unwrap() error { return s.err }

func (c caller) scrub(err error) error {
	msg := err.Error()
	if c.url != "" && strings.Contains(msg, c.url) {
		msg = strings.ReplaceAll(msg, c.url, anchor.RedactURL(c.url))
		return scrubbed{msg: msg, err: err}
	}
	return err
}
