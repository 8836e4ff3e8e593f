package run

import (
	"context"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/gpumesh/gpumesh/scheduler/run/runtest"
)

// faults are the ways a provider's server misbehaves in this package's
// tests, built on ServerKnobs; the zero value behaves.
type faults struct {
	// NeverAnswer holds an authorized request open without an answer until
	// the requester gives up.
	NeverAnswer bool
	// NeverRun answers an authorized request and takes its files, then
	// starts nothing and sends nothing, not even a heartbeat.
	NeverRun bool
	// AlterOutputs runs the work and inverts every byte of every output
	// (an empty output gets one byte) before listing them: the result is
	// otherwise honest, and the digests match the bytes sent.
	AlterOutputs bool
}

// knobs are the server knobs that misbehave as f says.
func (f faults) knobs() ServerKnobs {
	var k ServerKnobs
	if f.NeverAnswer {
		k.BeforeAnswer = holdUnanswered
	}
	if f.NeverRun {
		k.BeforeRun = runNothing
	}
	if f.AlterOutputs {
		k.BeforeList = func(_ *RunRequest, _ int, dir string) { runtest.InvertFiles(dir) }
	}
	return k
}

// holdUnanswered keeps a request unanswered until the requester resets
// the stream, its deadline passes or the server closes (ctx).
func holdUnanswered(ctx context.Context, st network.Stream, r io.Reader, _ *RunRequest) string {
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	_, _ = io.Copy(io.Discard, r)
	return "fault: never answered"
}

// runNothing stays silent until the server closes or the stream would
// have timed out: the requester gives up long before.
func runNothing(ctx context.Context, _ *RunRequest) string {
	t := time.NewTimer(streamTimeout)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return "fault: never ran"
}
