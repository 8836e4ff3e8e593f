package helper

import (
	"context"
	"fmt"
	"io"

	"github.com/gpumesh/gpumesh/gpu/proof"
)

// Serve is the helper's side of the protocol with the CPU prover: say it
// is ready, read a challenge from r, prove it, write the commitment to w, read the open
// request, write the openings. `gpumesh prover` runs it on stdin and
// stdout; the Python helper does the same on a GPU.
func Serve(ctx context.Context, r io.Reader, w io.Writer, p proof.CPUProver2) error {
	if err := WriteFrame(w, proof.Ready2()); err != nil {
		return fmt.Errorf("write ready: %w", err)
	}
	data, err := ReadFrame(r, proof.Challenge2Size)
	if err != nil {
		return fmt.Errorf("read challenge: %w", err)
	}
	ch, err := proof.UnmarshalChallenge2(data, p.Limits)
	if err != nil {
		return fmt.Errorf("challenge: %w", err)
	}
	work, err := p.Prove(ctx, ch)
	if err != nil {
		return err
	}
	if data, err = work.Commitment().Marshal(); err != nil {
		return err
	}
	if err := WriteFrame(w, data); err != nil {
		return fmt.Errorf("write commitment: %w", err)
	}
	if data, err = ReadFrame(r, proof.MaxOpenRequest2Size); err != nil {
		return fmt.Errorf("read open request: %w", err)
	}
	req, err := proof.UnmarshalOpenRequest2(data, ch)
	if err != nil {
		return fmt.Errorf("open request: %w", err)
	}
	op, err := work.Open(req)
	if err != nil {
		return err
	}
	if data, err = op.Marshal(); err != nil {
		return err
	}
	if err := WriteFrame(w, data); err != nil {
		return fmt.Errorf("write openings: %w", err)
	}
	return nil
}
